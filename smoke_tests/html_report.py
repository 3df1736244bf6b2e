"""The smoke results in the pytest-html report: per entry point and route, the requests
sent, a bar per pod with its share (the even share it should get marked), latency p50
and p95, and for a failure the classified error. Inline styles only: the report stays
self-contained (`--self-contained-html`), viewable without a network.
"""

from __future__ import annotations

from html import escape

from smoke_tests.judge import judge_route, share
from smoke_tests.outputs import Contract
from smoke_tests.probes import EntrypointResult
from smoke_tests.summary import percentile

STYLE = """<style>
.lab-routes { border-collapse: collapse; font-size: 13px; }
.lab-routes td, .lab-routes th { border-bottom: 1px solid #ddd; padding: 4px 8px; vertical-align: top; text-align: left; }
.lab-pod { display: flex; align-items: center; gap: 8px; margin: 2px 0; }
.lab-pod b { width: 260px; font-weight: normal; font-size: 12px; font-family: monospace; }
.lab-bar { position: relative; width: 240px; height: 14px; background: #eee; }
.lab-bar span { position: absolute; left: 0; top: 0; bottom: 0; background: #4a90d9; }
.lab-bar i { position: absolute; top: -3px; bottom: -3px; width: 2px; background: #c0392b; }
.lab-error { color: #c0392b; max-width: 460px; }
.lab-ok { color: #2e7d32; }
</style>"""


def _bar(pod: str, pct: float, expected: float | None) -> str:
    mark = f'<i style="left:{expected:.1f}%" title="expected even share {expected:.1f}%"></i>' if expected else ""
    return (f'<div class="lab-pod" data-pod="{escape(pod)}" data-share="{pct:.1f}"><b>{escape(pod)} {pct:.1f}%</b>'
            f'<div class="lab-bar"><span style="width:{pct:.1f}%"></span>{mark}</div></div>')


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _verdict(problems: list[str]) -> str:
    if not problems:
        return '<td class="lab-ok">ok</td>'
    return f'<td class="lab-error">{"<br>".join(escape(p) for p in problems)}</td>'


def section(results: dict[str, EntrypointResult], contract: Contract) -> str:
    rows = []
    for name, result in results.items():
        ep = result.entrypoint
        for route in ep.routes:
            rr = result.routes.get(route.label)
            replies = rr.replies if rr else []
            local = ep.external_traffic_policy == "Local"  # only the receiving node's pods answer
            expected = None if local else 100.0 / contract.replicas[route.app]
            bars = "".join(_bar(pod, pct, expected) for pod, pct in share(replies).items()) or "-"
            problems = judge_route(ep, route, result, contract)
            latencies = [r.latency_ms for r in replies]
            sent = rr.attempts + len(rr.samples) if rr else 0
            rows.append(
                f'<tr data-entrypoint="{escape(name)}" data-route="{escape(route.label)}">'
                f"<td>{escape(name)}</td><td>{escape(route.label)}</td><td>{escape(route.app)}</td>"
                f"<td>{sent}</td><td>{_ms(percentile(latencies, 50))} / {_ms(percentile(latencies, 95))}</td>"
                f"<td>{bars}</td>{_verdict(problems)}</tr>")
    return (f'{STYLE}<section id="lab-smoke"><h2>Where the requests went</h2>'
            "<p>Per route: requests sent (readiness attempts included), latency p50 / p95 in ms, and each "
            "pod's share of the answers; the red mark is the even share every replica should get "
            "(none under externalTrafficPolicy Local, where only the receiving node's pods answer).</p>"
            '<table class="lab-routes"><tr><th>entry point</th><th>route</th><th>app</th><th>sent</th>'
            f"<th>p50 / p95 ms</th><th>share per pod</th><th>verdict</th></tr>{''.join(rows)}</table></section>")
