"""A wide-area link in front of the replica: the latency knob of the benchmark.

`DelayProxy(upstream_port, rtt_s)` listens on 127.0.0.1 and forwards to the
upstream port. A new connection costs one round trip before its first byte goes
through (the TCP handshake to a far load balancer), and every chunk crosses in
half a round trip each way, so a request on an open connection costs one round
trip and a TLS handshake its real extra flights. Chunks in flight overlap: it
emulates latency, not bandwidth. Loopback only; it stops with `close()`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable


class DelayProxy:
    def __init__(self, upstream_port: int, rtt_s: float):
        self.upstream_port, self.rtt_s = upstream_port, rtt_s
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"wan-{upstream_port}")

    def __enter__(self) -> "DelayProxy":
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the delaying proxy did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        opened = time.monotonic() + self.rtt_s  # the handshake's round trip
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client_w.close()
            return
        half = self.rtt_s / 2
        try:
            await asyncio.gather(self._pump(client_r, up_w, half, opened),
                                 self._pump(up_r, client_w, half, opened), return_exceptions=True)
        except asyncio.CancelledError:  # the proxy is closing: end quietly
            client_w.close()
            up_w.close()

    @staticmethod
    async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float, not_before: float) -> None:
        """Deliver each chunk `delay` after it was read (and not before the handshake is over)."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if dst.can_write_eof():
                        dst.write_eof()
                    return
                dst.write(data)
                await dst.drain()

        sender = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await src.read(65536)
                await queue.put((max(time.monotonic() + delay, not_before + delay), data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            sender.cancel()
        finally:
            dst.close()


def behind_proxies(outputs: dict[str, Any], rtt_s: float, start: Callable[[int, float], DelayProxy]
                   ) -> dict[str, Any]:
    """The outputs with every entry point's address moved to a delaying proxy of its own."""
    from urllib.parse import urlsplit, urlunsplit

    def moved(url: str) -> str:
        parts = urlsplit(url)
        proxy = start(parts.port, rtt_s)
        return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{proxy.port}"))

    for entry in outputs["entrypoints"].values():
        if "url" in entry:
            entry["url"] = moved(entry["url"])
        if "httpUrl" in entry:
            entry["httpUrl"] = moved(entry["httpUrl"])
        if "nodePort" in entry:
            entry["nodePort"] = start(entry["nodePort"], rtt_s).port
    return outputs
