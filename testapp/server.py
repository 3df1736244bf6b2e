"""The lab's test app: every reply says which pod answered and what it saw.

Standard library only, so it runs from a ConfigMap in an official Python image
with no registry of ours. Environment, as in the posts' app:
  HOST, PORT         where to listen (default 0.0.0.0:8080)
  APP_NAME           the pod's name (metadata.name); every reply carries it
  APP                the app label (app1 / app2)
  NODE_NAME          spec.nodeName, so node-local balancing is visible
  POD_NAMESPACE      metadata.namespace
  RESPONSE_STATUS    status for every reply but /healthz (default 200); lets a
                     fault drill make one app answer 500 without another image
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HEALTH_PATH = "/healthz"


def identity(env: dict[str, str]) -> dict[str, str]:
    """The fields that name the pod, read once at start."""
    return {
        "app": env.get("APP", ""),
        "pod": env.get("APP_NAME") or socket.gethostname(),
        "node": env.get("NODE_NAME", ""),
        "namespace": env.get("POD_NAMESPACE", ""),
    }


def response_status(env: dict[str, str]) -> int:
    raw = env.get("RESPONSE_STATUS", "200")
    try:
        status = int(raw)
    except ValueError:
        raise SystemExit(f"RESPONSE_STATUS={raw!r}: expected an HTTP status code (100-599)")
    if not 100 <= status <= 599:
        raise SystemExit(f"RESPONSE_STATUS={raw!r}: expected an HTTP status code (100-599)")
    return status


def make_handler(ident: dict[str, str], status: int) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "lab-testapp"
        # Headers and body go out in two writes; with Nagle on, a keep-alive peer
        # (ingress-nginx upstreams) waits ~40 ms for the second one.
        disable_nagle_algorithm = True

        def _reply(self) -> None:
            target = urlsplit(self.path)
            if target.path == HEALTH_PATH:
                code, body = 200, {"status": "ok", **ident}
            else:
                code = status
                body = {
                    **ident,
                    "method": self.command,
                    "path": target.path,
                    "query": target.query,
                    "host": self.headers.get("Host", ""),
                    "client": self.client_address[0],
                    "headers": {
                        k: v for k, v in self.headers.items() if k.lower().startswith("x-forwarded-")
                    },
                }
            self._drain_body()
            payload = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _drain_body(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _reply

        def log_message(self, fmt: str, *args) -> None:  # one line per request, to stdout
            sys.stdout.write(f"{ident['pod']} {self.address_string()} {fmt % args}\n")

    return Handler


def serve(env: dict[str, str]) -> None:
    host, port = env.get("HOST", "0.0.0.0"), int(env.get("PORT", "8080"))
    server = ThreadingHTTPServer((host, port), make_handler(identity(env), response_status(env)))
    server.daemon_threads = True

    def stop(signum, _frame):
        # shutdown() blocks until serve_forever returns, so call it off the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stdout.write(f"listening on {host}:{server.server_address[1]}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)  # SIGTERM ends it within 0.1 s
    finally:
        server.server_close()


if __name__ == "__main__":
    serve(dict(os.environ))
