"""Sweep and audit what outlives `pulumi destroy`.

The AWS Load Balancer Controller and the Kubernetes cloud provider create load
balancers, target groups, security groups and network interfaces that are not
in Pulumi's state. If the cluster goes away before they are cleaned up, they
keep costing money and block the VPC's deletion. This module finds them by the
tags those controllers put on them, deletes them in an order AWS accepts, and
audits that nothing of a lab (or an expired lab) is left behind.

Only boto3 is used, built from the standard AWS environment (credentials,
profile, AWS_ENDPOINT_URL), so the same code runs against AWS and moto.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError

PROJECT = "eks-networking-lab"
TAG_PROJECT = "lab:project"
TAG_STACK = "lab:stack"
TAG_CLUSTER = "lab:cluster"
TAG_EXPIRES = "lab:expires"
ELBV2_CLUSTER_TAG = "elbv2.k8s.aws/cluster"
# The VPC CNI tags the interfaces it attaches to nodes; a node that goes before
# its CNI can detach them leaves them behind, holding the subnet (DependencyViolation).
CNI_CLUSTER_TAG = "cluster.k8s.amazonaws.com/name"

# EKS's own rule for cluster names; it also rules out EC2 filter wildcards.
CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")

# The API caps DescribeTags at 20 ARNs per call.
ELBV2_TAG_BATCH = 20


class UsageError(Exception):
    """A bad combination of arguments that argparse alone cannot express."""


# --------------------------------------------------------------------------
# Found items


@dataclass(frozen=True)
class Leftover:
    """One resource a controller made for the cluster."""

    kind: str  # listener, load-balancer, target-group, security-group, network-interface
    ident: str  # ARN for ELBv2 resources, resource id for EC2 ones
    name: str
    tag: str  # the key=value that tied it to the cluster
    detail: str = ""


@dataclass
class Inventory:
    listeners: list[Leftover] = field(default_factory=list)
    load_balancers: list[Leftover] = field(default_factory=list)
    target_groups: list[Leftover] = field(default_factory=list)
    network_interfaces: list[Leftover] = field(default_factory=list)
    security_groups: list[Leftover] = field(default_factory=list)

    def items(self) -> list[Leftover]:
        """All items, in the order the sweep deletes them."""
        return [
            *self.listeners,
            *self.load_balancers,
            *self.target_groups,
            *self.network_interfaces,
            *self.security_groups,
        ]


@dataclass(frozen=True)
class TaggedResource:
    """A resource the Resource Groups Tagging API reports for a tag filter."""

    arn: str
    tags: dict[str, str]

    @property
    def kind(self) -> str:
        # arn:aws:<service>:<region>:<account>:<type>/<id> -> "<service>:<type>"
        parts = self.arn.split(":", 5)
        if len(parts) < 6:
            return "unknown"
        resource_type = re.split(r"[/:]", parts[5], maxsplit=1)[0]
        return f"{parts[2]}:{resource_type}"

    @property
    def short_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ExpiryFinding:
    """A lab resource whose lab:expires is past, missing or unreadable."""

    arn: str
    stack: str
    problem: str  # "expired" or "malformed"
    expires_raw: str | None
    expires: datetime | None = None


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


@dataclass(frozen=True)
class Clients:
    ec2: object
    elbv2: object
    tagging: object
    eks: object
    region: str

    @classmethod
    def for_region(cls, region: str) -> "Clients":
        session = make_session(region)
        # Connection and credential errors do not say which call failed.
        session.events.register("before-call", _remember_operation)
        return cls(
            ec2=session.client("ec2"),
            elbv2=session.client("elbv2"),
            tagging=session.client("resourcegroupstaggingapi"),
            eks=session.client("eks"),
            region=region,
        )


_last_operation = {"name": "?"}


def _remember_operation(model, **_kwargs) -> None:
    _last_operation["name"] = model.name


def make_session(region: str) -> boto3.Session:
    # A seam for tests (event hooks); boto3 reads AWS_ENDPOINT_URL etc. itself.
    return boto3.Session(region_name=region)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------
# Tag matching


def cluster_tag_match(tags: dict[str, str], cluster: str) -> str | None:
    """The tag tying a resource to `cluster`, or None.

    Exact comparisons only: `eks-test-2` must never match `eks-test`.
    """
    for key in (ELBV2_CLUSTER_TAG, CNI_CLUSTER_TAG):
        if tags.get(key) == cluster:
            return f"{key}={cluster}"
    k8s_key = f"kubernetes.io/cluster/{cluster}"
    if k8s_key in tags:
        return f"{k8s_key}={tags[k8s_key]}"
    return None


def _tag_dict(tags: Iterable[dict] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or ()}


def _cluster_filters(cluster: str) -> list[list[dict]]:
    # EC2 ORs values within a filter but ANDs filters, so one query per tag.
    return [
        [{"Name": f"tag:{ELBV2_CLUSTER_TAG}", "Values": [cluster]}],
        [{"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{cluster}"]}],
        [{"Name": f"tag:{CNI_CLUSTER_TAG}", "Values": [cluster]}],
    ]


def _paginate(client, operation: str, key: str, **kwargs) -> Iterator[dict]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _chunks(seq: list, size: int) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


# --------------------------------------------------------------------------
# Discovery


def _elbv2_tags(elbv2, arns: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for batch in _chunks(arns, ELBV2_TAG_BATCH):
        for desc in elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"]:
            tags[desc["ResourceArn"]] = _tag_dict(desc.get("Tags"))
    return tags


def find_load_balancers(elbv2, cluster: str) -> list[Leftover]:
    lbs = list(_paginate(elbv2, "describe_load_balancers", "LoadBalancers"))
    tags = _elbv2_tags(elbv2, [lb["LoadBalancerArn"] for lb in lbs])
    found = []
    for lb in lbs:
        match = cluster_tag_match(tags.get(lb["LoadBalancerArn"], {}), cluster)
        if match:
            found.append(
                Leftover(
                    "load-balancer", lb["LoadBalancerArn"], lb["LoadBalancerName"], match, lb.get("Type", "")
                )
            )
    return found


def find_listeners(elbv2, load_balancers: list[Leftover]) -> list[Leftover]:
    # Listeners belong to a matched load balancer; they need no tag of their own.
    found = []
    for lb in load_balancers:
        for ln in _paginate(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=lb.ident):
            name = f"{ln.get('Protocol', '?')}:{ln.get('Port', '?')} on {lb.name}"
            found.append(Leftover("listener", ln["ListenerArn"], name, lb.tag))
    return found


def find_target_groups(elbv2, cluster: str) -> list[Leftover]:
    groups = list(_paginate(elbv2, "describe_target_groups", "TargetGroups"))
    tags = _elbv2_tags(elbv2, [tg["TargetGroupArn"] for tg in groups])
    found = []
    for tg in groups:
        match = cluster_tag_match(tags.get(tg["TargetGroupArn"], {}), cluster)
        if match:
            found.append(Leftover("target-group", tg["TargetGroupArn"], tg["TargetGroupName"], match))
    return found


def _ec2_tagged(ec2, operation: str, key: str, cluster: str) -> dict[str, dict]:
    """Resources matching either cluster tag, de-duplicated by id."""
    id_key = {"SecurityGroups": "GroupId", "NetworkInterfaces": "NetworkInterfaceId"}[key]
    found: dict[str, dict] = {}
    for filters in _cluster_filters(cluster):
        for res in _paginate(ec2, operation, key, Filters=filters):
            found[res[id_key]] = res
    return found


def _interfaces_by_group(ec2, group_ids: list[str]) -> dict[str, list[dict]]:
    users: dict[str, list[dict]] = defaultdict(list)
    if not group_ids:
        return users
    filters = [{"Name": "group-id", "Values": group_ids}]
    for eni in _paginate(ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=filters):
        for group in eni.get("Groups", []):
            if group["GroupId"] in group_ids:
                users[group["GroupId"]].append(eni)
    return users


def _describe_users(enis: list[dict]) -> str:
    return ", ".join(f"{e['NetworkInterfaceId']} ({e.get('Status', '?')})" for e in enis)


def find_security_groups(ec2, cluster: str) -> list[Leftover]:
    groups = _ec2_tagged(ec2, "describe_security_groups", "SecurityGroups", cluster)
    users = _interfaces_by_group(ec2, list(groups))
    found = []
    for gid, sg in groups.items():
        match = cluster_tag_match(_tag_dict(sg.get("Tags")), cluster)
        if match:
            detail = f"used by {_describe_users(users[gid])}" if users.get(gid) else ""
            found.append(Leftover("security-group", gid, sg.get("GroupName", ""), match, detail))
    return found


def find_network_interfaces(ec2, cluster: str) -> list[Leftover]:
    enis = _ec2_tagged(ec2, "describe_network_interfaces", "NetworkInterfaces", cluster)
    found = []
    for eid, eni in enis.items():
        match = cluster_tag_match(_tag_dict(eni.get("TagSet")), cluster)
        if match:
            description, status = eni.get("Description", ""), eni.get("Status", "")
            found.append(Leftover("network-interface", eid, description, match, status))
    return found


def find_leftovers(clients: Clients, cluster: str) -> Inventory:
    lbs = find_load_balancers(clients.elbv2, cluster)
    return Inventory(
        listeners=find_listeners(clients.elbv2, lbs),
        load_balancers=lbs,
        target_groups=find_target_groups(clients.elbv2, cluster),
        network_interfaces=find_network_interfaces(clients.ec2, cluster),
        security_groups=find_security_groups(clients.ec2, cluster),
    )


def cluster_status(eks, cluster: str) -> str | None:
    """The cluster's status as EKS reports it (ACTIVE, DELETING, ...), or None if it is gone."""
    try:
        return eks.describe_cluster(name=cluster)["cluster"].get("status", "UNKNOWN")
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def find_tagged(tagging, key: str, value: str) -> list[TaggedResource]:
    pages = tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": key, "Values": [value]}])
    return [
        TaggedResource(m["ResourceARN"], _tag_dict(m.get("Tags")))
        for page in pages
        for m in page.get("ResourceTagMappingList", [])
    ]


