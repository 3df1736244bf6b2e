"""`python -m labtools class plan|preflight|up|smoke|destroy|report --roster FILE`: `./lab class`.

plan is offline; preflight reads the account; up, smoke and destroy run every student's lab K at a
time (labtools/class_run.py) and end with the class report (labtools/class_report.py). Live lines
go to stderr; the report to stdout, as text or, with --json, as one JSON document.
Exit: 0 all went well; 1 some lab did not (or the account cannot hold the class); 2 bad input
(the roster, arguments, no backend or Pulumi CLI); 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from labtools import UsageError
from labtools.roster import Roster, RosterError, load_roster
from labtools.stack_file import settings_dir
from stacks import names
from stacks.config_reader import parse_cidr

COMMANDS = ("plan", "preflight", "up", "smoke", "destroy", "report")
PULUMI = ("up", "smoke", "destroy")


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of labs at a time, 1 or more")
    return int(text)


def cidr(text: str) -> str:
    if parse_cidr(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an IPv4 CIDR block such as 203.0.113.7/32")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subs = parser.add_subparsers(dest="class_command", required=True, metavar="STEP")
    helps = {"plan": "offline: each student's stack, cluster and settings; the class's cost, account needs, time",
             "preflight": "read-only: does the account hold every lab of the class at once?",
             "up": "build every student's lab, K at a time (the account's preflight first)",
             "smoke": "the smoke tests against every student's lab, K at a time",
             "destroy": "tear every lab down as ./lab destroy does (a dry run without --yes)",
             "report": "the class report from the results of earlier steps (the class workflow's last job)"}
    for name in COMMANDS:
        sub = subs.add_parser(name, help=helps[name], description=helps[name])
        sub.add_argument("--roster", required=True, type=Path, metavar="FILE", help="the class's roster (YAML)")
        sub.add_argument("--json", action="store_true", help="one JSON document on stdout instead of text")
        if name != "plan":
            sub.add_argument("--out", type=Path, metavar="DIR",
                             help="the class's results (default .lab-state/class/<class>)")
        if name in PULUMI:
            sub.add_argument("--only", action="append", default=[], metavar="ID",
                             help="only this student (id or stack; repeatable): a class workflow job")
        if name in ("plan", *PULUMI):
            sub.add_argument("--parallel", type=positive, metavar="K",
                             help="labs at a time (default maxParallel: the account's room, at most 10)")
        if name in ("up", "destroy"):
            sub.add_argument("--yes", action="store_true", help="act without asking (destroy: for real)")
        if name == "up":
            sub.add_argument("--skip-preflight", action="store_true", help="do not read the account first")
            sub.add_argument("--admit", action="append", default=[], type=cidr, metavar="CIDR",
                             help="also admit CIDR at every entry point (the class workflow: its runner)")
        if name == "smoke":
            sub.add_argument("pytest_args", nargs="*", metavar="-- PYTEST ARGS", help="passed to each smoke run")
        sub.set_defaults(_sub_parser=sub)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        roster = load_roster(args.roster)
    except RosterError as error:
        print(f"class: {error}", file=err)
        return 2
    if args.class_command == "plan":
        from labtools import class_plan, class_text

        plan = class_plan.build(roster, args.parallel)
        _emit(plan, args.json, out, class_text.print_plan)
        return 0
    if args.class_command == "preflight":
        return _preflight(roster, args, out, err)
    results = args.out or settings_dir() / ".lab-state" / "class" / (names.part(roster.class_name) or "class")
    if args.class_command == "report":
        return _report(roster, results, "report", args.json, out)
    return _steps(roster, results, args, out, err)


def _emit(doc: dict[str, Any], as_json: bool, out: TextIO, text) -> None:
    if as_json:
        json.dump(doc, out, indent=2, ensure_ascii=False)
        print(file=out)
    else:
        text(doc, out)


def _preflight(roster: Roster, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from labtools.account import Unreachable
    from labtools.class_preflight import preflight
    from labtools.class_text import print_preflight

    print(f"class preflight: asking AWS (read-only) whether it holds the {len(roster.students)} lab(s) of class "
          f"{roster.class_name}...", file=err)
    try:
        doc = preflight(roster)
    except Unreachable as error:
        print(f"class preflight: {error}", file=err)
        return 2
    _emit(doc, args.json, out, print_preflight)
    return 0 if doc["holds"] else 1


def _report(roster: Roster, results: Path, command: str, as_json: bool, out: TextIO) -> int:
    from labtools import class_report

    report = class_report.build(roster, results, dt.datetime.now(dt.timezone.utc), command)
    class_report.write(report, results)
    _emit(report, as_json, out, class_report.print_text)
    return 0


def _chosen(roster: Roster, only: list[str]):
    try:
        return [roster.student(ident) for ident in only] if only else list(roster.students)
    except RosterError as error:
        raise UsageError(f"--only: {error.problems[0]}") from None


def _steps(roster: Roster, results: Path, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from labtools.class_steps import run_step

    students = _chosen(roster, args.only)
    return run_step(roster, students, results, args, out, err)
