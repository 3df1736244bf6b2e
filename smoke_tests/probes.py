"""Probes: send requests to the lab's entry points and RETURN what happened.

Terratest style: functions ending in `_e` return (result, error) and never
assert; judge.py and the tests in test_entrypoints.py judge the results. The
requests themselves go through transport.py.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from smoke_tests.outputs import Contract, Entrypoint, NotFound, REDIRECT_STATUSES, Route
from smoke_tests.stats import MISS_PROBABILITY, requests_needed, weighted_requests_needed  # noqa: F401
from smoke_tests.transport import Client, Limits, ProbeError, Reply, Target  # noqa: F401 (Limits: API)


def samples_for(route: Route, replicas: dict[str, int]) -> int:
    """How many requests a route's sample takes: enough to see every replica (and, for a
    weighted route, to tell its split from an even one); see stats.py."""
    if route.weighted:
        return weighted_requests_needed(dict(route.weights), replicas)
    return requests_needed(replicas[route.app])


# ---- results -------------------------------------------------------------


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
    max_sockets: int = 32
    """Requests in flight in the whole run, at most: a small lab is never flooded."""
    per_target: int = 8
    """Requests in flight to one entry point (one load balancer), at most."""

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


def ready_check(route: Route) -> Callable[[Reply], ProbeError | None]:
    """A weighted route is ready once one of its apps answers: while a Gateway's route is
    being programmed the load balancer may still send the path elsewhere."""
    if not route.weighted:
        return app_not_answering

    def not_yet(reply: Reply) -> ProbeError | None:
        if not reply.from_app or reply.field("app") in route.apps:
            return app_not_answering(reply)
        return ProbeError("not-app", f"{reply.field('app')} answered ({reply.describe()}), expected one of "
                                     f"{', '.join(route.apps)} (weights)")
    return not_yet


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
                clock: Clock, limits: Limits) -> RouteResult:
    """Wait until the route answers from the app, then send its n samples at once, spread
    over up to `per_target` connections (each L4 sample on a new one)."""
    def get(timeout: float | None = None) -> tuple[Reply | None, ProbeError | None]:
        with limits.slot(client.target):
            return client.get_e(route.path, route.host, timeout, headers=headers)

    headers = dict(route.headers)  # on every request, the readiness wait's too
    started = clock.now()
    reply, err, attempts = wait_for_e(get, ready_check(route), deadline, settings, clock)
    waited = clock.now() - started
    if reply is None:
        return RouteResult(route, False, waited, attempts, error=err)
    if settings.sequential:
        samples = [Sample(*get()) for _ in range(n)]
    else:
        with ThreadPoolExecutor(max_workers=min(n, settings.per_target), thread_name_prefix="sample") as pool:
            samples = [Sample(*r) for r in pool.map(lambda _: get(), range(n))]
    return RouteResult(route, True, waited, attempts, samples=samples)


def sni_of(route: Route, target: Target) -> str:
    """The name a route's TLS connection is for: its Host (plain HTTP shares one client)."""
    return (route.host or target.host) if target.scheme == "https" else target.host


def clients_for(ep: Entrypoint, target: Target, settings: Settings) -> dict[str, Client]:
    """One client per TLS name (SNI), so an L7 entry point's routes share a keep-alive pool."""
    pool = 1 if settings.sequential else settings.per_target
    names = {sni_of(route, target) for route in ep.routes}
    return {name: Client(target, keep_alive=ep.layer == "L7", timeout=settings.request_timeout_s, sni=name,
                         pool_size=pool) for name in names}


def probe_entrypoint(ep: Entrypoint, contract: Contract, settings: Settings, clock: Clock = Clock(),
                     deadline: float | None = None, limits: Limits | None = None) -> EntrypointResult:
    """Every route at once (each sampled as soon as it is ready), within the run's deadline."""
    started = clock.now()
    deadline = deadline if deadline is not None else started + settings.deadline_s
    limits = limits or Limits(settings.max_sockets, settings.per_target)
    result = EntrypointResult(ep)
    target, problem = entry_target(ep, settings)
    if target is None:
        result.setup_error = problem
        return result
    clients = clients_for(ep, target, settings)

    def probe(route: Route) -> RouteResult:
        client = clients[sni_of(route, target)]
        return probe_route(client, route, samples_for(route, contract.replicas), deadline, settings,
                           clock, limits)

    try:
        if settings.sequential:
            routes = [probe(r) for r in ep.routes]
        else:
            with ThreadPoolExecutor(max_workers=max(1, len(ep.routes)), thread_name_prefix="route") as pool:
                routes = list(pool.map(probe, ep.routes))
    finally:
        for client in clients.values():
            client.close()
    result.routes = {route_key(r.route): r for r in routes}
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
    """Probe the entry points concurrently (one thread each) unless settings.sequential, under one
    deadline and one cap on sockets for the whole run."""
    started = clock.now()
    deadline = started + settings.deadline_s
    limits = Limits(settings.max_sockets, settings.per_target)
    eps = [contract.entrypoints[n] for n in names]

    def probe(ep: Entrypoint) -> EntrypointResult:
        return probe_entrypoint(ep, contract, settings, clock, deadline, limits)

    if settings.sequential or len(eps) <= 1:
        results = [probe(ep) for ep in eps]
    else:
        with ThreadPoolExecutor(max_workers=len(eps), thread_name_prefix="probe") as pool:
            results = list(pool.map(probe, eps))
    return {r.entrypoint.name: r for r in results}, clock.now() - started


def redirect_ok(reply: Reply) -> bool:
    return reply.status in REDIRECT_STATUSES and reply.headers.get("location", "").startswith("https://")

