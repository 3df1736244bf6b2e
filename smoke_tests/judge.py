"""Verdicts on probe results: each returns a list of problems, empty when all is well.

Every message starts with the entry point and route, then names the fault, so
a failing test line reads like `alb /v1: expected app1, got app2 from pod ...`.
A weighted route must reach every replica of every app it names, and its split
must pass the exact binomial test of stats.py.
"""

from __future__ import annotations

import ipaddress
from collections import Counter

from smoke_tests.outputs import Contract, Entrypoint, Route
from smoke_tests.probes import CheckResult, EntrypointResult, Reply, RouteResult, redirect_ok
from smoke_tests.stats import AppSplit, Split, split_test


def label(ep: Entrypoint, what: str) -> str:
    return f"{ep.name} {what}"


def judge_route(ep: Entrypoint, route: Route, result: EntrypointResult, contract: Contract) -> list[str]:
    where = label(ep, route.label)
    if result.setup_error:
        return [f"{where}: {result.setup_error}"]
    rr = result.routes.get(route.label)
    if rr is None:
        return [f"{where}: never probed"]
    if not rr.ready:
        return [f"{where}: not ready after {rr.waited_s:.1f}s ({rr.attempts} attempts): {rr.error}"]
    return judge_replies(ep, route, rr, contract) + _replicas(where, ep, route, rr, contract)


def judge_replies(ep: Entrypoint, route: Route, rr: RouteResult, contract: Contract) -> list[str]:
    """What every reply must show on its own (status, app, path, client), even a single one:
    `./lab tour --run` judges its one curl per route with this."""
    where = label(ep, route.label)
    return (_failed_requests(where, rr) + _statuses(where, rr) + _apps(where, route, rr)
            + _paths(where, route, rr) + _clients(where, route, rr, contract))


def _failed_requests(where: str, rr: RouteResult) -> list[str]:
    errors = [s.error for s in rr.samples if s.error is not None]
    if not errors:
        return []
    return [f"{where}: {len(errors)} of {len(rr.samples)} requests failed, first: {errors[0]}"]


def _statuses(where: str, rr: RouteResult) -> list[str]:
    bad = Counter((r.status, r.describe()) for r in rr.replies if r.status != 200)
    return [f"{where}: status {status} from {who} ({count} of {len(rr.samples)} requests)"
            for (status, who), count in sorted(bad.items())]


def _apps(where: str, route: Route, rr: RouteResult) -> list[str]:
    wrong = [r for r in rr.replies if r.from_app and r.field("app") not in route.apps]
    if not wrong:
        return []
    pods = sorted({r.field("pod") for r in wrong})
    expected = f"one of {', '.join(route.apps)} (weights)" if route.weighted else route.app
    return [f"{where}: expected {expected}, got {wrong[0].field('app')} from pod {', '.join(pods)} "
            f"({len(wrong)} of {len(rr.samples)} requests; route sent to the wrong app)"]


def _paths(where: str, route: Route, rr: RouteResult) -> list[str]:
    seen = Counter(r.field("path") for r in rr.replies if r.from_app and r.field("path") != route.app_sees)
    problems = []
    for path, count in seen.items():
        hint = "rewrite missing?" if path == route.path else "wrong rewrite?"
        problems.append(f"{where}: app saw {path}, expected {route.app_sees} "
                        f"({count} of {len(rr.samples)} requests; {hint})")
    return problems


def _replicas(where: str, ep: Entrypoint, route: Route, rr: RouteResult, contract: Contract) -> list[str]:
    if route.weighted:
        return _weighted(where, ep, route, rr, contract)
    mine = [r for r in rr.replies if r.from_app and r.field("app") == route.app]
    if ep.node_local:
        return _one_node(where, route.app, mine)
    return _all_pods(where, "", {r.field("pod") for r in mine}, contract.replicas[route.app])


def _one_node(where: str, apps: str, mine: list[Reply]) -> list[str]:
    """externalTrafficPolicy Local: only pods on the receiving node answer."""
    nodes = sorted({str(r.field("node")) for r in mine})
    if not mine:
        return [f"{where}: no {apps} replica answered (externalTrafficPolicy Local)"]
    if len(nodes) > 1:
        return [f"{where}: externalTrafficPolicy Local, but replies came from nodes {', '.join(nodes)} "
                f"(traffic crossed nodes)"]
    return []


def _all_pods(where: str, app: str, pods: set, want: int) -> list[str]:
    what = f"{app} replicas" if app else "replicas"
    if len(pods) < want:
        missing = "one replica" if want - len(pods) == 1 else f"{want - len(pods)} replicas"
        return [f"{where}: {what} seen {len(pods)} of {want} (missing {missing}; "
                f"seen {', '.join(sorted(pods)) or 'none'})"]
    if len(pods) > want:
        return [f"{where}: {what} seen {len(pods)}, expected {want} (stale endpoints or extra pods?)"]
    return []


# ---- weighted routes: every app and replica seen, then the split's binomial test ----

def app_counts(route: Route, replies: list[Reply]) -> Counter:
    """Replies per weighted app (any status: a 500 still shows where the route sent it)."""
    return Counter(r.field("app") for r in replies if r.from_app and r.field("app") in route.apps)


