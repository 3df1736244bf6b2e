"""Probes: send requests to the lab's entry points and RETURN what happened.

Terratest style: functions ending in `_e` return (result, error) and never
assert; the tests in test_entrypoints.py judge the results. Only the standard
library's http.client is used, so no proxy settings from the environment can
redirect a probe, and L4/L7 connection reuse is explicit.
"""

from __future__ import annotations

import http.client
import json
import math
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from smoke_tests.outputs import Contract, Entrypoint, NotFound, REDIRECT_STATUSES, Route

MISS_PROBABILITY = 1e-6


def requests_needed(k: int, miss: float = MISS_PROBABILITY) -> int:
    """Smallest n with k * (1 - 1/k)^n <= miss.

    Under uniform balancing one given replica is missed by n requests with
    probability (1 - 1/k)^n; the union bound over k replicas gives
    P(some replica unseen) <= k * (1 - 1/k)^n. k=3 -> 37, k=2 -> 21, k=1 -> 1.
    """
    if k <= 1:
        return 1
    return max(1, math.ceil(math.log(miss / k) / math.log(1 - 1 / k)))


# ---- results -------------------------------------------------------------

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


@dataclass
class Sample:
    reply: Reply | None
    error: ProbeError | None


@dataclass
class RouteResult:
    route: Route
    ready: bool
    waited_s: float
    attempts: int
    error: ProbeError | None = None
    samples: list[Sample] = field(default_factory=list)

    @property
    def replies(self) -> list[Reply]:
        return [s.reply for s in self.samples if s.reply is not None]


@dataclass
class CheckResult:
    """One request whose status is judged: a notFound path or the https redirect."""
    label: str
    reply: Reply | None
    error: ProbeError | None


@dataclass
class EntrypointResult:
    entrypoint: Entrypoint
    elapsed_s: float = 0.0
    routes: dict[str, RouteResult] = field(default_factory=dict)
    not_found: dict[str, CheckResult] = field(default_factory=dict)
    redirect: CheckResult | None = None
    setup_error: str | None = None

    @property
    def requests_sent(self) -> int:
        sent = sum(r.attempts + len(r.samples) for r in self.routes.values())
        return sent + len(self.not_found) + (1 if self.redirect else 0)


# ---- transport -----------------------------------------------------------

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


