"""`python -m labtools <command> ...`: the lab's Python-side tools.

Each subcommand is one entry in COMMANDS: a function that adds its arguments
to a subparser, and a function that runs it and returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence

from labtools import UsageError, audit, identity, plan, sweep

AddArguments = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

COMMANDS: dict[str, tuple[AddArguments, Run]] = {
    "sweep": (sweep.add_sweep_arguments, sweep.run_sweep),
    "audit": (audit.add_audit_arguments, audit.run_audit),
    "plan": (plan.add_arguments, plan.run),
    "identity": (identity.add_arguments, identity.run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m labtools", description=(__doc__ or "").strip().split("\n")[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_arguments, run) in COMMANDS.items():
        summary = (run.__doc__ or "").strip().splitlines()[0] if run.__doc__ else None
        sub = subparsers.add_parser(name, help=summary, description=summary)
        add_arguments(sub)
        # Keep the subparser so a run function's UsageError prints its usage.
        sub.set_defaults(_run=run, _parser=sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args._run(args)
    except UsageError as err:
        args._parser.error(str(err))  # exits 2, like argparse's own checks
    return 2


if __name__ == "__main__":
    sys.exit(main())
