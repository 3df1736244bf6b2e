"""`./lab plan`: see the lab before paying for it.

Runs the real program offline under the simulated cloud (labtools/simulate.py),
with the stack's settings validated exactly as `pulumi up` would, and shows what
it would build: the resource tree and every Kubernetes object as YAML (from the
simulated graph), the hourly cost and the time to a ready lab (from the lab model,
as the stack outputs give them), each entry point's packet path and who may reach
it. Nothing is created; no credentials needed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import pulumi

from labtools import UsageError, quotas, simulate
from labtools.diagram import diagram
from labtools.manifests import write_manifests
from labtools.packet_paths import packet_paths
from labtools.plan_text import COMPONENT_PREFIX, print_report
from labtools.simulate import Graph, Resource, run_program
from labtools.stack_file import known_stacks, stack_config, stack_settings
from stacks import estimates, fit, prices
from stacks.model import LabModel, lab_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", metavar="NAME",
                        help="read Pulumi.NAME.yaml (default %(default)s)")
    parser.add_argument("--manifests", default="manifests", metavar="DIR", type=Path,
                        help="folder for the Kubernetes objects and Helm values (default ./%(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--diagram", metavar="FILE",
                        help="also write the packet paths as a Mermaid flowchart to FILE ('-': print only that)")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Show what the lab would build, cost and take, offline (no AWS, no Pulumi CLI)."""
    out, err = out or sys.stdout, err or sys.stderr
    _check_stack(args.stack)
    _check_outputs(args)
    if args.manifests.exists() and not args.manifests.is_dir():
        raise UsageError(f"argument --manifests: {args.manifests} exists and is not a folder")
    now = dt.datetime.now(dt.timezone.utc)

    print(f"plan: simulating the program for stack {args.stack} (offline, nothing is created)...", file=err)
    with contextlib.redirect_stdout(err):  # keep stdout for the plan (one JSON object with --json)
        graph, error = run_program(stack=args.stack, now=now)
    if error is not None:
        return _program_failed(error, err)
    model = lab_model(stack_settings(args.stack, now))
    if args.diagram == "-":
        out.write(diagram(model))
        return 0
    if args.diagram:
        Path(args.diagram).write_text(diagram(model))
        print(f"plan: wrote the Mermaid flowchart to {args.diagram}", file=err)

    k8s_count = len(graph.k8s_objects())
    print(f"plan: writing {k8s_count} manifests and the Helm values to {args.manifests}/...", file=err)
    files = write_manifests(graph, args.manifests, args.stack)
    report = build_report(graph, model)
    report["manifests"] = {"dir": str(args.manifests.resolve()), "files": [f.name for f in files]}
    if args.json:
        json.dump(report, out, indent=2)
        print(file=out)
    else:
        print_report(report, graph, out)
    return 0


def _check_stack(stack: str) -> None:
    root = simulate.settings_dir()
    if not (root / f"Pulumi.{stack}.yaml").is_file():
        raise UsageError(f"argument --stack: no Pulumi.{stack}.yaml in {root}; "
                         f"stacks available: {', '.join(known_stacks()) or '(none)'}")
    stack_config(stack)  # a file the CLI would not read: StackFileError before any work


def _check_outputs(args: argparse.Namespace) -> None:
    """One thing on stdout: `--diagram -` prints only the chart, `--json` only the JSON object."""
    if args.json and args.diagram == "-":
        raise UsageError("argument --diagram: '-' prints only the diagram, so it cannot go with --json; "
                         "write the diagram to a file instead (--json --diagram FILE)")


def _program_failed(error: BaseException, err: TextIO) -> int:
    if isinstance(error, pulumi.RunError):  # the program's own message: bad settings
        print(f"plan: {error}", file=err)
        return 2
    print(f"plan: the program failed under the simulated cloud: {type(error).__name__}: {error}", file=err)
    return 1


def component_of(graph: Graph, r: Resource) -> str:
    """Type of the lab component that holds `r` ("" at the top level)."""
    by_urn = {x.urn: x for x in graph.resources}
    parent = by_urn.get(r.parent)
    while parent is not None and not parent.type.startswith(COMPONENT_PREFIX):
        parent = by_urn.get(parent.parent)
    return parent.type if parent else ""


def build_report(graph: Graph, model: LabModel) -> dict[str, Any]:
    s = model.settings
    report: dict[str, Any] = {
        "stack": s.stack, "region": s.region,
        "resources": [{"type": r.type, "name": r.name, "component": component_of(graph, r) or None}
                      for r in graph.resources],
        "counts": dict(sorted(Counter(r.type for r in graph.resources).items())),
    }
    report.update(cost_report(model))
    minutes, steps = estimates.critical_path(estimates.model_nodes(model))
    report["provisionMinutes"] = round(minutes, 1)
    report["criticalPath"] = [{"type": x.type, "name": x.name, "minutes": x.minutes} for x in steps]
    report["pods"] = pods_report(model)
    report["entrypoints"] = {name: "\n".join(" -> ".join(p) for p in paths)
                             for name, paths in packet_paths(graph, s).items()}
    # Who may reach each entry point (lab:clientCidrs), and what lets only them in.
    report["entrypointSources"] = {name: {"cidrs": list(e.sources), "by": e.guard}
                                   for name, e in model.entrypoints.items()}
    report["account"] = quotas.plan_report(model)
    return report


def pods_report(model: LabModel) -> dict[str, Any]:
    """Pods per node group under the VPC CNI's limits, and the pods that may run anywhere."""
    groups = fit.group_pods(model)
    shared = fit.shared_pods(model)
    return {"groups": [{"name": g.name, "nodes": g.nodes, "instanceType": g.instance_type, "capacity": g.capacity,
                        "daemonsets": g.daemonsets, "apps": g.apps, "free": g.free} for g in groups],
            "shared": shared, "freeAfterShared": sum(g.free for g in groups) - sum(shared.values())}


def cost_report(model: LabModel) -> dict[str, Any]:
    try:
        items = prices.cost_items(model)
    except prices.PriceError as err:
        return {"hourlyCostUsd": None, "dailyCostUsd": None, "costItems": [], "moduleCostsUsd": {},
                "costError": str(err), "pricesAsOf": prices.PRICES_AS_OF.isoformat()}
    hourly = prices.hourly(items)
    return {
        "hourlyCostUsd": round(hourly, 4), "dailyCostUsd": round(24 * hourly, 2),
        "costItems": [{"what": i.what, "module": i.module, "quantity": i.quantity,
                       "unitUsdHour": i.unit_usd_hour, "usdHour": i.usd_hour} for i in items],
        "moduleCostsUsd": {k: round(v, 4) for k, v in prices.module_costs(model.settings, items).items()},
        "pricesAsOf": prices.PRICES_AS_OF.isoformat(),
    }
