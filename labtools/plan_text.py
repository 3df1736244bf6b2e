"""The offline plan as text: resource tree, counts, costs, time, packet paths, who may reach them."""

from __future__ import annotations

import textwrap
from typing import Any, TextIO

from labtools.simulate import Graph, Resource

WIDTH = 100
COMPONENT_PREFIX = "lab:index:"
ANYWHERE = "0.0.0.0/0"


def print_report(report: dict[str, Any], graph: Graph, out: TextIO) -> None:
    def p(line: str = "") -> None:
        print(line, file=out)

    p(f"Plan of stack {report['stack']} in {report['region']}: simulated offline, nothing was created.")
    p()
    for line in summary_lines(report):
        p(line)
    p()
    _print_tree(graph, p)
    _print_counts(report["counts"], p)
    m = report["manifests"]
    p(f"Kubernetes objects and Helm values: {len(m['files'])} files in {m['dir']}")
    p("  (Secrets redacted; IDs and ARNs in them are the simulation's placeholders)")
    p()
    _print_costs(report, p)
    _print_time(report, p)
    _print_pods(report["pods"], p)
    p("Packet paths (entry points of the stack output `entrypoints`)")
    for name, text in report["entrypoints"].items():
        for i, line in enumerate(text.splitlines()):
            p(_wrap(line, f"  {name + ':' if i == 0 else '':<16}"))
    p()
    p("Who may reach each entry point (lab:clientCidrs)")
    for name, src in report["entrypointSources"].items():
        text = f"{', '.join(src['cidrs'])} via {src['by']}"
        for i, line in enumerate(textwrap.wrap(text, WIDTH - 18)):
            p(f"  {name + ':' if i == 0 else '':<16}{line}")
    if any(ANYWHERE in src["cidrs"] for src in report["entrypointSources"].values()):
        p(f"  {ANYWHERE} is anyone: narrow lab:clientCidrs to [<your address>/32] (checkip.amazonaws.com)")
    _print_account(report["account"], p)


def _wrap(path: str, head: str) -> str:
    """A packet path folded at arrows to fit WIDTH columns."""
    lines, line = [], head
    for i, step in enumerate(path.split(" -> ")):
        piece = step if i == 0 else f" -> {step}"
        if len(line) + len(piece) > WIDTH and line.strip():
            lines.append(line)
            line = " " * (len(head) + 2) + piece.lstrip()
        else:
            line += piece
    return "\n".join([*lines, line])


def _print_tree(graph: Graph, p) -> None:
    p(f"Resources ({len(graph.resources)}) by component")
    components = [r for r in graph.resources if r.type.startswith(COMPONENT_PREFIX)]
    top = [r for r in graph.resources if r.parent not in {x.urn for x in graph.resources}
           and not r.type.startswith(COMPONENT_PREFIX)]
    for c in components:
        inside = _descendants(graph, c)
        p(f"  {c.type} {c.name} ({len(inside)})")
        for r in inside:
            p(f"    {r.name:<36} {r.type}")
    if top:
        p(f"  (top level) ({len(top)})")
        for r in top:
            p(f"    {r.name:<36} {r.type}")
    p()


def _descendants(graph: Graph, parent: Resource) -> list[Resource]:
    found = []
    for child in graph.children(parent):
        found += [child, *_descendants(graph, child)]
    return found


def _print_counts(counts: dict[str, int], p) -> None:
    p("Counts by type")
    for type_, n in counts.items():
        p(f"  {n:>3}  {type_}")
    p()


def _print_costs(report: dict[str, Any], p) -> None:
    p(f"Estimated cost in {report['region']} (on-demand list prices as of {report['pricesAsOf']},"
      " stacks/prices.py;")
    p("  without data transfer and LCU/NLCU usage: check the AWS pricing pages)")
    if report["hourlyCostUsd"] is None:
        p(f"  not estimated: {report['costError']}")
        p()
        return
    p(f"  {'item':<62} {'$/hour':>9}  module")
    for i in report["costItems"]:
        p(f"  {i['what'][:62]:<62} {i['usdHour']:>9.4f}  {i['module'] or '-'}")
    p(f"  {'total':<62} {report['hourlyCostUsd']:>9.4f}  = ${report['dailyCostUsd']:.2f} a day")
    p("  by module (those on; off ones cost nothing):")
    for k, v in report["moduleCostsUsd"].items():
        p(f"    {k:<24} ${v:.4f}/h")
    p()


