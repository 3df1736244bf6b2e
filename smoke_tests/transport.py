"""Transport for the probes: one GET to an entry point, and why it failed, classified.

Only the standard library's http.client is used, so no proxy settings from the
environment can redirect a probe, and L4/L7 connection reuse is explicit: a new
connection per request (L4) or one kept alive (L7). TLS is verified against the
lab CA, with SNI and the hostname check for the route's host while connecting to
the load balancer's address.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ProbeError:
    kind: str  # dns | refused | timeout | tls-unknown-ca | tls-hostname | tls | reset | not-app | other
    detail: str

    def __str__(self) -> str:
        return self.detail


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    latency_ms: float
    body: dict[str, Any] | None = None

    @property
    def from_app(self) -> bool:
        """The test app answered (its JSON names a pod), whatever the status."""
        return isinstance(self.body, dict) and "pod" in self.body and "app" in self.body

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    def describe(self) -> str:
        if self.from_app:
            return f"pod {self.field('pod')}"
        return f"a server that is not the app ({self.text[:60].strip()!r})"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    ca_pem: str | None = None

    @classmethod
    def from_url(cls, url: str, ca_pem: str | None = None) -> "Target":
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname or "", port, ca_pem)

    @property
    def netloc(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


class _SNIHTTPSConnection(http.client.HTTPSConnection):
    """Connect to the load balancer's address but send SNI and verify for the route's host."""

    def __init__(self, host: str, port: int, sni: str, context: ssl.SSLContext, timeout: float):
        super().__init__(host, port, timeout=timeout, context=context)
        self._sni = sni

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._sni)


def tls_context(ca_pem: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()


def classify(exc: BaseException, target: Target, sni: str | None = None) -> ProbeError:
    """Name why a request failed, in the words an operator would search for."""
    where = f"{target.host}:{target.port}"
    if isinstance(exc, socket.gaierror):
        return ProbeError("dns", f"DNS name {target.host} does not resolve (yet?): {exc.strerror or exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _classify_tls(exc, where, sni or target.host)
    if isinstance(exc, ssl.SSLError):
        return ProbeError("tls", f"TLS handshake with {where} failed: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeError("refused", f"connection refused by {where} (nothing listening yet?)")
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return ProbeError("timeout", f"connection to {where} timed out (security group, or not up yet?)")
    if isinstance(exc, (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        return ProbeError("reset", f"{where} closed the connection without an answer")
    return ProbeError("other", f"request to {where} failed: {type(exc).__name__}: {exc}")


def _classify_tls(exc: ssl.SSLCertVerificationError, where: str, hostname: str) -> ProbeError:
    message = str(exc.verify_message or exc)
    # OpenSSL X509_V_ERR_*: 18/19 self-signed, 20/21 unknown issuer, 62 hostname mismatch.
    if exc.verify_code in (18, 19, 20, 21) or "issuer" in message or "self-signed" in message:
        return ProbeError("tls-unknown-ca", f"TLS failure at {where}: unknown CA, the certificate "
                                            f"is not signed by caCertificate ({message})")
    if exc.verify_code == 62 or "mismatch" in message.lower():
        return ProbeError("tls-hostname", f"TLS failure at {where}: hostname mismatch, the certificate "
                                          f"is not for {hostname} ({message})")
    return ProbeError("tls", f"TLS failure at {where}: {message}")


class Client:
    """Sends GETs to one target: a new connection per request (L4) or one kept alive (L7)."""

    def __init__(self, target: Target, keep_alive: bool, timeout: float, sni: str | None = None):
        self.target, self.keep_alive, self.timeout = target, keep_alive, timeout
        self.sni = sni or target.host
        self._conn: http.client.HTTPConnection | None = None
        self._context = tls_context(target.ca_pem) if target.scheme == "https" else None
        self.connections_opened = 0

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None or not self.keep_alive:
            self.close()
            self.connections_opened += 1
            if self._context is not None:
                self._conn = _SNIHTTPSConnection(self.target.host, self.target.port, self.sni,
                                                 self._context, timeout)
            else:
                self._conn = http.client.HTTPConnection(self.target.host, self.target.port, timeout=timeout)
        self._conn.timeout = timeout
        return self._conn

    def get_e(self, path: str, host: str | None = None, timeout: float | None = None
              ) -> tuple[Reply | None, ProbeError | None]:
        headers = {"Host": host or self.target.netloc, "User-Agent": "lab-smoke"}
        if not self.keep_alive:
            headers["Connection"] = "close"
        started = time.perf_counter()
        try:
            conn = self._connection(timeout or self.timeout)
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()  # a broken keep-alive connection must not be reused
            return None, classify(exc, self.target, self.sni)
        latency = (time.perf_counter() - started) * 1000
        if not self.keep_alive or resp.will_close:
            self.close()
        return _reply(resp, raw, latency), None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _reply(resp: http.client.HTTPResponse, raw: bytes, latency_ms: float) -> Reply:
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, text, latency_ms,
                 body if isinstance(body, dict) else None)
