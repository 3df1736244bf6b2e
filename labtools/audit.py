"""`audit`: what is left of a cluster (exit 1 while anything is), or of expired labs."""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from labtools.aws import (PROJECT, TAG_CLUSTER, TAG_EXPIRES, TAG_PROJECT, TAG_STACK, Clients, add_region,
                          aws_errors, cluster_name)
from labtools.expiry import parse_expires, utc_now
from labtools.inventory import find_leftovers, find_tagged, print_leftovers, print_tagged

@dataclass(frozen=True)
class ExpiryFinding:
    """A lab resource whose lab:expires is past, missing or unreadable."""

    arn: str
    stack: str
    problem: str  # "expired" or "malformed"
    expires_raw: str | None
    expires: datetime | None = None


def find_expired(tagging, now: datetime | None = None) -> list[ExpiryFinding]:
    now = now or utc_now()
    findings = []
    for res in find_tagged(tagging, TAG_PROJECT, PROJECT):
        stack = res.tags.get(TAG_STACK) or "(no lab:stack tag)"
        raw = res.tags.get(TAG_EXPIRES)
        expires = parse_expires(raw) if raw is not None else None
        if expires is None:
            findings.append(ExpiryFinding(res.arn, stack, "malformed", raw))
        elif expires <= now:
            findings.append(ExpiryFinding(res.arn, stack, "expired", raw, expires))
    return findings


def _print_expiry(findings: list[ExpiryFinding], now: datetime, out: TextIO) -> None:
    by_stack: dict[str, list[ExpiryFinding]] = defaultdict(list)
    for f in findings:
        by_stack[f.stack].append(f)
    stamp = f"{now:%Y-%m-%dT%H:%M:%SZ}"
    print(f"{len(findings)} lab resource(s) expired or with a bad {TAG_EXPIRES} (now {stamp}):", file=out)
    for stack in sorted(by_stack):
        print(f"\nstack {stack}:", file=out)
        for f in by_stack[stack]:
            if f.problem == "expired":
                print(f"  - expired {f.expires_raw}: {f.arn}", file=out)
            elif f.expires_raw is None:
                print(f"  - malformed: no {TAG_EXPIRES} tag: {f.arn}", file=out)
            else:
                want = "want e.g. 2026-11-21T18:00:00Z"
                print(f"  - malformed {TAG_EXPIRES}={f.expires_raw!r} ({want}): {f.arn}", file=out)
        if not stack.startswith("("):
            print(f"  destroy with: ./lab destroy --stack {stack} --yes", file=out)


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    # One or the other, told by argparse: before the credentials are checked.
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--cluster", type=cluster_name, help="EKS cluster name")
    which.add_argument("--expired", action="store_true", help="list lab resources whose lab:expires has passed")
    add_region(parser)


def _audit_cluster(args: argparse.Namespace, out: TextIO) -> int:
    clients = Clients.for_region(args.region)
    leftovers = find_leftovers(clients, args.cluster).items()
    known = {item.ident for item in leftovers}
    tagged = [
        r
        for r in find_tagged(clients.tagging, TAG_CLUSTER, args.cluster)
        if r.arn not in known and r.short_id not in known
    ]
    if not leftovers and not tagged:
        print(f"clean: nothing of cluster {args.cluster} left in {args.region}", file=out)
        return 0
    total = len(leftovers) + len(tagged)
    print(f"LEAKS: {total} resource(s) of cluster {args.cluster} still exist in {args.region}", file=out)
    if leftovers:
        sweep_cmd = f"./lab sweep --cluster {args.cluster} --region {args.region} --yes"
        print(f"\nController leftovers (remove: {sweep_cmd}):", file=out)
        print_leftovers(leftovers, out)
    if tagged:
        print(f"\nTagged {TAG_CLUSTER}={args.cluster} (in Pulumi's state? try ./lab destroy):", file=out)
        print_tagged(tagged, out)
    return 1


def _audit_expired(args: argparse.Namespace, out: TextIO) -> int:
    clients = Clients.for_region(args.region)
    now = utc_now()
    findings = find_expired(clients.tagging, now)
    if not findings:
        print(f"clean: no expired {PROJECT} resources in {args.region}", file=out)
        return 0
    _print_expiry(findings, now, out)
    return 1


@aws_errors
def run_audit(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 1 and list what is left of a cluster (or of expired labs)."""
    return _audit_expired(args, out) if args.expired else _audit_cluster(args, out)
