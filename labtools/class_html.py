"""The class report as one self-contained HTML page: inline styles, no script, no outside
resource, so it opens from an artifact or a file system as it is. Every value from a roster or
a stack's outputs is escaped; only http(s) URLs become links."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; }
p.sub { color: #555; margin: 0 0 16px; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; }
.state { display: inline-block; padding: 1px 8px; border-radius: 9px; color: #fff; font-size: 12px; }
.ready, .passed, .destroyed { background: #2e7d32; }
.failed, .destroy-failed, .error { background: #c62828; }
.interrupted, .not-started, .not-built, .not-run, .no-lab, .no-stack { background: #757575; }
.eps { margin: 0; padding-left: 16px; font-size: 12px; }
.err { color: #c62828; font-size: 12px; max-width: 420px; }
.counts span { margin-right: 12px; }
</style>"""


def _badge(text: str) -> str:
    return f'<span class="state {escape(text.replace(" ", "-"))}">{escape(text)}</span>'


def _link(href: str | None, text: str) -> str:
    return f'<a href="{escape(href, quote=True)}">{escape(text)}</a>' if href else escape(text)


def _entrypoints(eps: dict[str, Any]) -> str:
    if not eps:
        return ""
    items = []
    for name in sorted(eps):
        e = eps[name]
        url = e.get("url")
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            items.append(f"<li>{escape(name)}: {_link(url, url)}</li>")
        elif e.get("nodePort") is not None:
            items.append(f"<li>{escape(name)}: the public node's address, port {escape(str(e['nodePort']))}</li>")
    return f'<ul class="eps">{"".join(items)}</ul>'


def _row(r: dict[str, Any]) -> str:
    minutes = "" if r["minutes"] is None else f"{r['minutes']:.1f}"
    error = f'<div class="err">{escape(r["error"])} {_link(r["log"], "(log)") if r["log"] else ""}</div>' \
        if r["error"] else ""
    smoke = r["smoke"]
    verdict = _badge(smoke["verdict"])
    if smoke["report"]:
        verdict += f" {_link(smoke['report'], 'report')}"
    cost = "" if r["costSoFarUsd"] is None else f"${r['costSoFarUsd']:,.2f}"
    left = "" if r["hoursLeft"] is None else ("expired" if r["hoursLeft"] <= 0 else f"{r['hoursLeft']:.1f} h")
    kube = f"<br>{_link(r['kubeconfig'], 'kubeconfig')}" if r["kubeconfig"] else ""
    return (f'<tr data-student="{escape(r["stack"], quote=True)}"><td>{escape(r["id"])}</td>'
            f"<td><code>{escape(r['stack'])}</code>{kube}</td><td>{_badge(r['state'])}{error}</td>"
            f'<td class="num">{minutes}</td><td>{_entrypoints(r["entrypoints"])}</td><td>{verdict}</td>'
            f'<td class="num">{cost}</td><td class="num">{left}</td></tr>')


def page(report: dict[str, Any]) -> str:
    counts = "".join(f"<span>{_badge(k)} {v}</span>" for k, v in report["counts"].items())
    head = ("<tr><th>student</th><th>stack and cluster</th><th>state</th><th>minutes</th><th>entry points</th>"
            "<th>smoke</th><th>cost so far</th><th>expires in</th></tr>")
    rows = "".join(_row(r) for r in report["labs"])
    title = f"Class {report['class']}"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>{STYLE}'
            f"</head><body><h1>{escape(title)}</h1>"
            f'<p class="sub">{report["students"]} lab(s), roster {escape(report["roster"])}; last step: ./lab class '
            f"{escape(report['command'])}; cost so far and time left as of {escape(report['asOf'])}</p>"
            f'<p class="counts">{counts} <span>the ready labs bill ${report["readyHourlyCostUsd"]:,.2f} an hour '
            f"(a failed one bills for what it made until ./lab class destroy)</span></p>"
            f"<table>{head}{rows}</table></body></html>\n")
