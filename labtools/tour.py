"""`./lab tour [--stack NAME] [--run]`: the lessons of docs/lessons.md for the lab that is up.

Reads the stack's outputs without secrets (`pulumi stack output --json`: the kubeconfig
stays "[secret]", the tour needs none) or an outputs file, and prints each lesson's kubectl
and curl lines filled in with the lab's hostnames, node address and ports. With --run it
sends each curl's request once, through the smoke tests' own client, and prints what came
back beside what the lesson expects; kubectl lines are never run. Exit 0, 1 when a curl
that ran did not show what the lesson expects, 2 for bad outputs or flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

from labtools.lessons import GUIDE, LESSONS
from labtools.reach import STATE_DIR, kubeconfig_path
from labtools.tour_run import Outcome, run_step
from labtools.tour_steps import Step, Where, present, steps
from smoke_tests import cluster
from smoke_tests.outputs import Contract, ContractError, load_file, load_stack, parse_contract
from smoke_tests.probes import Settings

PARALLEL = 8  # requests in flight at once, as the smoke tests allow per entry point


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", metavar="NAME", help="the stack whose outputs to read (default dev)")
    parser.add_argument("--outputs", metavar="FILE", type=Path,
                        help="read the outputs from FILE (`pulumi stack output --json`) instead of the stack")
    parser.add_argument("--run", action="store_true",
                        help="run each curl (not kubectl) and print what came back beside what the lesson expects")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--node-address", metavar="ADDR",
                        help="the public node's address for the node ports (default: asked of the cluster "
                             "through .lab-state/NAME.kubeconfig, when ./lab kubeconfig wrote it)")
    parser.add_argument("--ca-dir", metavar="DIR", type=Path, default=STATE_DIR,
                        help="where to write the lab CA (a public certificate) for the TLS curls "
                             "(default ./%(default)s)")
    parser.add_argument("--request-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per request, with --run (default %(default)s)")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the lessons' commands for this lab; with --run, run the curls and judge them."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        source, contract = load(args)
    except ContractError as error:
        print(f"lab tour: {error}", file=err)
        return 2
    node, node_note = node_address(args, contract)
    where = Where(node=node, ca_files=write_cas(contract, args.ca_dir, args.stack, err))
    settings = Settings(request_timeout_s=args.request_timeout, backoff_initial_s=0.5, backoff_cap_s=2.0,
                        node_address=node, node_address_error=node_note)
    lessons = [(lesson, steps(lesson, contract, where) if present(lesson, contract) else None)
               for lesson in LESSONS]
    outcomes = run_all([s for _, found in lessons for s in found or [] if s.curl], contract, settings) \
        if args.run else {}
    report = as_report(source, node, node_note, where, lessons, outcomes)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True), file=out)
    else:
        print_text(report, out)
    return 1 if report["summary"]["differ"] else 0


def load(args: argparse.Namespace) -> tuple[str, Contract]:
    source = f"--outputs {args.outputs}" if args.outputs else f"--stack {args.stack}"
    data = load_file(args.outputs) if args.outputs else load_stack(args.stack, show_secrets=False)
    try:
        return source, parse_contract(data)
    except ContractError as error:
        raise ContractError(f"{source}: {error}") from None


def node_address(args: argparse.Namespace, contract: Contract) -> tuple[str | None, str]:
    """The public node's address, and where it came from (or why it is unknown)."""
    if args.node_address:
        return args.node_address, "--node-address"
    if not any(ep.node_port for ep in contract.entrypoints.values()):
        return None, "no node port in this lab"
    config = kubeconfig_path(args.stack)
    if args.outputs is None and config.is_file():
        api, why = cluster.core_api_e(config.read_text())
        address, why = cluster.public_node_address_e(api) if api else (None, why)
        if address:
            return address, f"the ExternalIP of the nodegroup=public node, asked through {config}"
        return None, f"unknown ({why}): give --node-address ADDR"
    return None, "unknown: give --node-address ADDR, or run ./lab kubeconfig first (the tour then asks the cluster)"


