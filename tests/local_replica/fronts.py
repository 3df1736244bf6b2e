"""A stand-in for a load balancer that is still warming up.

Refuses connections for `refuse_for` seconds (nothing listening), then answers
503 to its first `unavailable_requests` requests (targets registering), then proxies
every request to `upstream_port`. The suite must wait this out and pass. The 503s are
counted, not timed: however late the suite starts on a busy machine, its first requests
meet them (`unavailable_served` says how many it met); the refusals it meets only if it
starts within `refuse_for`.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.local_replica.procs import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class LateFront:
    def __init__(self, upstream_port: int, refuse_for: float = 1.5, unavailable_requests: int = 6):
        self.port = free_port()
        self.upstream_port, self.refuse_for = upstream_port, refuse_for
        self.unavailable_requests, self.unavailable_served = unavailable_requests, 0
        self._count = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "LateFront":
        self._thread.start()
        return self

    def _run(self) -> None:
        if self._stop.wait(self.refuse_for):
            return
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.server.daemon_threads = True
        self.server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        self._thread.join(5)

    def still_unavailable(self) -> bool:
        """True for each of the first `unavailable_requests` requests."""
        with self._count:
            if self.unavailable_served < self.unavailable_requests:
                self.unavailable_served += 1
                return True
            return False

    def __enter__(self) -> "LateFront":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler(front: LateFront) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if front.still_unavailable():
                self._send(503, {"Content-Type": "text/plain"}, b"503 Service Temporarily Unavailable\n")
                return
            conn = http.client.HTTPConnection("127.0.0.1", front.upstream_port, timeout=5)
            try:
                conn.request("GET", self.path, headers=dict(self.headers.items()))
                resp = conn.getresponse()
                body = resp.read()
                headers = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP}
                self._send(resp.status, headers, body)
            finally:
                conn.close()

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler
