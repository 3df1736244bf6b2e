"""`./lab preflight [--stack NAME] [--labs N] [--json]`: does the account hold the lab?

The settings checks refuse bad settings before anything is registered; this asks
the account, where a first `up` most often fails ten minutes in (VpcLimitExceeded,
AddressLimitExceeded, VcpuLimitExceeded, an instance type a zone lacks, a version
EKS does not offer, a cluster name taken). Read-only boto3 calls (labtools/account.py),
judged against what the lab model needs (labtools/quotas.py, account_judge.py); no
Pulumi CLI needed. Exit 0: the account holds the lab(s); 1: it does not (every
shortfall listed, with the command that asks for more); 2: bad arguments or
settings, no credentials, no network.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import TextIO

from labtools import UsageError
from labtools.account import Unreachable, read_account
from labtools.account_judge import SHORT, WARN, Check, judge
from labtools.stack_file import known_stacks, settings_dir, stack_settings
from stacks.config_reader import SettingsError
from stacks.model import LabModel, lab_model

SKIP_FLAG = "--skip-preflight"
NEW_STACKS_FROM = "dev"  # `./lab up` starts a new stack from Pulumi.dev.yaml (the lab script's select_stack)
WIDTH = 100


def labs_count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number of labs, 1 or more")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", metavar="NAME", help="read Pulumi.NAME.yaml (default %(default)s)")
    parser.add_argument("--labs", type=labs_count, default=1, metavar="N",
                        help="check room for N labs like this one (a class); default 1")
    parser.add_argument("--json", action="store_true", help="print one JSON document with every check")
    # As ./lab up runs it (the lab script's own flag): a stack without its file starts from
    # Pulumi.dev.yaml, the -c KEY=VALUE among the pulumi up arguments after -- apply, and
    # SKIP_FLAG among them skips the check.
    parser.add_argument("--up", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("pulumi_args", nargs="*", help=argparse.SUPPRESS)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Check the account's quotas, usage and offerings against the lab's needs."""
    out, err = out or sys.stdout, err or sys.stderr
    if args.pulumi_args and not args.up:
        raise UsageError(f"unexpected arguments: {' '.join(args.pulumi_args)} (pulumi up arguments need --up)")
    if args.up and SKIP_FLAG in args.pulumi_args:
        print(f"==> !!! {SKIP_FLAG}: the account's quotas, offerings and the cluster name are NOT checked; a "
              "shortfall will stop pulumi up midway, with a half-built stack to destroy", file=err)
        return 0
    try:
        model = lab_model(settings_for(args))
    except SettingsError as error:
        print(f"preflight: {error}", file=err)
        return 2
    s = model.settings
    print(f"preflight: asking AWS (read-only) whether {s.region} holds {args.labs} lab(s) of stack {s.stack}...",
          file=err)
    try:
        facts = read_account(model)
    except Unreachable as error:
        print(f"preflight: {error}", file=err)
        return 2
    checks = judge(model, facts, args.labs)
    account = facts.value("identity")
    if args.json:
        json.dump(document(model, account, args.labs, checks), out, indent=2)
        print(file=out)
    else:
        print_text(model, account, args.labs, checks, out)
    return 1 if any(c.verdict == SHORT for c in checks) else 0


def settings_for(args: argparse.Namespace):
    """The stack's settings; with --up, as `./lab up` will hand them to pulumi up."""
    have = (settings_dir() / f"Pulumi.{args.stack}.yaml").is_file()
    if not have and not (args.up and (settings_dir() / f"Pulumi.{NEW_STACKS_FROM}.yaml").is_file()):
        raise UsageError(f"argument --stack: no Pulumi.{args.stack}.yaml in {settings_dir()}; "
                         f"stacks available: {', '.join(known_stacks()) or '(none)'}")
    overrides = config_overrides(args.pulumi_args) if args.up else {}
    return stack_settings(args.stack, overrides=overrides, file_of=None if have else NEW_STACKS_FROM, secrets=False)


def config_overrides(pulumi_args: list[str]) -> dict[str, str]:
    """The `-c KEY=VALUE` / `--config KEY=VALUE` / `--config=KEY=VALUE` of pulumi up's arguments."""
    found, i = {}, 0
    while i < len(pulumi_args):
        arg, pair = pulumi_args[i], None
        if arg in ("-c", "--config") and i + 1 < len(pulumi_args):
            pair, i = pulumi_args[i + 1], i + 1
        elif arg.startswith("--config="):
            pair = arg[len("--config="):]
        key, sep, value = (pair or "").partition("=")
        if sep:
            found[key] = value
        i += 1
    return found


def document(model: LabModel, account: str | None, labs: int, checks: list[Check]) -> dict:
    s = model.settings
    return {"stack": s.stack, "region": s.region, "account": account, "clusterName": s.cluster_name, "labs": labs,
            "holds": not any(c.verdict == SHORT for c in checks), "checks": [c.as_json() for c in checks]}


def print_text(model: LabModel, account: str | None, labs: int, checks: list[Check], out: TextIO) -> None:
    def p(line: str = "") -> None:
        print(line, file=out)

    s = model.settings
    p(f"Account {account or '(unknown)'} in {s.region}: room for {labs} lab(s) of stack {s.stack} "
      f"(cluster {s.cluster_name})?")
    p()
    p(f"  {'check':<48} {'quota':<11} {'value':>6} {'used':>5} {'needed':>6}  verdict")
    for c in checks:
        value = "" if c.value is None else f"{c.value}{'*' if c.assumed else ''}"
        used = "?" if c.quotaCode and c.used is None else "" if c.used is None else str(c.used)
        needed = "" if c.needed is None else str(c.needed)
        p(f"  {c.name[:48]:<48} {c.quotaCode or '':<11} {value:>6} {used:>5} {needed:>6}  {c.verdict}")
    if any(c.assumed for c in checks):
        p("  * assumed: AWS's default, where Service Quotas gave no value (permissions, or a quota it does not know)")
    for verdict, title in ((SHORT, "shortfall"), (WARN, "warning")):
        found = [c for c in checks if c.verdict == verdict]
        if found:
            p()
            p(f"{len(found)} {title}{'s' if len(found) > 1 else ''}:")
            for c in found:
                text = c.message if c.quotaCode else f"{c.name}: {c.message}"
                p(textwrap.fill(text, WIDTH, initial_indent="  - ", subsequent_indent="    ",
                                break_on_hyphens=False, break_long_words=False))
                if c.request:
                    p(f"      {c.request}")  # on one line, to copy
    p()
    shorts = sum(c.verdict == SHORT for c in checks)
    if shorts:
        p(f"The account cannot hold {'the lab' if labs == 1 else f'{labs} labs'}: {shorts} shortfall(s) above.")
    else:
        p(f"The account holds {'the lab' if labs == 1 else f'{labs} labs'}"
          f"{' (see the warnings)' if any(c.verdict == WARN for c in checks) else ''}.")

