"""`sweep`: delete what the controllers left for a cluster, in an order AWS accepts.

Listeners, load balancers (waiting until they are gone), target groups, detached
interfaces, then security groups (rules in other groups that reference them
revoked first). Never while EKS still reports the cluster, unless forced.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from botocore.exceptions import ClientError

from labtools.aws import Clients, add_region, aws_errors, cluster_name, error_text, paginate
from labtools.inventory import (Inventory, Leftover, cluster_status, describe_users, find_leftovers,
                                interfaces_by_group, print_leftovers)

@dataclass
class SweepReport:
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Timing:
    """How long to wait for AWS to finish deletions; injectable for tests."""

    budget_s: float = 600.0
    interval_s: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def _attempt(report: SweepReport, out: TextIO, label: str, call: Callable[[], object]) -> bool:
    """Run one deletion; a failure is reported and the sweep goes on."""
    try:
        call()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code", "").endswith("NotFound"):
            # Gone already (a concurrent sweep, or AWS finished first): fine.
            print(f"  gone    {label}", file=out)
            return True
        report.failed.append(f"{label}: {error_text(err)}")
        print(f"  FAILED  {label}: {error_text(err)}", file=out)
        return False
    report.deleted.append(label)
    print(f"  deleted {label}", file=out)
    return True


def _poll(what: str, remaining: Callable[[], list[str]], timing: Timing, out: TextIO) -> list[str]:
    """Poll until nothing remains or the budget runs out; returns what is left."""
    start = timing.clock()
    left = remaining()
    while left:
        waited = timing.clock() - start
        if waited >= timing.budget_s:
            print(f"  gave up waiting after {waited:.0f}s; still there: {', '.join(left)}", file=out)
            break
        print(f"  waiting for {len(left)} {what} ({waited:.0f}s of {timing.budget_s:.0f}s)...", file=out)
        timing.sleep(timing.interval_s)
        left = remaining()
    return left


def _load_balancers_remaining(elbv2, arns: list[str]) -> list[str]:
    left = []
    for arn in arns:
        try:
            lbs = elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "LoadBalancerNotFound":
                continue
            raise
        if lbs:
            left.append(arn)
    return left


def _elb_interfaces_remaining(ec2, group_ids: list[str]) -> list[str]:
    # ELB-managed interfaces ("ELB app/...", "ELB net/...") linger for a few
    # minutes after their load balancer is gone and pin its security groups.
    users = interfaces_by_group(ec2, group_ids)
    return sorted(
        {e["NetworkInterfaceId"] for enis in users.values() for e in enis if e.get("Description", "").startswith("ELB ")}
    )


def _revoke_references(ec2, doomed: str, out: TextIO) -> None:
    """Revoke rules in other groups that reference `doomed`; AWS refuses to
    delete a group while another group's rule points at it."""
    referencing: set[str] = set()
    for name in ("ip-permission.group-id", "egress.ip-permission.group-id"):
        filters = [{"Name": name, "Values": [doomed]}]
        for sg in paginate(ec2, "describe_security_groups", "SecurityGroups", Filters=filters):
            referencing.add(sg["GroupId"])
    referencing.discard(doomed)  # self-references go with the group
    for gid in sorted(referencing):
        rules = paginate(
            ec2, "describe_security_group_rules", "SecurityGroupRules", Filters=[{"Name": "group-id", "Values": [gid]}]
        )
        ingress, egress = [], []
        for rule in rules:
            if rule.get("ReferencedGroupInfo", {}).get("GroupId") == doomed:
                (egress if rule.get("IsEgress") else ingress).append(rule["SecurityGroupRuleId"])
        if ingress:
            ec2.revoke_security_group_ingress(GroupId=gid, SecurityGroupRuleIds=ingress)
        if egress:
            ec2.revoke_security_group_egress(GroupId=gid, SecurityGroupRuleIds=egress)
        if ingress or egress:
            print(f"  revoked {len(ingress) + len(egress)} rule(s) in {gid} that referenced {doomed}", file=out)


def _delete_group(ec2, sg: Leftover, report: SweepReport, out: TextIO) -> None:
    label = f"security-group {sg.ident} ({sg.name})"
    try:
        _revoke_references(ec2, sg.ident, out)
    except ClientError as err:
        report.failed.append(f"{label}: {error_text(err)}")
        print(f"  FAILED  {label}: {error_text(err)}", file=out)
        return
    _attempt(report, out, label, lambda: ec2.delete_security_group(GroupId=sg.ident))


