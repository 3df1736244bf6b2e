"""`./lab class up|smoke|destroy`: what comes before the labs run (the backend, the Pulumi CLI, the
account's preflight, a yes), how many run at once, and the class report after them."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path
from typing import TextIO

from labtools.class_plan import DEFAULT_MAX_PARALLEL, max_parallel
from labtools.roster import Roster, Student
from labtools.stack_file import settings_dir

DONE = {"up": {"ready"}, "smoke": {"passed"}, "destroy": {"destroyed", "no stack"}}


def say(line: str) -> None:
    print(f"==> {line}", file=sys.stderr, flush=True)


def backend_problem() -> str | None:
    if not os.environ.get("PULUMI_BACKEND_URL"):
        return ("PULUMI_BACKEND_URL is not set: ./lab class sets the state backend as ./lab up does "
                "(./.lab-state, or the one you set)")
    if not (os.environ.get("PULUMI_CONFIG_PASSPHRASE") or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")):
        return "neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set: ./lab class sets one"
    return None


def pulumi_command():
    """The Automation API's handle on the CLI, made once: its `pulumi version` check runs here."""
    from pulumi import automation as auto

    try:
        return auto.PulumiCommand(), None
    except FileNotFoundError:
        return None, "the Pulumi CLI (pulumi) is not on PATH"
    except (auto.InvalidVersionError, OSError) as err:
        return None, f"the Pulumi CLI cannot be used: {err}"


def parallel_for(roster: Roster, students: list[Student], args: argparse.Namespace, err: TextIO) -> int | None:
    """--parallel, or the account's maxParallel (after its preflight, for up); None: it cannot hold the class."""
    if args.class_command == "up" and not args.skip_preflight:
        from labtools.account import Unreachable
        from labtools.class_preflight import preflight
        from labtools.class_text import print_preflight

        say(f"the account's preflight for the {len(roster.students)} lab(s) of the class (--skip-preflight skips it)")
        try:
            doc = preflight(roster)
        except Unreachable as error:
            print(f"class preflight: {error}", file=err)
            return None
        print_preflight(doc, err)
        if not doc["holds"]:
            return None
        best = doc["maxParallel"]
    else:
        best = max_parallel(len(roster.students), None)
    return min(args.parallel or best, len(students))


def confirm(roster: Roster, students: list[Student], args: argparse.Namespace) -> str | None:
    """None to go on, else why not (up asks once for the whole class; destroy without --yes is a dry run)."""
    if args.class_command == "smoke" or args.yes:
        return None
    if args.class_command == "destroy":
        return "dry run"
    if not sys.stdin.isatty():
        return f"class up builds {len(students)} lab(s), each billed by the hour: pass --yes"
    answer = input(f"Build {len(students)} lab(s) of class {roster.class_name} (each billed by the hour)? [y/N] ")
    return None if answer.strip().lower() in ("y", "yes") else "not confirmed"


def dry_run(students: list[Student], out: TextIO) -> None:
    print(f"Dry run: ./lab class destroy --yes would tear down {len(students)} lab(s), each as "
          "./lab destroy --stack NAME --yes does (pulumi destroy, sweep, audit):", file=out)
    for s in students:
        print(f"  {s.id}: stack {s.stack}, cluster {s.cluster_name}", file=out)
    print("Nothing was deleted.", file=out)


def run_step(roster: Roster, students: list[Student], results: Path, args: argparse.Namespace,
             out: TextIO, err: TextIO) -> int:
    from labtools import class_report
    from labtools.class_ops import Context
    from labtools.class_run import Interrupted, run_class

    command = args.class_command
    problem = backend_problem()
    pulumi, why = (None, None) if problem else pulumi_command()
    if problem or why:
        print(f"class {command}: {problem or why}", file=err)
        return 2
    stop = confirm(roster, students, args)
    if stop == "dry run":
        dry_run(students, out)
        return 0
    if stop:
        print(f"class {command}: {stop}", file=err)
        return 2
    parallel = parallel_for(roster, students, args, err)
    if parallel is None:
        return 1
    ctx = Context(roster, settings_dir(), results.resolve(), pulumi, admit=tuple(getattr(args, "admit", ())),
                  smoke_args=tuple(getattr(args, "pytest_args", ())))
    say(f"class {command}: {len(students)} lab(s), {parallel} at a time (at most {DEFAULT_MAX_PARALLEL} unless "
        f"--parallel); each lab's own lines in {ctx.out}/<stack>/{command}.log")
    status = 0
    try:
        outcomes = run_class(ctx, students, command, parallel, say)
    except Interrupted as stopped:
        outcomes, status = stopped.outcomes, 130
    report = class_report.build(roster, ctx.out, dt.datetime.now(dt.timezone.utc), command)
    class_report.write(report, ctx.out)
    if args.json:
        import json

        json.dump(report, out, indent=2, ensure_ascii=False)
        print(file=out)
    else:
        class_report.print_text(report, out)
    if status:
        return status
    return 0 if all(o.state in DONE[command] for o in outcomes.values()) else 1
