"""`python -m labtools <command> ...`: the lab's Python-side tools.

Each subcommand is one entry in COMMANDS: a function that adds its arguments
to a subparser, and a function that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

import importlib

from labtools import UsageError

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

# name -> (module, its add-arguments function, its run function, summary). A module is
# imported only when its command runs: the plan needs no boto3, the sweep no Pulumi.
COMMANDS: dict[str, tuple[str, str, str, str]] = {
    "sweep": ("labtools.sweep", "add_sweep_arguments", "run_sweep",
              "Delete what the controllers left for a cluster (dry run without --yes)."),
    "audit": ("labtools.audit", "add_audit_arguments", "run_audit",
              "Exit 1 and list what is left of a cluster (or of expired labs)."),
    "mutate": ("labtools.mutate", "add_arguments", "run",
               "Mutation testing of the pure modules: per module the score and every surviving mutant."),
    "plan": ("labtools.plan", "add_arguments", "run",
             "Show what the lab would build, cost and take, offline (no AWS, no Pulumi CLI)."),
    "identity": ("labtools.identity", "add_arguments", "run", "Print the cluster name and region of a stack's settings."),
}


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
    try:
        return args._run(args)
    except UsageError as err:
        args._parser.error(str(err))  # exits 2, like argparse's own checks
    return 2


if __name__ == "__main__":
    sys.exit(main())