def split_of(route: Route, replies: list[Reply]) -> Split | None:
    """The binomial test of a weighted route's replies (None: not weighted, or no reply)."""
    counts = app_counts(route, replies)
    return split_test(counts, dict(route.weights)) if route.weighted and counts else None


def _weighted(where: str, ep: Entrypoint, route: Route, rr: RouteResult, contract: Contract) -> list[str]:
    counts = app_counts(route, rr.replies)
    n = sum(counts.values())
    declared = ", ".join(f"{a} {w}" for a, w in route.weights)
    never = [a for a in route.apps if not counts[a]]
    if never:
        answered = (f"all from {next(iter(counts))}" if len(counts) == 1
                    else ", ".join(f"{a} {c}" for a, c in counts.items()) or "no app answered")
        return [f"{where}: {app} never answered (weights {declared}; n={n}, {answered})" for app in never]
    mine = [r for r in rr.replies if r.from_app and r.field("app") in route.apps]
    if ep.node_local:
        problems = _one_node(where, " or ".join(route.apps), mine)
    else:
        problems = [p for app in route.apps for p in _all_pods(
            where, app, {r.field("pod") for r in mine if r.field("app") == app}, contract.replicas[app])]
    split = split_test(counts, dict(route.weights))
    if split.rejected:
        problems.append(f"{where}: {split_problem(split)}")
    return problems


def _pct(x: float) -> str:
    return f"{100 * x:.1f}".rstrip("0").rstrip(".")


def accepts(split: Split, app: AppSplit) -> str:
    lo, hi = app.accepts
    return f"{100 * lo / split.n:.1f}%-{100 * hi / split.n:.1f}%"


def split_problem(split: Split) -> str:
    """Why the split is not the declared one: n, counts and shares, declared shares, the
    counts the test accepts (as shares) and the p-value."""
    seen = " / ".join(f"{a.app} {100 * a.share(split.n):.1f}% ({a.count})" for a in split.apps)
    declared = "/".join(_pct(a.declared) for a in split.apps)
    # Two apps: one test, the second app's bounds are the first's complement.
    bounds = split.apps[:1] if len(split.apps) == 2 else split.apps
    accepted = ", ".join(f"{a.app} in {accepts(split, a)}" for a in bounds)
    worst = min(split.apps, key=lambda a: a.p_value)
    p = p_text(worst.p_value) if len(split.apps) == 2 else (
        f"{p_text(worst.p_value)} for {worst.app}, Bonferroni alpha {split.alpha:.1g}")
    return f"split {seen} of n={split.n} is not {declared} (accepts {accepted}, {p})"


def p_text(p: float) -> str:
    return "p<1e-300" if p == 0 else f"p={p:.2g}"  # 0.0: the float underflowed


def _clients(where: str, route: Route, rr: RouteResult, contract: Contract) -> list[str]:
    if route.client_preserved is None or contract.vpc_cidr is None:
        return []
    problems = []
    for client in sorted({str(r.field("client")) for r in rr.replies if r.from_app}):
        inside = _inside(client, contract.vpc_cidr)
        if route.client_preserved and inside:
            problems.append(f"{where}: app saw client {client} inside vpcCidr {contract.vpc_cidr}, "
                            f"expected the caller's address (clientPreserved true; SNAT by a node?)")
        elif not route.client_preserved and not inside:
            problems.append(f"{where}: app saw client {client} outside vpcCidr {contract.vpc_cidr}, "
                            f"expected a node/proxy address (clientPreserved false)")
    return problems


def _inside(address: str, cidr) -> bool:
    try:
        return ipaddress.ip_address(address) in cidr
    except ValueError:
        return False


def judge_not_found(ep: Entrypoint, check: CheckResult | None, result: EntrypointResult) -> list[str]:
    where = label(ep, "notFound")
    if check is None:
        return [f"{where}: not checked, the entry point never became ready"
                + (f" ({result.setup_error})" if result.setup_error else "")]
    if check.error is not None:
        return [f"{where} {check.label}: {check.error}"]
    if check.reply.status != 404:
        return [f"{where} {check.label} answered {check.reply.status}, expected 404 "
                f"(from {check.reply.describe()})"]
    return []


def judge_redirect(ep: Entrypoint, result: EntrypointResult) -> list[str]:
    check = result.redirect
    where = label(ep, "redirectsToHttps")
    if check is None:
        return [f"{where}: not checked, the entry point never became ready"]
    if check.error is not None:
        return [f"{where}: {check.label}: {check.error}"]
    if not redirect_ok(check.reply):
        loc = check.reply.headers.get("location", "(no Location)")
        return [f"{where}: {check.label} answered {check.reply.status} {loc}, "
                f"expected 301/308 to https://"]
    return []


def share(replies: list[Reply]) -> dict[str, float]:
    counts = Counter(str(r.field("pod")) for r in replies if r.from_app)
    total = sum(counts.values())  # no reply: no pod, no division
    return {pod: 100.0 * c / total for pod, c in sorted(counts.items())}
