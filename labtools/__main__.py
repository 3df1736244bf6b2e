"""`python -m labtools <command> ...`: the lab's Python-side tools.

Each subcommand is one entry in COMMANDS: a function that adds its arguments
to a subparser, and a function that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

import importlib

from labtools import UsageError, credentials
from stacks.config_reader import SettingsError

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

# name -> (module, its add-arguments function, its run function, summary). A module is
# imported only when its command runs: the plan needs no boto3, the sweep no Pulumi.
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "sweep": ("labtools.sweep", "add_sweep_arguments", "run_sweep",
              "Delete what the controllers left for a cluster (dry run without --yes)."),
    "audit": ("labtools.audit", "add_audit_arguments", "run_audit",
              "Exit 1 and list what is left of a cluster (or of expired labs)."),
    "teardown": ("labtools.teardown_tools", "add_arguments", "run",
                 "Destroy a stack, sweep and audit; retry a refused destroy once after the sweep (./lab destroy)."),
    "reap": ("labtools.reap_tools", "add_arguments", "run",
             "List the backend's labs by expiresAt; with --yes destroy the expired ones, one at a time (./lab reap)."),
    "reap-summary": ("labtools.reap_tools", "add_summary_arguments", "run_summary",
                     "Render a `reap --json` report as Markdown (the reaper workflow's job summary)."),
    "mutate": ("labtools.mutate", "add_arguments", "run",
               "Mutation testing of the pure modules: per module the score and every surviving mutant."),
    "plan": ("labtools.plan", "add_arguments", "run",
             "Show what the lab would build, cost and take, offline (no AWS, no Pulumi CLI)."),
    "preflight": ("labtools.account_check", "add_arguments", "run",
                  "Check the account's quotas, usage and offerings for the lab, read-only (exit 1: it does not fit)."),
    "identity": ("labtools.identity", "add_arguments", "run", "Print the cluster name and region of a stack's settings."),
    "tour": ("labtools.tour", "add_arguments", "run",
             "The lessons' kubectl and curl commands for the lab that is up (--run: run the curls)."),
    "kubeconfig": ("labtools.reach", "add_kubeconfig_arguments", "run_kubeconfig",
                   "Write the stack's kubeconfig to .lab-state/NAME.kubeconfig (mode 600); print the export."),
    "env": ("labtools.reach", "add_env_arguments", "run_env",
            "Print the exports that point plain pulumi at the lab's state backend and passphrase file."),
    "credentials": ("labtools.credentials", "add_arguments", "run",
                    "Check the AWS credentials with the AWS CLI (told apart from a network failure)."),
    "class": ("labtools.class_cli", "add_arguments", "run",
              "A class of labs from a roster: plan, preflight, up, smoke, destroy, report (./lab class)."),
}
# Commands that call AWS: their credentials are checked once their arguments are good.
NEEDS_CREDENTIALS = {"sweep", "audit"}


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labtools", description=(__doc__ or "").strip().split("\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, add_name, run_name, summary) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=summary)
        if name == chosen:
            loaded = importlib.import_module(module)
            getattr(loaded, add_name)(sub)
            # Keep the subparser so a run function's UsageError prints its usage.
            sub.set_defaults(_run=getattr(loaded, run_name), _parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(chosen if chosen in COMMANDS else None).parse_args(argv)
    if args.command in NEEDS_CREDENTIALS:
        verdict = credentials.check_boto(args.region)
        print(f"==> {verdict.message}" if verdict.ok else f"{args.command}: {verdict.message}", file=sys.stderr)
        if not verdict.ok:
            return 2
    try:
        return args._run(args)
    except UsageError as err:
        args._parser.error(str(err))  # exits 2, like argparse's own checks
    except SettingsError as err:  # a broken stack file, bad settings: one message, no traceback
        print(f"{args.command}: {err}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
