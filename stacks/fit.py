"""Does the lab fit? The pods it places against its nodes, the addresses it takes against
its subnets. Settings that do not fit are refused before anything is created, naming
the keys and the numbers (otherwise pods stay Pending and `up` fails after ~20 minutes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from stacks import capacity
from stacks.model import LabModel
from stacks.model_types import APPS, NodeGroup


@dataclass(frozen=True)
class GroupPods:
    """One node group's pods, as the plan shows them."""

    name: str
    nodes: int
    instance_type: str
    capacity: int       # pods its nodes can run
    daemonsets: int     # of which the DaemonSets take
    apps: int           # app pods expected here (app1 by rule, app2 by preference)

    @property
    def free(self) -> int:
        return self.capacity - self.daemonsets - self.apps


def shared_pods(model: LabModel) -> dict[str, int]:
    """Pods that run on any node: CoreDNS, the charts' workloads, the smoke check's pod."""
    pods = {"CoreDNS": capacity.COREDNS_PODS}
    for release in model.releases:
        pods[release.name] = release.pods
    pods["smoke check"] = capacity.SMOKE_PODS
    return pods


def group_pods(model: LabModel) -> list[GroupPods]:
    r = model.settings.app_replicas
    nodes = sum(ng.desired_size for ng in model.node_groups)
    groups = []
    for ng in model.node_groups:
        spread = len(model.on_every_node_group) * math.ceil(r / len(model.node_groups))
        others = (len(APPS) - len(model.on_every_node_group)) * math.ceil(r * ng.desired_size / nodes)
        groups.append(GroupPods(ng.name, ng.desired_size, ng.instance_type,
                                ng.desired_size * capacity.max_pods(ng.instance_type),
                                ng.desired_size * capacity.DAEMONSET_PODS, spread + others))
    return groups


def _key(ng: NodeGroup) -> str:
    return "lab:publicNodeGroup" if ng.public else "lab:privateNodeGroup"


def pod_problems(model: LabModel) -> list[str]:
    r = model.settings.app_replicas
    groups = group_pods(model)
    room = sum(g.capacity - g.daemonsets for g in groups)
    shared = shared_pods(model)
    need = len(APPS) * r + sum(shared.values())
    where = " and ".join(f"{_key(ng)} ({ng.desired_size} x {ng.instance_type})" for ng in model.node_groups)
    per_type = "; ".join(sorted({f"{ng.instance_type}: {capacity.max_pods(ng.instance_type)} pods per node under "
                                 f"the VPC CNI, {capacity.DAEMONSET_PODS} of them DaemonSets" for ng in model.node_groups}))
    problems = []
    free = [g.capacity - g.daemonsets for g in groups]
    spread = math.ceil(r / len(groups))  # the replicas of an app kept on every node group, in each
    # The largest count that fits, suggested only if the settings take it: at least one replica
    # per node group (lab:appReplicas >= 2, stacks/settings/load.py).
    most = min([(room - sum(shared.values())) // len(APPS)]
               + ([len(groups) * f for f in free] if model.on_every_node_group else []))
    lower = f"lower lab:appReplicas to at most {most}, or " if most >= len(groups) else ""
    for ng, g, room_here in zip(model.node_groups, groups, free):
        if model.on_every_node_group and spread > room_here:
            problems.append(
                f"lab:appReplicas = {r}: {', '.join(model.on_every_node_group)} keeps {spread} replicas in "
                f"{ng.name}, whose {g.nodes} x {ng.instance_type} run {room_here} pods besides the DaemonSets "
                f"({per_type}); {lower}raise {_key(ng)}.desiredSize or its instanceType")
    if need > room:
        shared_text = ", ".join(f"{n} {name}" for name, n in shared.items())
        problems.append(
            f"lab:appReplicas = {r} with {where}: the lab places {need} pods ({len(APPS) * r} of "
            f"{' and '.join(APPS)}, {shared_text}) but the nodes run {room} besides the DaemonSets "
            f"({per_type}); {lower}raise desiredSize or use a larger instanceType")
    return problems


def address_problems(model: LabModel) -> list[str]:
    s = model.settings
    zones = len(s.availability_zones)
    public_lbs = [lb for lb in model.load_balancers if lb.internet_facing]
    lb_addresses = sum(capacity.ALB_ADDRESSES if lb.kind == "ALB" else 1 for lb in public_lbs)
    needs = {
        "publicSubnetCidrs": (s.public_subnet_cidrs, [ng for ng in model.node_groups if ng.public],
                              lb_addresses + capacity.NAT_ADDRESSES,
                              f"{len(public_lbs)} load balancer(s) and a NAT gateway"),
        "privateSubnetCidrs": (s.private_subnet_cidrs, [ng for ng in model.node_groups if not ng.public], 0, ""),
    }
    problems = []
    for key, (nets, groups, extra, extra_what) in needs.items():
        nodes = sum(capacity.per_zone(ng.desired_size, zones) * capacity.node_addresses(ng.instance_type)
                    for ng in groups)
        need = nodes + extra
        for i, net in enumerate(nets):
            have = capacity.usable_addresses(net.prefixlen)
            if have < need:
                what = ", ".join(f"{capacity.per_zone(ng.desired_size, zones)} {ng.instance_type} node(s) of "
                                 f"{ng.name} at {capacity.node_addresses(ng.instance_type)} addresses each "
                                 "(VPC CNI)" for ng in groups)
                problems.append(
                    f"lab:{key}[{i}] = {str(net)!r} (from lab:vpcCidr {s.vpc_cidr} unless set): {have} usable "
                    f"addresses, the lab needs {need} there ({what}{', ' + extra_what if extra else ''}); "
                    "use a larger lab:vpcCidr or subnet")
    return problems


def problems(model: LabModel) -> list[str]:
    return pod_problems(model) + address_problems(model)
