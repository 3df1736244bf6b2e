"""The end-of-run table: per entry point and route, what was sent and who answered."""

from __future__ import annotations

import math
from typing import Any

from smoke_tests.judge import p_text, share, split_of
from smoke_tests.probes import EntrypointResult, RouteResult
from smoke_tests.stats import Split


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def route_row(ep_name: str, rr: RouteResult) -> dict[str, Any]:
    latencies = [r.latency_ms for r in rr.replies]
    pods = share(rr.replies)
    return {
        "entrypoint": ep_name, "route": rr.route.label, "sent": rr.attempts + len(rr.samples),
        "samples": len(rr.samples), "replicas": len(pods), "share": pods,
        "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
        "ready": rr.ready, "waited_s": round(rr.waited_s, 3),
        **({"split": split_row(split)} if (split := split_of(rr.route, rr.replies)) else {}),
    }


def split_row(split: Split) -> dict[str, Any]:
    """A weighted route: n, each app's count and share against its declared share and the
    shares the binomial test accepts, and the verdict."""
    return {"n": split.n, "p_value": split.p_value, "rejected": split.rejected, "apps": {
        a.app: {"count": a.count, "share": round(100 * a.share(split.n), 2), "declared": round(100 * a.declared, 2),
                "accepts": [round(100 * b / split.n, 2) for b in a.accepts]} for a in split.apps}}


def split_line(split: dict[str, Any]) -> str:
    """The line under a weighted route's row, from its report row's `split`."""
    apps = ", ".join(f"{app} {a['share']:.1f}% (declared {_num(a['declared'])}%, accepts "
                     f"{a['accepts'][0]:.1f}%-{a['accepts'][1]:.1f}%)" for app, a in split["apps"].items())
    verdict = "REJECTED" if split["rejected"] else "ok"
    return f"  weights, n={split['n']}: {apps}; split {verdict} ({p_text(split['p_value'])})"


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def rows(results: dict[str, EntrypointResult]) -> list[dict[str, Any]]:
    return [route_row(name, rr) for name, res in results.items() for rr in res.routes.values()]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def render(results: dict[str, EntrypointResult], total_s: float, mode: str) -> list[str]:
    sent = sum(r.requests_sent for r in results.values())
    lines = [f"{len(results)} entry points, {sent} requests, {total_s:.2f}s probing ({mode})",
             f"{'entry point':<16}{'route':<32}{'sent':>5}{'pods':>5}{'p50ms':>8}{'p95ms':>8}  share per pod"]
    for row in rows(results):
        shares = ", ".join(f"{pod[-5:]} {pct:.0f}%" for pod, pct in row["share"].items()) or "-"
        lines.append(f"{row['entrypoint']:<16}{row['route']:<32}{row['sent']:>5}{row['replicas']:>5}"
                     f"{_ms(row['p50_ms']):>8}{_ms(row['p95_ms']):>8}  {shares}")
        if "split" in row:
            lines.append(split_line(row["split"]))
    lines.append("per entry point: " + ", ".join(f"{n} {r.elapsed_s:.2f}s" for n, r in results.items()))
    return lines


def report(results: dict[str, EntrypointResult], total_s: float, mode: str) -> dict[str, Any]:
    """The machine-readable form (hidden --report-json), used by the benchmark."""
    return {
        "mode": mode, "probe_seconds": total_s,
        "requests": sum(r.requests_sent for r in results.values()),
        "entrypoints": {n: {"seconds": r.elapsed_s, "requests": r.requests_sent} for n, r in results.items()},
        "routes": rows(results),
    }
