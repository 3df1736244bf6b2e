"""Verdicts on probe results: each returns a list of problems, empty when all is well.

Every message starts with the entry point and route, then names the fault, so
a failing test line reads like `alb /v1: expected app1, got app2 from pod ...`.
"""

from __future__ import annotations

import ipaddress
from collections import Counter

from smoke_tests.outputs import Contract, Entrypoint, Route
from smoke_tests.probes import CheckResult, EntrypointResult, Reply, RouteResult, redirect_ok


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
    return (_failed_requests(where, rr) + _statuses(where, rr) + _apps(where, route, rr)
            + _paths(where, route, rr) + _replicas(where, ep, route, rr, contract)
            + _clients(where, route, rr, contract))


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
    wrong = [r for r in rr.replies if r.from_app and r.field("app") != route.app]
    if not wrong:
        return []
    pods = sorted({r.field("pod") for r in wrong})
    return [f"{where}: expected {route.app}, got {wrong[0].field('app')} from pod {', '.join(pods)} "
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
    mine = [r for r in rr.replies if r.from_app and r.field("app") == route.app]
    pods = {r.field("pod") for r in mine}
    want = contract.replicas[route.app]
    if ep.node_local:
        # externalTrafficPolicy Local: only pods on the receiving node answer.
        nodes = sorted({str(r.field("node")) for r in mine})
        if not pods:
            return [f"{where}: no {route.app} replica answered (externalTrafficPolicy Local)"]
        if len(nodes) > 1:
            return [f"{where}: externalTrafficPolicy Local, but replies came from nodes {', '.join(nodes)} "
                    f"(traffic crossed nodes)"]
        return []
    if len(pods) < want:
        missing = want - len(pods)
        return [f"{where}: replicas seen {len(pods)} of {want} (missing {'one replica' if missing == 1 else f'{missing} replicas'}; "
                f"seen {', '.join(sorted(pods)) or 'none'})"]
    if len(pods) > want:
        return [f"{where}: replicas seen {len(pods)}, expected {want} (stale endpoints or extra pods?)"]
    return []


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
    total = sum(counts.values()) or 1
    return {pod: 100.0 * c / total for pod, c in sorted(counts.items())}