def _sweep_elbv2(clients: Clients, inv: Inventory, report: SweepReport, timing: Timing, out: TextIO) -> None:
    elbv2 = clients.elbv2
    for ln in inv.listeners:
        _attempt(report, out, f"listener {ln.name}", lambda a=ln.ident: elbv2.delete_listener(ListenerArn=a))
    deleting = [
        lb.ident
        for lb in inv.load_balancers
        if _attempt(
            report, out, f"load-balancer {lb.name}", lambda a=lb.ident: elbv2.delete_load_balancer(LoadBalancerArn=a)
        )
    ]
    # Target groups stay "in use" until their load balancer is really gone.
    _poll("load balancer(s) to disappear", lambda: _load_balancers_remaining(elbv2, deleting), timing, out)
    for tg in inv.target_groups:
        label = f"target-group {tg.name}"
        _attempt(report, out, label, lambda a=tg.ident: elbv2.delete_target_group(TargetGroupArn=a))


def _sweep_interfaces(ec2, inv: Inventory, report: SweepReport, out: TextIO) -> None:
    for eni in inv.network_interfaces:
        label = f"network-interface {eni.ident}"
        if eni.detail != "available":
            # Attached interfaces belong to something still running; never touch.
            report.kept.append(f"{label}: status {eni.detail or 'unknown'}")
            print(f"  kept    {label}: status {eni.detail or 'unknown'}, not detached", file=out)
            continue
        _attempt(report, out, label, lambda i=eni.ident: ec2.delete_network_interface(NetworkInterfaceId=i))


def _sweep_security_groups(
    ec2, inv: Inventory, report: SweepReport, timing: Timing, out: TextIO, waited_lbs: bool
) -> None:
    gids = [sg.ident for sg in inv.security_groups]
    if waited_lbs and gids:
        _poll("ELB network interface(s) to be released", lambda: _elb_interfaces_remaining(ec2, gids), timing, out)
    users = interfaces_by_group(ec2, gids)
    for sg in inv.security_groups:
        if users.get(sg.ident):
            why = f"in use by {describe_users(users[sg.ident])}"
            report.kept.append(f"security-group {sg.ident}: {why}")
            print(f"  kept    security-group {sg.ident} ({sg.name}): {why}", file=out)
            continue
        _delete_group(ec2, sg, report, out)


def sweep(clients: Clients, inv: Inventory, out: TextIO, timing: Timing = Timing()) -> SweepReport:
    """Delete the inventory: listeners, load balancers (waiting until they are
    gone), target groups, detached interfaces, then security groups."""
    report = SweepReport()
    _sweep_elbv2(clients, inv, report, timing, out)
    _sweep_interfaces(clients.ec2, inv, report, out)
    _sweep_security_groups(clients.ec2, inv, report, timing, out, waited_lbs=bool(inv.load_balancers))
    return report


def non_negative_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return seconds


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster", required=True, type=cluster_name, help="EKS cluster name (stack output clusterName)"
    )
    add_region(parser)
    parser.add_argument("--yes", action="store_true", help="really delete; without it this is a dry run")
    parser.add_argument(
        "--force",
        action="store_true",
        help="delete even while EKS still reports the cluster (its controllers may still be using them)",
    )
    parser.add_argument(
        "--wait-timeout",
        type=non_negative_seconds,
        default=Timing.budget_s,
        metavar="SECONDS",
        help="how long to wait for deleted load balancers to go (default %(default).0f)",
    )


@aws_errors
def run_sweep(args: argparse.Namespace, out: TextIO) -> int:
    """Delete what the controllers left for a cluster (dry run without --yes)."""
    clients = Clients.for_region(args.region)
    status = cluster_status(clients.eks, args.cluster)
    if status is not None and args.yes and not args.force:
        print(
            f"refused: EKS still reports cluster {args.cluster} in {args.region} (status {status}).\n"
            "The sweep is for after `pulumi destroy`: while the cluster exists its controllers own\n"
            "these resources, and a cluster of the same name may be someone else's lab. Destroy it\n"
            "first (./lab destroy), or re-run with --force if you are sure.",
            file=out,
        )
        return 2
    inv = find_leftovers(clients, args.cluster)
    items = inv.items()
    if not items:
        print(f"clean: nothing left by the controllers of cluster {args.cluster} in {args.region}", file=out)
        return 0
    print(f"{len(items)} leftover(s) of cluster {args.cluster} in {args.region}:", file=out)
    print_leftovers(items, out)
    if not args.yes:
        print(f"\nDry run: nothing was deleted. Re-run with --yes to delete the {len(items)} item(s) above.", file=out)
        if status is not None:
            print(f"Note: EKS still reports cluster {args.cluster} ({status}); --yes refuses until it is gone "
                  "(or with --force).", file=out)
        return 0
    print("\nDeleting:", file=out)
    report = sweep(clients, inv, out, Timing(budget_s=args.wait_timeout))
    print(
        f"\nSweep done: {len(report.deleted)} deleted, {len(report.kept)} kept, {len(report.failed)} failed.",
        file=out,
    )
    return 1 if report.kept or report.failed else 0