# --------------------------------------------------------------------------
# Sweep


def _error_text(err: ClientError) -> str:
    info = err.response.get("Error", {})
    return f"{err.operation_name}: {info.get('Code', '?')}: {info.get('Message', '')}"


def _attempt(report: SweepReport, out: TextIO, label: str, call: Callable[[], object]) -> bool:
    """Run one deletion; a failure is reported and the sweep goes on."""
    try:
        call()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code", "").endswith("NotFound"):
            # Gone already (a concurrent sweep, or AWS finished first): fine.
            print(f"  gone    {label}", file=out)
            return True
        report.failed.append(f"{label}: {_error_text(err)}")
        print(f"  FAILED  {label}: {_error_text(err)}", file=out)
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
    users = _interfaces_by_group(ec2, group_ids)
    return sorted(
        {e["NetworkInterfaceId"] for enis in users.values() for e in enis if e.get("Description", "").startswith("ELB ")}
    )


def _revoke_references(ec2, doomed: str, out: TextIO) -> None:
    """Revoke rules in other groups that reference `doomed`; AWS refuses to
    delete a group while another group's rule points at it."""
    referencing: set[str] = set()
    for name in ("ip-permission.group-id", "egress.ip-permission.group-id"):
        filters = [{"Name": name, "Values": [doomed]}]
        for sg in _paginate(ec2, "describe_security_groups", "SecurityGroups", Filters=filters):
            referencing.add(sg["GroupId"])
    referencing.discard(doomed)  # self-references go with the group
    for gid in sorted(referencing):
        rules = _paginate(
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
        report.failed.append(f"{label}: {_error_text(err)}")
        print(f"  FAILED  {label}: {_error_text(err)}", file=out)
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
    users = _interfaces_by_group(ec2, gids)
    for sg in inv.security_groups:
        if users.get(sg.ident):
            why = f"in use by {_describe_users(users[sg.ident])}"
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


# --------------------------------------------------------------------------
# Expiry


def parse_expires(raw: str) -> datetime | None:
    """An aware UTC datetime, or None if `raw` is not an ISO 8601 instant."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except (ValueError, AttributeError):
        return None
    if value.tzinfo is None:
        return None  # a local time is ambiguous; insist on Z or an offset
    return value.astimezone(timezone.utc)


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


# --------------------------------------------------------------------------
# Output


def _print_leftovers(items: list[Leftover], out: TextIO) -> None:
    for item in items:
        extra = f" [{item.detail}]" if item.detail else ""
        print(f"  - {item.kind:<17} {item.name or '-'}{extra}", file=out)
        print(f"      {item.ident}", file=out)
        print(f"      tag {item.tag}", file=out)


def _print_tagged(resources: list[TaggedResource], out: TextIO) -> None:
    for res in resources:
        stack = res.tags.get(TAG_STACK, "-")
        print(f"  - {res.kind:<30} stack {stack}", file=out)
        print(f"      {res.arn}", file=out)


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


# --------------------------------------------------------------------------
# Command line


def cluster_name(value: str) -> str:
    if not CLUSTER_RE.match(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a valid EKS cluster name "
            "(1-100 letters, digits, '-' or '_', starting with a letter or digit)"
        )
    return value


def region_name(value: str) -> str:
    if not REGION_RE.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an AWS region name (lower case, like ap-northeast-2)")
    return value


def non_negative_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds >= 0")
    return seconds


def _add_region(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", required=True, type=region_name, help="AWS region, e.g. ap-northeast-2")


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster", required=True, type=cluster_name, help="EKS cluster name (stack output clusterName)"
    )
    _add_region(parser)
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


def add_audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster", type=cluster_name, help="EKS cluster name (required unless --expired)")
    _add_region(parser)
    parser.add_argument("--expired", action="store_true", help="list lab resources whose lab:expires has passed")


def _aws_errors(run: Callable[[argparse.Namespace, TextIO], int]) -> Callable[..., int]:
    """Report AWS failures as one line naming the operation, exit code 2."""

    def wrapper(args: argparse.Namespace, out: TextIO | None = None) -> int:
        try:
            return run(args, out or sys.stdout)
        except ClientError as err:
            print(f"error: AWS call failed: {_error_text(err)}", file=sys.stderr)
        except BotoCoreError as err:
            print(f"error: AWS call failed: {_last_operation['name']}: {err}", file=sys.stderr)
        return 2

    wrapper.__doc__ = run.__doc__
    return wrapper


@_aws_errors
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
    _print_leftovers(items, out)
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
        sweep_cmd = f"python -m stacks sweep --cluster {args.cluster} --region {args.region} --yes"
        print(f"\nController leftovers (remove: {sweep_cmd}):", file=out)
        _print_leftovers(leftovers, out)
    if tagged:
        print(f"\nTagged {TAG_CLUSTER}={args.cluster} (in Pulumi's state? try ./lab destroy):", file=out)
        _print_tagged(tagged, out)
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


@_aws_errors
def run_audit(args: argparse.Namespace, out: TextIO) -> int:
    """Exit 1 and list what is left of a cluster (or of expired labs)."""
    if args.expired:
        if args.cluster:
            raise UsageError("argument --cluster: not allowed with --expired (expiry is checked for every stack)")
        return _audit_expired(args, out)
    if not args.cluster:
        raise UsageError("the following arguments are required: --cluster (or --expired)")
    return _audit_cluster(args, out)