def _print_pods(pods: dict[str, Any], p) -> None:
    p("Pods per node group (max pods per node under the VPC CNI; stacks/capacity.py)")
    p(f"  {'node group':<12} {'nodes':>5}  {'type':<10} {'pods':>5} {'DaemonSets':>10} {'apps':>5} {'free':>5}")
    for g in pods["groups"]:
        p(f"  {g['name']:<12} {g['nodes']:>5}  {g['instanceType']:<10} {g['capacity']:>5} {g['daemonsets']:>10} "
          f"{g['apps']:>5} {g['free']:>5}")
    shared = ", ".join(f"{n} {name}" for name, n in pods["shared"].items())
    for line in textwrap.wrap(f"on any node: {shared}; free after them: {pods['freeAfterShared']}", WIDTH - 4):
        p(f"  {line}")
    p()


def _print_time(report: dict[str, Any], p) -> None:
    p(f"Estimated time to a ready lab: ~{ready_minutes(report)} min (longest dependency chain;"
      " typical figures,")
    p("  not guarantees: stacks/estimates.py)")
    total = 0.0
    width = max((len(step["name"]) for step in report["criticalPath"]), default=0)
    for step in report["criticalPath"]:
        total += step["minutes"]
        p(f"{total:>5.1f} min +{step['minutes']:<4.1f} {step['name']:<{width}} {step['type']}")
    p()


def _print_account(account: dict[str, Any], p) -> None:
    """What the account must hold (labtools/quotas.py); ./lab preflight holds it against the account."""
    p()
    p("What the account must hold (./lab preflight checks it against the account's quotas and usage)")
    p(f"  {'quota':<40} {'code':<31} {'needed':>6} {'AWS default':>11}")
    for q in account["quotas"]:
        name = f"{q['name']} in {q['zone']}" if q["zone"] else q["name"]
        over = " !" if q["needed"] > q["awsDefault"] else ""
        p(f"  {name:<40} {q['serviceCode'] + ' ' + q['quotaCode']:<31} {q['needed']:>6} {q['awsDefault']:>11}{over}")
    if any(q["needed"] > q["awsDefault"] for q in account["quotas"]):
        p("  ! more than AWS's default: an account still at the default needs an increase first")
    rules = ", ".join(f"{group} {n}" for group, n in account["inboundRules"].items())
    offer = account["offerings"]
    for line in textwrap.wrap(
            f"Inbound rules per security group: {rules}. Also asked: {', '.join(offer['instanceTypes'])} offered in "
            f"{', '.join(offer['zones'])}; Kubernetes {account['kubernetesVersion']} offered by EKS; no other "
            f"EKS cluster named {account['clusterName']}.", WIDTH - 4):
        p(f"  {line}")


def ready_minutes(report: dict[str, Any]) -> str:
    """When the chain below ends, as its last line prints it (the header and the summary say
    the same number)."""
    return f"{sum(step['minutes'] for step in report['criticalPath']):.1f}"


# ---- the summary on top ---------------------------------------------------

def summary_lines(report: dict[str, Any]) -> list[str]:
    """The plan at a glance, before the details: what it costs, when it is ready, the ways in,
    and what the AWS account must hold for it."""
    return ["Summary", *_cost_summary(report), *_time_summary(report), *_entrypoints_summary(report),
            *_account_summary(report)]


def _account_summary(report: dict[str, Any]) -> list[str]:
    needs = ", ".join(f"{q['name']}{' in ' + q['zone'] if q['zone'] else ''} {q['needed']}"
                      for q in report["account"]["quotas"])
    return _field("account", f"{needs} (./lab preflight checks the account)")


def _cost_summary(report: dict[str, Any]) -> list[str]:
    if report["hourlyCostUsd"] is None:
        return _field("cost", f"not estimated: {report['costError']}")
    return _field("cost", f"${report['hourlyCostUsd']:.4f} an hour, ${report['dailyCostUsd']:.2f} a day "
                          f"(list prices of {report['pricesAsOf']}, traffic extra)")


def _time_summary(report: dict[str, Any]) -> list[str]:
    return _field("ready after", f"~{ready_minutes(report)} min (the longest dependency chain)")


def _entrypoints_summary(report: dict[str, Any]) -> list[str]:
    names = list(report["entrypoints"])
    return _field("entry points", f"{len(names)}: {', '.join(names)}" if names else "none")


def _field(label: str, text: str) -> list[str]:
    head = f"  {label + ':':<14}"
    return textwrap.wrap(text, WIDTH, initial_indent=head, subsequent_indent=" " * len(head))
