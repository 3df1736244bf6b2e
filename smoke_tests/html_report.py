"""The smoke results in the pytest-html report, a row per check. Per entry point and route:
the requests sent, a bar per pod with its share (the even share it should get marked),
latency p50 and p95, and for a failure the classified error. A weighted route also gets a
bar per app: its share, the declared one marked, the shares the binomial test accepts
shaded. Each notFound path and the https redirect get a row, and so does each in-cluster
check (passed, failed with its message, or skipped with the reason). A route that fails
any check reads "ok" nowhere in its row.
Inline styles only: the report stays self-contained (`--self-contained-html`), viewable
without a network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from smoke_tests.judge import judge_not_found, judge_redirect, judge_route, p_text, share, split_of
from smoke_tests.outputs import Contract, Route
from smoke_tests.probes import CheckResult, EntrypointResult, Reply
from smoke_tests.stats import Split
from smoke_tests.summary import percentile

STYLE = """<style>
.lab-routes { border-collapse: collapse; font-size: 13px; }
.lab-routes td, .lab-routes th { border-bottom: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }
.lab-pod { display: flex; align-items: center; gap: 8px; margin: 2px 0; }
.lab-pod b { width: 260px; font-weight: normal; font-size: 12px; font-family: monospace; }
.lab-bar { position: relative; width: 240px; height: 14px; background: #eee; }
.lab-bar span { position: absolute; left: 0; top: 0; bottom: 0; background: #4a90d9; }
.lab-bar i { position: absolute; top: -3px; bottom: -3px; width: 2px; background: #c0392b; }
.lab-bar u { position: absolute; top: 0; bottom: 0; background: rgba(46, 125, 50, 0.25); }
.lab-error { color: #c0392b; max-width: 460px; }
.lab-ok { color: #2e7d32; }
.lab-skip { color: #777; max-width: 460px; }
</style>"""


@dataclass(frozen=True)
class InternalCheck:
    """The outcome of one in-cluster test (smoke_tests/test_internal.py)."""
    name: str
    outcome: str  # passed | failed | skipped
    message: str = ""
    """Why it failed, or why it was skipped."""


def _bar(pod: str, pct: float, expected: float | None) -> str:
    mark = f'<i style="left:{expected:.1f}%" title="expected share {expected:.1f}%"></i>' if expected else ""
    return (f'<div class="lab-pod" data-pod="{escape(pod)}" data-share="{pct:.1f}"><b>{escape(pod)} {pct:.1f}%</b>'
            f'<div class="lab-bar"><span style="width:{pct:.1f}%"></span>{mark}</div></div>')


def _app_bar(split: Split, index: int) -> str:
    a = split.apps[index]
    pct, lo, hi = (100 * x / split.n for x in (a.count, *a.accepts))
    return (f'<div class="lab-pod" data-app="{escape(a.app)}" data-share="{pct:.1f}"><b>{escape(a.app)} {pct:.1f}% '
            f'(declared {100 * a.declared:.1f}%)</b><div class="lab-bar"><span style="width:{pct:.1f}%"></span>'
            f'<u style="left:{lo:.1f}%;width:{hi - lo:.1f}%" title="accepted {lo:.1f}%-{hi:.1f}%"></u>'
            f'<i style="left:{100 * a.declared:.1f}%" title="declared {100 * a.declared:.1f}%"></i></div></div>')


def _expected(route: Route, replies: list[Reply], contract: Contract) -> dict[str, float]:
    """Pod -> the share it should get on a weighted route: its app's declared share divided by
    the app's replicas (a pod of no weighted app gets no mark)."""
    if not route.weighted:
        return {}
    total = sum(w for _, w in route.weights)
    weights = dict(route.weights)
    return {str(r.field("pod")): 100.0 * weights[app] / total / contract.replicas[app]
            for r in replies if r.from_app and (app := r.field("app")) in weights}


def _shares(route: Route, replies: list[Reply], contract: Contract, local: bool, failed: bool) -> str:
    even = None if local or route.weighted else 100.0 / contract.replicas[route.app]
    expected = _expected(route, replies, contract)
    bars = "".join(_bar(pod, pct, None if local else expected.get(pod, even)) for pod, pct in share(replies).items())
    split = split_of(route, replies)
    if split is None:
        return bars or "-"
    # A route that fails another check reads "not rejected", never "ok", beside its failure.
    verdict = "REJECTED" if split.rejected else "not rejected" if failed else "ok"
    head = (f'<div>n={split.n}, split {verdict} ({p_text(split.p_value)})</div>'
            + "".join(_app_bar(split, i) for i in range(len(split.apps))))
    return head + bars


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _verdict(problems: list[str]) -> str:
    if not problems:
        return '<td class="lab-ok" data-verdict="ok">ok</td>'
    return f'<td class="lab-error" data-verdict="failed">{"<br>".join(escape(p) for p in problems)}</td>'


def _apps(route: Route) -> str:
    if not route.weighted:
        return route.app or ""
    total = sum(w for _, w in route.weights)
    return " / ".join(f"{a} {100 * w / total:.0f}%" for a, w in route.weights) + " (weights)"


def _route_row(name: str, result: EntrypointResult, route: Route, contract: Contract) -> str:
    ep = result.entrypoint
    rr = result.routes.get(route.label)
    replies = rr.replies if rr else []
    problems = judge_route(ep, route, result, contract)
    bars = _shares(route, replies, contract, ep.external_traffic_policy == "Local", bool(problems))
    latencies = [r.latency_ms for r in replies]
    sent = rr.attempts + len(rr.samples) if rr else 0
    return (f'<tr data-entrypoint="{escape(name)}" data-route="{escape(route.label)}">'
            f"<td>{escape(name)}</td><td>{escape(route.label)}</td><td>{escape(_apps(route))}</td>"
            f"<td>{sent}</td><td>{_ms(percentile(latencies, 50))} / {_ms(percentile(latencies, 95))}</td>"
            f"<td>{bars}</td>{_verdict(problems)}</tr>")


def _check_row(name: str, check: str, expected: str, result: CheckResult | None, problems: list[str]) -> str:
    """One request judged by its status: a notFound path, the https redirect."""
    latency = result.reply.latency_ms if result and result.reply else None
    return (f'<tr data-entrypoint="{escape(name)}" data-check="{escape(check)}"><td>{escape(name)}</td>'
            f"<td>{escape(check)}</td><td>{escape(expected)}</td><td>{1 if result else 0}</td>"
            f"<td>{_ms(latency)}</td><td>-</td>{_verdict(problems)}</tr>")


def _internal_row(check: InternalCheck) -> str:
    if check.outcome == "skipped":
        verdict = f'<td class="lab-skip" data-verdict="skipped">skipped: {escape(check.message)}</td>'
    else:
        verdict = _verdict([check.message or "failed"] if check.outcome == "failed" else [])
    return (f'<tr data-entrypoint="in-cluster" data-check="{escape(check.name)}"><td>in-cluster</td>'
            f"<td>{escape(check.name)}</td><td>-</td><td>-</td><td>-</td><td>-</td>{verdict}</tr>")


def rows(results: dict[str, EntrypointResult], contract: Contract, internal: list[InternalCheck]) -> list[str]:
    """A row per check: each route, each notFound path, the redirect, each in-cluster check."""
    found = []
    for name, result in results.items():
        ep = result.entrypoint
        found += [_route_row(name, result, route, contract) for route in ep.routes]
        for nf in ep.not_found:
            check = result.not_found.get(nf.label)
            found.append(_check_row(name, f"notFound {nf.label}", "404", check, judge_not_found(ep, check, result)))
        if ep.redirects_to_https:
            found.append(_check_row(name, "redirectsToHttps", "301/308 to https://", result.redirect,
                                    judge_redirect(ep, result)))
    return found + [_internal_row(c) for c in internal]


def section(results: dict[str, EntrypointResult], contract: Contract, internal: list[InternalCheck] = ()) -> str:
    return (f'{STYLE}<section id="lab-smoke"><h2>Where the requests went</h2>'
            "<p>A row per check. Per route: requests sent (readiness attempts included), latency p50 / p95 "
            "in ms, and each pod's share of the answers; the red mark is the even share every replica should "
            "get (none under externalTrafficPolicy Local, where only the receiving node's pods answer). "
            "A weighted route first shows n and each app's share: the red mark is the declared share, "
            "the green band the shares the binomial test accepts, and a pod's mark is its app's "
            "declared share divided by the app's replicas. A notFound path and the https redirect are one "
            "request each; the in-cluster checks run from a pod.</p>"
            '<table class="lab-routes"><tr><th>entry point</th><th>check</th><th>expected</th><th>sent</th>'
            f"<th>p50 / p95 ms</th><th>share per pod</th><th>verdict</th></tr>"
            f"{''.join(rows(results, contract, list(internal)))}</table></section>")


def title(contract: Contract, source: str, started: dt.datetime) -> str:
    """Which lab, where and when: the cluster, its stack or outputs file, the region, the run's start."""
    return (f"Smoke tests of {contract.cluster_name or 'the lab'} ({source}) in "
            f"{contract.region or 'an unnamed region'}, {started.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
