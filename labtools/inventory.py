"""What the controllers left for a cluster: load balancers, listeners, target groups,
network interfaces and security groups, found by the tags that tie them to it.

The AWS Load Balancer Controller, the Kubernetes cloud provider and the VPC CNI
create resources that are not in Pulumi's state. If the cluster goes before they
are cleaned up, they keep costing money and block the VPC's deletion.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterator, TextIO

from botocore.exceptions import ClientError

from labtools.aws import TAG_STACK, Clients, cluster_filters, cluster_tag_match, paginate, tag_dict

# The API caps DescribeTags at 20 ARNs per call.
ELBV2_TAG_BATCH = 20


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


def _chunks(seq: list, size: int) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _elbv2_tags(elbv2, arns: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for batch in _chunks(arns, ELBV2_TAG_BATCH):
        for desc in elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"]:
            tags[desc["ResourceArn"]] = tag_dict(desc.get("Tags"))
    return tags


def _elbv2_tagged(elbv2, operation: str, key: str, arn: str, cluster: str) -> Iterator[tuple[dict, str]]:
    """Load balancers or target groups tagged for `cluster`, with the tag that ties each to it."""
    items = list(paginate(elbv2, operation, key))
    tags = _elbv2_tags(elbv2, [item[arn] for item in items])
    for item in items:
        match = cluster_tag_match(tags.get(item[arn], {}), cluster)
        if match:
            yield item, match


def find_load_balancers(elbv2, cluster: str) -> list[Leftover]:
    return [Leftover("load-balancer", lb["LoadBalancerArn"], lb["LoadBalancerName"], match, lb.get("Type", ""))
            for lb, match in _elbv2_tagged(elbv2, "describe_load_balancers", "LoadBalancers", "LoadBalancerArn",
                                           cluster)]


def find_listeners(elbv2, load_balancers: list[Leftover]) -> list[Leftover]:
    # Listeners belong to a matched load balancer; they need no tag of their own.
    found = []
    for lb in load_balancers:
        for ln in paginate(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=lb.ident):
            name = f"{ln.get('Protocol', '?')}:{ln.get('Port', '?')} on {lb.name}"
            found.append(Leftover("listener", ln["ListenerArn"], name, lb.tag))
    return found


def find_target_groups(elbv2, cluster: str) -> list[Leftover]:
    return [Leftover("target-group", tg["TargetGroupArn"], tg["TargetGroupName"], match)
            for tg, match in _elbv2_tagged(elbv2, "describe_target_groups", "TargetGroups", "TargetGroupArn",
                                           cluster)]


def _ec2_tagged(ec2, operation: str, key: str, cluster: str) -> dict[str, dict]:
    """Resources matching either cluster tag, de-duplicated by id."""
    id_key = {"SecurityGroups": "GroupId", "NetworkInterfaces": "NetworkInterfaceId"}[key]
    found: dict[str, dict] = {}
    for filters in cluster_filters(cluster):
        for res in paginate(ec2, operation, key, Filters=filters):
            found[res[id_key]] = res
    return found


def interfaces_by_group(ec2, group_ids: list[str]) -> dict[str, list[dict]]:
    users: dict[str, list[dict]] = defaultdict(list)
    if not group_ids:
        return users
    filters = [{"Name": "group-id", "Values": group_ids}]
    for eni in paginate(ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=filters):
        for group in eni.get("Groups", []):
            if group["GroupId"] in group_ids:
                users[group["GroupId"]].append(eni)
    return users


def describe_users(enis: list[dict]) -> str:
    return ", ".join(f"{e['NetworkInterfaceId']} ({e.get('Status', '?')})" for e in enis)


def find_security_groups(ec2, cluster: str) -> list[Leftover]:
    groups = _ec2_tagged(ec2, "describe_security_groups", "SecurityGroups", cluster)
    users = interfaces_by_group(ec2, list(groups))
    found = []
    for gid, sg in groups.items():
        match = cluster_tag_match(tag_dict(sg.get("Tags")), cluster)
        if match:
            detail = f"used by {describe_users(users[gid])}" if users.get(gid) else ""
            found.append(Leftover("security-group", gid, sg.get("GroupName", ""), match, detail))
    return found


def find_network_interfaces(ec2, cluster: str) -> list[Leftover]:
    enis = _ec2_tagged(ec2, "describe_network_interfaces", "NetworkInterfaces", cluster)
    found = []
    for eid, eni in enis.items():
        match = cluster_tag_match(tag_dict(eni.get("TagSet")), cluster)
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
        TaggedResource(m["ResourceARN"], tag_dict(m.get("Tags")))
        for page in pages
        for m in page.get("ResourceTagMappingList", [])
    ]


def print_leftovers(items: list[Leftover], out: TextIO) -> None:
    for item in items:
        extra = f" [{item.detail}]" if item.detail else ""
        print(f"  - {item.kind:<17} {item.name or '-'}{extra}", file=out)
        print(f"      {item.ident}", file=out)
        print(f"      tag {item.tag}", file=out)


def print_tagged(resources: list[TaggedResource], out: TextIO) -> None:
    for res in resources:
        stack = res.tags.get(TAG_STACK, "-")
        print(f"  - {res.kind:<30} stack {stack}", file=out)
        print(f"      {res.arn}", file=out)