# ---- waiting -------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    deadline_s: float = 600.0
    backoff_initial_s: float = 1.0
    backoff_cap_s: float = 15.0
    request_timeout_s: float = 10.0
    node_address: str | None = None
    node_address_error: str | None = None
    sequential: bool = False

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with a cap: initial * 2^attempt, at most cap."""
        return min(self.backoff_cap_s, self.backoff_initial_s * (2 ** min(attempt, 30)))


@dataclass
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def wait_for_e(send: Callable[[float], tuple[Reply | None, ProbeError | None]],
               not_yet: Callable[[Reply], ProbeError | None], deadline: float,
               settings: Settings, clock: Clock = Clock()) -> tuple[Reply | None, ProbeError | None, int]:
    """Retry `send` with backoff until `not_yet(reply)` is None or the deadline passes.

    Returns (reply, None, attempts) on success and (None, last error, attempts)
    at the deadline; it never sleeps past the deadline, so it cannot hang.
    """
    attempt = 0
    while True:
        remaining = deadline - clock.now()
        reply, err = send(max(0.05, min(settings.request_timeout_s, remaining)))
        attempt += 1
        if reply is not None:
            err = not_yet(reply)
            if err is None:
                return reply, None, attempt
        remaining = deadline - clock.now()
        if remaining <= 0:
            return None, err, attempt
        clock.sleep(min(settings.backoff(attempt - 1), remaining))


def app_not_answering(reply: Reply) -> ProbeError | None:
    """Ready once the test app itself answers through the entry point (any status).

    Load balancers answer 404/502/503 from themselves while targets register;
    the app's JSON (with `pod`) proves traffic reaches a pod. A 500 from the
    app is an answer and is judged, not waited out.
    """
    if reply.from_app:
        return None
    return ProbeError("not-app", f"status {reply.status} from {reply.describe()}")


def any_http_answer(reply: Reply) -> ProbeError | None:
    return None


# ---- probing an entry point ----------------------------------------------

def entry_target(ep: Entrypoint, settings: Settings) -> tuple[Target | None, str | None]:
    if ep.url:
        return Target.from_url(ep.url, ep.ca_certificate), None
    if settings.node_address:
        return Target("http", settings.node_address, ep.node_port or 0), None
    return None, f"no public node address for nodePort {ep.node_port}: {settings.node_address_error}"


def route_key(route: Route) -> str:
    return route.label


def probe_route(client: Client, route: Route, n: int, deadline: float, settings: Settings,
                clock: Clock) -> RouteResult:
    started = clock.now()
    reply, err, attempts = wait_for_e(lambda t: client.get_e(route.path, route.host, t),
                                      app_not_answering, deadline, settings, clock)
    waited = clock.now() - started
    if reply is None:
        return RouteResult(route, False, waited, attempts, error=err)
    samples = [Sample(*client.get_e(route.path, route.host)) for _ in range(n)]
    return RouteResult(route, True, waited, attempts, samples=samples)


def probe_entrypoint(ep: Entrypoint, contract: Contract, settings: Settings,
                     clock: Clock = Clock()) -> EntrypointResult:
    started = clock.now()
    deadline = started + settings.deadline_s
    result = EntrypointResult(ep)
    target, problem = entry_target(ep, settings)
    if target is None:
        result.setup_error = problem
        return result
    for route in ep.routes:
        client = Client(target, keep_alive=ep.layer == "L7", timeout=settings.request_timeout_s,
                        sni=route.host or target.host)
        try:
            n = requests_needed(contract.replicas[route.app])
            result.routes[route_key(route)] = probe_route(client, route, n, deadline, settings, clock)
        finally:
            client.close()
    if any(r.ready for r in result.routes.values()):
        result.not_found = {nf.label: check_not_found(target, nf, settings) for nf in ep.not_found}
        if ep.redirects_to_https:
            result.redirect = check_redirect(ep, target, deadline, settings, clock)
    result.elapsed_s = clock.now() - started
    return result


def check_not_found(target: Target, nf: NotFound, settings: Settings) -> CheckResult:
    client = Client(target, keep_alive=False, timeout=settings.request_timeout_s, sni=nf.host or target.host)
    reply, err = client.get_e(nf.path, nf.host)
    return CheckResult(nf.label, reply, err)


def check_redirect(ep: Entrypoint, target: Target, deadline: float, settings: Settings,
                   clock: Clock) -> CheckResult:
    """A plain-http request (port 80, or httpUrl) to the first route's host must redirect to https."""
    plain = Target.from_url(ep.http_url) if ep.http_url else Target("http", target.host, 80)
    route = ep.routes[0]
    client = Client(plain, keep_alive=False, timeout=settings.request_timeout_s)
    reply, err, _ = wait_for_e(lambda t: client.get_e(route.path, route.host, t), any_http_answer,
                               deadline, settings, clock)
    return CheckResult(f"http://{route.host or plain.netloc}{route.path}", reply, err)


def probe_all(contract: Contract, names: list[str], settings: Settings,
              clock: Clock = Clock()) -> tuple[dict[str, EntrypointResult], float]:
    """Probe the entry points concurrently (one thread each) unless settings.sequential."""
    started = clock.now()
    eps = [contract.entrypoints[n] for n in names]
    if settings.sequential or len(eps) <= 1:
        results = [probe_entrypoint(ep, contract, settings, clock) for ep in eps]
    else:
        with ThreadPoolExecutor(max_workers=len(eps), thread_name_prefix="probe") as pool:
            results = list(pool.map(lambda ep: probe_entrypoint(ep, contract, settings, clock), eps))
    return {r.entrypoint.name: r for r in results}, clock.now() - started


def redirect_ok(reply: Reply) -> bool:
    return reply.status in REDIRECT_STATUSES and reply.headers.get("location", "").startswith("https://")

