"""`python -m labtools teardown --stack NAME [--yes] [--json] [-- PULUMI ARGS]`: `./lab destroy`.

The real tools of the teardown sequence (labtools.teardown): the Pulumi CLI as a
subprocess, the sweep and the audit in this process; and where the lab's cluster and
region come from (the stack's outputs, or after an `up` that stopped midway its settings).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence, TextIO

from labtools import UsageError
from labtools.aws import cluster_name, region_name
from labtools.teardown import (Ran, Step, Tools, outcome_line, print_json, starting_line, summary_lines,
                               teardown)

# POSIX's "command not found", for a pulumi that vanished after ./lab checked for it.
NOT_FOUND = 127


def pulumi_destroy(stack: str, yes: bool, extra: Sequence[str], out: TextIO) -> Ran:
    """`pulumi destroy`, its prompt on this terminal. A Ctrl-C (or `timeout --signal=INT`)
    reaches Pulumi too, which then finishes what is in flight and records it in the
    state; this process only notes it, and must not kill Pulumi meanwhile (as
    subprocess.run would on KeyboardInterrupt)."""
    argv = ["pulumi", "destroy", "--stack", stack, *(["--yes"] if yes else []), *extra]
    interrupts: list[int] = []
    sys.stdout.flush()
    sys.stderr.flush()
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupts.append(signum))
    try:
        status = subprocess.Popen(argv, stdout=None if out is sys.stdout else out).wait()
    except FileNotFoundError:
        print("error: the Pulumi CLI (pulumi) is not on PATH", file=sys.stderr)
        status = NOT_FOUND
    finally:
        signal.signal(signal.SIGINT, previous)
    return Ran(status, bool(interrupts) or status == -signal.SIGINT)


def run_sweep(cluster: str, region: str, yes: bool, out: TextIO) -> Ran:
    from labtools import sweep

    parser = argparse.ArgumentParser(prog="./lab sweep")
    sweep.add_sweep_arguments(parser)
    args = parser.parse_args(["--cluster", cluster, "--region", region, *(["--yes"] if yes else [])])
    status = sweep.run_sweep(args, out)
    out.flush()  # its report before the next step's line, when stdout is a pipe
    return Ran(status)


def run_audit(cluster: str, region: str, out: TextIO) -> Ran:
    from labtools import audit

    parser = argparse.ArgumentParser(prog="./lab audit")
    audit.add_audit_arguments(parser)
    status = audit.run_audit(parser.parse_args(["--cluster", cluster, "--region", region]), out)
    out.flush()
    return Ran(status)


def real_tools(extra: Sequence[str], out: TextIO) -> Tools:
    return Tools(destroy=lambda stack, yes: pulumi_destroy(stack, yes, extra, out),
                 sweep=lambda cluster, region, yes: run_sweep(cluster, region, yes, out),
                 audit=lambda cluster, region: run_audit(cluster, region, out))


def stack_output(stack: str, name: str) -> str:
    """A stack output, or "" (an `up` that stopped midway wrote none)."""
    try:
        done = subprocess.run(["pulumi", "stack", "output", name, "--stack", stack], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def lab_identity(stack: str, project: Path | None = None, output=stack_output) -> tuple[str | None, str | None, str]:
    """(cluster, region, where they came from), or (None, None, why not)."""
    cluster, region, source = output(stack, "clusterName"), output(stack, "region"), "the stack's outputs"
    if not (cluster and region):
        from labtools.identity import identity
        from stacks.config_reader import SettingsError

        try:
            cluster, region = identity(stack, project)
        except (FileNotFoundError, SettingsError) as err:
            return None, None, str(err)
        source = f"Pulumi.{stack}.yaml"
    try:
        return cluster_name(cluster), region_name(region), source
    except argparse.ArgumentTypeError as err:
        return None, None, f"{source}: {err}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="the stack to destroy")
    parser.add_argument("--cluster", type=cluster_name, help="the lab's cluster (default: from the stack)")
    parser.add_argument("--region", type=region_name, help="its region (default: from the stack)")
    parser.add_argument("--yes", action="store_true",
                        help="destroy without Pulumi's prompt, sweep for real, and retry a refused destroy")
    parser.add_argument("--json", action="store_true",
                        help="the steps as JSON on stdout (everything else goes to stderr)")
    parser.add_argument("pulumi_args", nargs="*", metavar="-- PULUMI ARGS", help="passed to pulumi destroy")


def run(args: argparse.Namespace, tools: Tools | None = None) -> int:
    """Destroy a stack, sweep and audit; retry a refused destroy once after the sweep."""
    if (args.cluster is None) != (args.region is None):
        raise UsageError("--cluster and --region go together (or neither: both are read from the stack)")
    out = sys.stderr if args.json else sys.stdout
    cluster, region = args.cluster, args.region
    if cluster is None:
        cluster, region, source = lab_identity(args.stack)
        _say(f"lab of stack {args.stack}: cluster {cluster} in {region} (from {source})" if cluster
             else f"no cluster known for stack {args.stack}: {source}")
    tools = tools or real_tools(args.pulumi_args, out)

    def starting(name: str, attempt: int, _command: str) -> None:
        _say(starting_line(name, attempt, cluster, region, args.stack))

    def finished(step: Step) -> None:
        _say(outcome_line(step, args.yes))

    try:
        result = teardown(args.stack, cluster, region, args.yes, tools, starting, finished)
    except KeyboardInterrupt:
        _say(f"interrupted; to finish: ./lab destroy --stack {args.stack} --yes")
        return 130
    for line in summary_lines(result):
        _say(line)
    if args.json:
        print_json(result, sys.stdout)
    return result.exit_status


def _say(line: str) -> None:
    print(f"==> {line}", file=sys.stderr, flush=True)