def write_cas(contract: Contract, folder: Path, stack: str, err: TextIO) -> dict[str, str]:
    """The lab CA of each TLS entry point, as a file for curl --cacert (entry point -> path)."""
    files = {}
    for name, ep in sorted(contract.entrypoints.items()):
        if not ep.ca_certificate:
            continue
        path = folder / f"{stack}-{name}-ca.pem"
        if not path.is_file() or path.read_text() != ep.ca_certificate:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(ep.ca_certificate)
            print(f"lab tour: wrote the lab CA of {name} (a public certificate) to {path}", file=err)
        files[name] = str(path)
    return files


def run_all(found: list[Step], contract: Contract, settings: Settings) -> dict[Step, Outcome]:
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="tour") as pool:
        results = list(pool.map(lambda s: run_step(s, contract, settings), found))
    return dict(zip(found, results))


def as_report(source: str, node: str | None, node_note: str, where: Where,
              lessons: list[tuple], outcomes: dict[Step, Outcome]) -> dict:
    entries, counts = [], {"ran": 0, "asExpected": 0, "differ": 0, "notRun": 0}
    for lesson, found in lessons:
        entry = {"number": lesson.number, "title": lesson.title, "guide": f"{GUIDE}, {lesson.heading}",
                 "posts": list(lesson.posts), "smokeChecks": [str(c) for c in lesson.checks],
                 "present": found is not None, "steps": []}
        for step in found or []:
            row = {"kind": step.kind, "command": step.command, "expect": step.expect}
            if step.curl:
                row.update(entrypoint=step.entry.name, check=step.label)
            outcome = outcomes.get(step)
            if outcome is not None:
                row["result"] = outcome.as_dict()
                key = "notRun" if outcome.ok is None else "asExpected" if outcome.ok else "differ"
                counts[key] += 1
                counts["ran"] += outcome.ok is not None
            entry["steps"].append(row)
        entries.append(entry)
    return {"source": source, "guide": GUIDE, "nodeAddress": node, "nodeAddressFrom": node_note,
            "caFiles": where.ca_files, "ran": bool(outcomes), "lessons": entries, "summary": counts}


def print_text(report: dict, out: TextIO) -> None:
    print(f"The lessons of {GUIDE} for {report['source']}.", file=out)
    stack = report["source"].split(" ", 1)[1] if report["source"].startswith("--stack") else "NAME"
    print(f"kubectl: run eval \"$(./lab kubeconfig --stack {stack})\" first.", file=out)
    print(f"NODE_IP: {report['nodeAddress'] or '$NODE_IP'} ({report['nodeAddressFrom']})", file=out)
    for lesson in report["lessons"]:
        posts = ", ".join(lesson["posts"])
        print(f"\n{lesson['number']}. {lesson['title']} (post{'s' if len(lesson['posts']) > 1 else ''} {posts})",
              file=out)
        if not lesson["present"]:
            print("   not in this lab: its entry points are not in the outputs (module off?)", file=out)
            continue
        print(f"   proved by: {'; '.join(lesson['smokeChecks'])}", file=out)
        for step in lesson["steps"]:
            print(f"   {step['command']}  # {step['expect']}" if step["expect"] else f"   {step['command']}", file=out)
            result = step.get("result")
            if result:
                verdict = {None: "NOT RUN", True: "as expected", False: "DIFFERS"}[result["ok"]]
                print(f"     -> {result['got']}: {verdict}", file=out)
                for problem in result["problems"]:
                    print(f"        {problem}", file=out)
    if report["ran"]:
        s = report["summary"]
        print(f"\n--run: {s['ran']} curls ran, {s['asExpected']} as expected, {s['differ']} differ, "
              f"{s['notRun']} not run", file=out)
