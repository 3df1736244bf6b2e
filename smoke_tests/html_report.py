"""The smoke results in the pytest-html report: per entry point and route, the requests
sent, a bar per pod with its share (the even share it should get marked), latency p50
and p95, and for a failure the classified error. A weighted route also gets a bar per
app: its share, the declared one marked, the shares the binomial test accepts shaded.
Inline styles only: the report stays self-contained (`--self-contained-html`), viewable
without a network.
"""

from __future__ import annotations

from html import escape

from smoke_tests.judge import judge_route, p_text, share, split_of
from smoke_tests.outputs import Contract, Route
from smoke_tests.probes import EntrypointResult, Reply
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
</style>"""


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


def _shares(route: Route, replies: list[Reply], contract: Contract, local: bool) -> str:
    even = None if local or route.weighted else 100.0 / contract.replicas[route.app]
    expected = _expected(route, replies, contract)
    bars = "".join(_bar(pod, pct, None if local else expected.get(pod, even)) for pod, pct in share(replies).items())
    split = split_of(route, replies)
    if split is None:
        return bars or "-"
    head = (f'<div>n={split.n}, split {"REJECTED" if split.rejected else "ok"} ({p_text(split.p_value)})</div>'
            + "".join(_app_bar(split, i) for i in range(len(split.apps))))
    return head + bars


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _verdict(problems: list[str]) -> str:
    if not problems:
        return '<td class="lab-ok">ok</td>'
    return f'<td class="lab-error">{"<br>".join(escape(p) for p in problems)}</td>'


def _apps(route: Route) -> str:
    if not route.weighted:
        return route.app or ""
    total = sum(w for _, w in route.weights)
    return " / ".join(f"{a} {100 * w / total:.0f}%" for a, w in route.weights) + " (weights)"


def section(results: dict[str, EntrypointResult], contract: Contract) -> str:
    rows = []
    for name, result in results.items():
        ep = result.entrypoint
        for route in ep.routes:
            rr = result.routes.get(route.label)
            replies = rr.replies if rr else []
            local = ep.external_traffic_policy == "Local"  # only the receiving node's pods answer
            bars = _shares(route, replies, contract, local)
            problems = judge_route(ep, route, result, contract)
            latencies = [r.latency_ms for r in replies]
            sent = rr.attempts + len(rr.samples) if rr else 0
            rows.append(
                f'<tr data-entrypoint="{escape(name)}" data-route="{escape(route.label)}">'
                f"<td>{escape(name)}</td><td>{escape(route.label)}</td><td>{escape(_apps(route))}</td>"
                f"<td>{sent}</td><td>{_ms(percentile(latencies, 50))} / {_ms(percentile(latencies, 95))}</td>"
                f"<td>{bars}</td>{_verdict(problems)}</tr>")
    return (f'{STYLE}<section id="lab-smoke"><h2>Where the requests went</h2>'
            "<p>Per route: requests sent (readiness attempts included), latency p50 / p95 in ms, and each "
            "pod's share of the answers; the red mark is the even share every replica should get "
            "(none under externalTrafficPolicy Local, where only the receiving node's pods answer). "
            "A weighted route first shows n and each app's share: the red mark is the declared share, "
            "the green band the shares the binomial test accepts, and a pod's mark is its app's "
            "declared share divided by the app's replicas.</p>"
            '<table class="lab-routes"><tr><th>entry point</th><th>route</th><th>app</th><th>sent</th>'
            f"<th>p50 / p95 ms</th><th>share per pod</th><th>verdict</th></tr>{''.join(rows)}</table></section>")
