"""`python -m labtools teardown --stack NAME [--yes] [--json] [-- PULUMI ARGS]`: `./lab destroy`.

The real tools of the teardown sequence (labtools.teardown): EKS's DescribeCluster, the
Pulumi CLI as a subprocess (labtools.pulumi_cli), the sweep and the audit in this process;
and where the lab's cluster and region come from (the stack's outputs, or after an `up`
that stopped midway its settings). `destroy_lab` is the whole of it for one stack: what
`./lab destroy` runs, and `./lab reap` for each expired lab.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Sequence, TextIO

from labtools import UsageError
from labtools.aws import cluster_name, region_name
from labtools.gone_cluster import Eks
from labtools.pulumi_cli import NOT_FOUND, export, state_delete
from labtools.teardown import (Ran, Step, Teardown, Tools, outcome_line, print_json, starting_line,
                               summary_lines, teardown)

# pulumi-kubernetes drops an object it cannot reach from the state when this is "true"; a
# cluster this machine cannot reach may still run, and its Services' load balancers with it.
DELETE_UNREACHABLE = "PULUMI_K8S_DELETE_UNREACHABLE"


def pulumi_destroy(stack: str, yes: bool, extra: Sequence[str], out: TextIO) -> Ran:
    """`pulumi destroy`, its prompt on this terminal. A Ctrl-C (or `timeout --signal=INT`)
    reaches Pulumi too, which then finishes what is in flight and records it in the
    state; this process only notes it, and must not kill Pulumi meanwhile (as
    subprocess.run would on KeyboardInterrupt)."""
    argv = ["pulumi", "destroy", "--stack", stack, *(["--yes"] if yes else []), *extra]
    interrupts: list[int] = []
    sys.stdout.flush()
    sys.stderr.flush()
    env = {k: v for k, v in os.environ.items() if k != DELETE_UNREACHABLE}
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: interrupts.append(signum))
    try:
        status = subprocess.Popen(argv, stdout=None if out is sys.stdout else out, env=env).wait()
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


def describe_cluster(cluster: str, region: str) -> Eks:
    """EKS's answer: the cluster's status, gone (ResourceNotFoundException only), or the error."""
    from botocore.exceptions import BotoCoreError, ClientError

    from labtools.aws import error_text, make_session
    from labtools.inventory import cluster_status

    try:
        status = cluster_status(make_session(region).client("eks"), cluster)
    except ClientError as err:
        return Eks(error=error_text(err))
    except BotoCoreError as err:  # no credentials, no network
        return Eks(error=f"DescribeCluster: {err}")
    return Eks(status=status)


def real_tools(extra: Sequence[str], out: TextIO) -> Tools:
    return Tools(destroy=lambda stack, yes: pulumi_destroy(stack, yes, extra, out),
                 sweep=lambda cluster, region, yes: run_sweep(cluster, region, yes, out),
                 audit=lambda cluster, region: run_audit(cluster, region, out),
                 eks=describe_cluster, export=export,
                 state_delete=lambda stack, urns: state_delete(stack, urns, out))


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


def destroy_lab(stack: str, yes: bool, out: TextIO, tools: Tools | None = None, cluster: str | None = None,
                region: str | None = None, pulumi_args: Sequence[str] = ()) -> Teardown:
    """The teardown of one stack, each step said on stderr as it goes (KeyboardInterrupt passes)."""
    if cluster is None:
        cluster, region, source = lab_identity(stack)
        _say(f"lab of stack {stack}: cluster {cluster} in {region} (from {source})" if cluster
             else f"no cluster known for stack {stack}: {source}")
    if os.environ.get(DELETE_UNREACHABLE):
        _say(f"{DELETE_UNREACHABLE} is not passed on to pulumi destroy: Kubernetes objects leave the state "
             "without being deleted only once EKS says their cluster is gone")
    tools = tools or real_tools(pulumi_args, out)

    def starting(name: str, attempt: int, _command: str) -> None:
        _say(starting_line(name, attempt, cluster, region, stack))

    def finished(step: Step) -> None:
        _say(outcome_line(step, yes))

    result = teardown(stack, cluster, region, yes, tools, starting, finished, _say)
    for line in summary_lines(result):
        _say(line)
    return result


def run(args: argparse.Namespace, tools: Tools | None = None) -> int:
    """Destroy a stack, sweep and audit; retry a refused destroy once after the sweep."""
    if (args.cluster is None) != (args.region is None):
        raise UsageError("--cluster and --region go together (or neither: both are read from the stack)")
    out = sys.stderr if args.json else sys.stdout
    try:
        result = destroy_lab(args.stack, args.yes, out, tools, args.cluster, args.region, args.pulumi_args)
    except KeyboardInterrupt:
        _say(f"interrupted; to finish: ./lab destroy --stack {args.stack} --yes")
        return 130
    if args.json:
        print_json(result, sys.stdout)
    return result.exit_status


def _say(line: str) -> None:
    print(f"==> {line}", file=sys.stderr, flush=True)
