"""`python -m labtools reap [--yes] [--warn-within 1h] [--json] [--notice]`: `./lab reap`.

The real tools of labtools.reap: the Pulumi CLI (labtools.pulumi_cli) and, for each expired
lab, ./lab destroy's teardown (teardown_tools.destroy_lab). `--notice` is what every ./lab
command that uses the default local backend runs: it names the expired labs, and never
fails the command. `reap-summary FILE` renders a `reap --json` report as Markdown for the
reaper workflow's job summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TextIO

from labtools import pulumi_cli
from labtools.expiry import utc_now
from labtools.reap import (EXPIRED, EXPIRING, Destroyed, Lab, Reap, Tools, as_data, listing_lines, notice_lines,
                           parse_window, reap, summary_lines, verdict_text)


def destroy(stack: str, out: TextIO) -> Destroyed:
    from labtools.teardown_tools import destroy_lab

    result = destroy_lab(stack, True, out)
    return Destroyed(stack, result.exit_status, result.problems)


def real_tools(out: TextIO) -> Tools:
    return Tools(stacks=pulumi_cli.stacks, outputs=pulumi_cli.outputs, destroy=lambda stack: destroy(stack, out))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true",
                        help="destroy each expired lab (./lab destroy --stack NAME --yes), one at a time")
    parser.add_argument("--warn-within", default="1h", metavar="DURATION",
                        help="name the labs that expire within this time (default 1h; e.g. 30m, 2h, 1d)")
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout (the rest on stderr)")
    # Only name the expired labs, on stderr, and exit 0: what ./lab says with a local backend.
    parser.add_argument("--notice", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace, tools: Tools | None = None, now: datetime | None = None) -> int:
    """List the backend's labs by expiresAt; with --yes destroy the expired ones."""
    parse_window(args.warn_within)  # a bad value is a usage error, before any call
    now = now or utc_now()
    if args.notice:
        return _notice(args, tools, now)
    out = sys.stderr if args.json else sys.stdout
    tools = tools or real_tools(out)

    def judged(listed: Reap) -> None:  # the list, before the first teardown's words
        for line in listing_lines(listed):
            print(line, file=out)
        out.flush()

    def starting(stack: str, i: int, of: int) -> None:
        _say(f"destroying expired lab {stack} ({i} of {of}), as ./lab destroy --stack {stack} --yes does")

    try:
        result = reap(args.yes, args.warn_within, tools, now, judged, starting)
    except KeyboardInterrupt:
        _say("interrupted; the labs not yet destroyed stay until the next ./lab reap --yes")
        return 130
    if result.error:
        print(listing_lines(result)[0], file=sys.stderr)
    for line in summary_lines(result):
        print(line, file=out)
    if args.json:
        print(json.dumps(as_data(result), indent=2, sort_keys=True))
    return result.exit_status


def _notice(args: argparse.Namespace, tools: Tools | None, now: datetime) -> int:
    try:
        result = reap(False, args.warn_within, tools or real_tools(sys.stderr), now)
    except Exception as err:  # noqa: BLE001 (a notice never stops the command it comes with)
        _say(f"could not check the backend for expired labs: {err}")
        return 0
    for line in notice_lines(result):
        _say(line)
    return 0


def _say(line: str) -> None:
    print(f"==> {line}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# reap-summary FILE: the job summary of the reaper workflow


def add_summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("report", help="what `./lab reap --json` wrote")


def markdown(data: dict) -> str:
    def cell(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["## Lab reaper", ""]
    if data.get("error"):
        return "\n".join(lines + [f"Could not list the stacks: {cell(data['error'])}", ""])
    failed = {f["stack"]: f for f in data.get("failed", [])}
    rows = []
    for lab in data.get("labs", []):
        said = verdict_text(Lab(lab["stack"], lab["verdict"], lab["expires_at"], lab["detail"]), data["warn_within"])
        if lab["stack"] in failed:
            said = f"**destroy failed** (exit {failed[lab['stack']]['exit_status']}): " + \
                   "; ".join(failed[lab["stack"]]["problems"])
        elif lab.get("destroyed"):
            said = "destroyed"
        rows.append(f"| {cell(lab['stack'])} | {cell(said)} |")
    if not rows:
        return "\n".join(lines + ["No stacks in the backend: nothing to reap.", ""])
    expired = [lab["stack"] for lab in data["labs"] if lab["verdict"] == EXPIRED]
    soon = [lab["stack"] for lab in data["labs"] if lab["verdict"] == EXPIRING]
    return "\n".join(lines + ["| stack | outcome |", "| --- | --- |", *rows, "",
                              f"- destroyed: {', '.join(data.get('destroyed', [])) or 'none'}",
                              f"- failed: {', '.join(failed) or 'none'}",
                              f"- expired, not destroyed (dry run): {', '.join(expired) or 'none'}"
                              if not data.get("yes") else f"- expired: {', '.join(expired) or 'none'}",
                              f"- expires within {data['warn_within']}: {', '.join(soon) or 'none'}", ""])


def run_summary(args: argparse.Namespace) -> int:
    """Markdown from a `reap --json` report; a missing or broken one is said, not an error."""
    try:
        data = json.loads(Path(args.report).read_text())
        text = markdown(data)
    except (OSError, ValueError, KeyError, TypeError) as err:
        text = f"## Lab reaper\n\nThe reaper left no readable report ({args.report}: {err}); see the job's log.\n"
    print(text, end="")
    return 0
