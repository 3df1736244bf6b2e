"""What the lab costs by the hour: a price table and the cost model.

Prices: AWS on-demand list prices per region, as known to this project on
2026-11-21 from the public AWS pricing pages (aws.amazon.com/eks/pricing,
/ec2/pricing/on-demand, /vpc/pricing, /elasticloadbalancing/pricing,
/ebs/pricing). They are not fetched: check them on those pages before trusting
a figure. Left out on purpose: data transfer, ALB LCU and NLB NLCU usage, EBS
snapshots, CloudWatch. EBS appears only as the node root volumes.

The model is `cost_items(settings, resources)`. The offline plan hands it the
resources of the simulated graph; the program, which cannot see its own graph,
hands it `settings_resources(settings)`, the few resources that cost money, as
the program will create them. Tests hold the two equal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from stacks import versions
from stacks.settings import MODULE_KEYS, LabSettings

PRICES_AS_OF = dt.date(2026, 11, 21)
HOURS_PER_MONTH = 730  # AWS's own convention for turning a monthly rate into an hourly one
ROOT_VOLUME_GB = 20    # the EKS managed node group default disk size


@dataclass(frozen=True)
class RegionPrices:
    eks_standard: float
    eks_extended: float
    ec2: Mapping[str, float]  # instance type -> $/h (Linux, on-demand)
    nat_gateway: float
    alb: float
    nlb: float
    public_ipv4: float
    gp3_gb_month: float


PRICES: dict[str, RegionPrices] = {
    "ap-northeast-2": RegionPrices(
        eks_standard=versions.STANDARD_CONTROL_PLANE_USD_HOUR, eks_extended=versions.EXTENDED_CONTROL_PLANE_USD_HOUR,
        ec2={"t3.small": 0.026}, nat_gateway=0.059, alb=0.0225, nlb=0.0225, public_ipv4=0.005,
        gp3_gb_month=0.0912),
    "us-east-1": RegionPrices(
        eks_standard=versions.STANDARD_CONTROL_PLANE_USD_HOUR, eks_extended=versions.EXTENDED_CONTROL_PLANE_USD_HOUR,
        ec2={"t3.small": 0.0208}, nat_gateway=0.045, alb=0.0225, nlb=0.0225, public_ipv4=0.005,
        gp3_gb_month=0.08),
}


class PriceError(ValueError):
    """The table has no price for what the lab would run: say so rather than guess."""


def region_prices(region: str) -> RegionPrices:
    if region not in PRICES:
        raise PriceError(f"aws:region = {region!r}: stacks/prices.py has no prices for it; "
                         f"it covers {', '.join(PRICES)} (add the region from the AWS pricing pages)")
    return PRICES[region]


# --- what the model reads -------------------------------------------------

# Lab components whose resources belong to an optional module (settings.MODULE_KEYS).
COMPONENT_MODULES = {
    "lab:index:LabLoadBalancerController": "loadBalancerController",
    "lab:index:LabAlbIngress": "alb",
    "lab:index:LabIngressNginx": "ingressNginx",
    "lab:index:LabTraefik": "traefik",
}
SERVICES_COMPONENT = "lab:index:LabServices"  # its one LoadBalancer Service is the nlb module

NODE_GROUP = "eks:index:ManagedNodeGroup"
CLUSTER = "eks:index:Cluster"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
AWS_LB = "aws:lb/loadBalancer:LoadBalancer"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RELEASE = "kubernetes:helm.sh/v3:Release"
ALB_GROUP = "alb.ingress.kubernetes.io/group.name"


@dataclass(frozen=True)
class Res:
    """A resource as the cost and time models see it."""

    type: str
    name: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    component: str = ""
    """Type of the lab component (lab:index:*) it belongs to; "" at the top level."""

    @property
    def module(self) -> str | None:
        if self.component == SERVICES_COMPONENT and self.type == SERVICE and _spec(self).get("type") == "LoadBalancer":
            return "nlb"
        return COMPONENT_MODULES.get(self.component)


@dataclass(frozen=True)
class CostItem:
    what: str
    quantity: float
    unit_usd_hour: float
    module: str | None  # None: the lab itself, whatever the modules

    @property
    def usd_hour(self) -> float:
        return self.quantity * self.unit_usd_hour


def _spec(r: Res) -> Mapping[str, Any]:
    return r.inputs.get("spec") or {}


def _annotations(r: Res) -> Mapping[str, str]:
    return (r.inputs.get("metadata") or {}).get("annotations") or {}


# --- the model ------------------------------------------------------------

def cost_items(s: LabSettings, resources: Iterable[Res], today: dt.date | None = None) -> list[CostItem]:
    """Every hourly charge of the lab, one line per thing that bills."""
    p = region_prices(s.region)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    items: list[CostItem] = []
    resources = list(resources)
    zones = len(s.availability_zones)
    for r in resources:
        items.extend(_charges(r, s, p, today, zones))
    items.extend(_alb_charges(resources, p, zones))
    # The lab itself first (control plane, nodes, NAT, addresses), then module by module.
    order, kinds = [None, *MODULE_KEYS], ("EKS", "EC2", "EBS", "NAT", "public IPv4")
    return sorted(items, key=lambda i: (order.index(i.module), i.module is None and
                                        next(n for n, k in enumerate(kinds + ("",)) if i.what.startswith(k))))


def _charges(r: Res, s: LabSettings, p: RegionPrices, today: dt.date, zones: int) -> list[CostItem]:
    if r.type == CLUSTER:
        extended = versions.in_extended_support(s.kubernetes_version, today)
        support, rate = ("extended", p.eks_extended) if extended else ("standard", p.eks_standard)
        return [CostItem(f"EKS control plane {s.kubernetes_version} ({support} support)", 1, rate, None)]
    if r.type == NODE_GROUP:
        return _node_group_charges(r, s, p)
    if r.type == NAT_GATEWAY:
        return [CostItem(f"NAT gateway {r.name}", 1, p.nat_gateway, r.module)]
    if r.type == EIP:
        return [CostItem(f"public IPv4: Elastic IP {r.name}", 1, p.public_ipv4, r.module)]
    if r.type == AWS_LB:
        kind = "ALB" if r.inputs.get("loadBalancerType") == "application" else "NLB"
        lb = [CostItem(f"{kind} {r.inputs.get('name', r.name)} (of the program)", 1,
                       p.alb if kind == "ALB" else p.nlb, r.module)]
        if not r.inputs.get("internal", False):
            lb.append(_ips(f"{kind} {r.inputs.get('name', r.name)}", len(r.inputs.get("subnets") or []), p, r.module))
        return lb
    if r.type == SERVICE and _spec(r).get("type") == "LoadBalancer":
        return _nlb_charges(f"Service {r.name}", _annotations(r), p, zones, r.module)
    if r.type == RELEASE:
        service = _chart_load_balancer(r.inputs.get("values") or {})
        if service is not None:
            return _nlb_charges(f"Helm release {r.name}'s Service", service.get("annotations") or {},
                                p, zones, r.module)
    return []


def _node_group_charges(r: Res, s: LabSettings, p: RegionPrices) -> list[CostItem]:
    name = r.inputs.get("nodeGroupName", r.name)
    (instance_type,) = r.inputs["instanceTypes"]
    if instance_type not in p.ec2:
        raise PriceError(f"instance type {instance_type} ({name}): stacks/prices.py has no price for it in "
                         f"{s.region}; it knows {', '.join(p.ec2)}")
    nodes = int(r.inputs["scalingConfig"]["desiredSize"])
    disk = int(r.inputs.get("diskSize") or ROOT_VOLUME_GB)
    items = [CostItem(f"EC2 {instance_type} x{nodes} ({name})", nodes, p.ec2[instance_type], None),
             CostItem(f"EBS gp3 root {disk} GB x{nodes} ({name})", nodes,
                      disk * p.gp3_gb_month / HOURS_PER_MONTH, None)]
    if name == s.public_nodes.name:  # public subnets: each node gets a public address
        items.append(_ips(f"{name} nodes", nodes, p, None))
    return items


def _nlb_charges(what: str, annotations: Mapping[str, str], p: RegionPrices, zones: int,
                 module: str | None) -> list[CostItem]:
    """An NLB the AWS Load Balancer Controller makes: one subnet per zone."""
    items = [CostItem(f"NLB for {what}", 1, p.nlb, module)]
    if annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internet-facing":
        items.append(_ips(f"NLB for {what}", zones, p, module))
    return items


def _alb_charges(resources: list[Res], p: RegionPrices, zones: int) -> list[CostItem]:
    """One ALB per IngressGroup (an Ingress with no group is a group of its own)."""
    groups: dict[str, list[Res]] = {}
    for r in resources:
        if r.type == INGRESS and _spec(r).get("ingressClassName") == "alb":
            groups.setdefault(_annotations(r).get(ALB_GROUP) or f"ingress {r.name}", []).append(r)
    items = []
    for group, members in groups.items():
        what = f"ALB for IngressGroup {group} ({len(members)} Ingresses)"
        module = members[0].module
        items.append(CostItem(what, 1, p.alb, module))
        if _annotations(members[0]).get("alb.ingress.kubernetes.io/scheme") == "internet-facing":
            items.append(_ips(what.split(" (")[0], zones, p, module))
    return items


def _ips(what: str, count: int, p: RegionPrices, module: str | None) -> CostItem:
    return CostItem(f"public IPv4 x{count}: {what}", count, p.public_ipv4, module)


def _chart_load_balancer(values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The chart's Service settings when they ask for a LoadBalancer (ingress-nginx's shape)."""
    for service in ((values.get("controller") or {}).get("service"), values.get("service")):
        if isinstance(service, Mapping) and service.get("type") == "LoadBalancer":
            return service
    return None


def hourly(items: Iterable[CostItem]) -> float:
    return sum(i.usd_hour for i in items)


def module_costs(s: LabSettings, items: Iterable[CostItem]) -> dict[str, float]:
    """$/h of each module that is on (0.0 for one that bills nothing itself)."""
    on = [k for k, attr in MODULE_KEYS.items() if getattr(s.modules, attr)]
    costs = {k: 0.0 for k in on}
    for i in items:
        if i.module is not None:
            costs[i.module] = costs.get(i.module, 0.0) + i.usd_hour
    return costs


# --- the settings-only path -----------------------------------------------

def settings_resources(s: LabSettings) -> list[Res]:
    """The resources that bill, as stacks.lab.build registers them (held equal by tests/test_plan.py)."""
    from components import alb_ingress, nginx_ingress
    from stacks import lab

    zones = s.availability_zones
    out = [Res(CLUSTER, s.cluster_name)]
    for ng in (s.private_nodes, s.public_nodes):
        out.append(Res(NODE_GROUP, ng.name, {"nodeGroupName": ng.name, "instanceTypes": [ng.instance_type],
                                             "scalingConfig": {"desiredSize": ng.desired_size}}))
    for zone in (zones if s.nat_gateways == "perAz" else zones[:1]):
        out += [Res(NAT_GATEWAY, f"lab-nat-{zone}"), Res(EIP, f"lab-nat-{zone}")]
    for svc in lab.service_defs(s):
        if svc.type == "LoadBalancer":
            out.append(Res(SERVICE, svc.name, {"metadata": {"annotations": svc.annotations},
                                               "spec": {"type": "LoadBalancer"}}, SERVICES_COMPONENT))
    if s.modules.alb:
        group = f"{s.cluster_name}-lab"
        for ing in lab.alb_ingresses(s):
            out.append(Res(INGRESS, ing.name, {
                "metadata": {"annotations": {ALB_GROUP: group, "alb.ingress.kubernetes.io/scheme": "internet-facing"}},
                "spec": {"ingressClassName": alb_ingress.INGRESS_CLASS}}, "lab:index:LabAlbIngress"))
    if s.modules.ingress_nginx:
        n = s.ingress_nginx
        out.append(Res(RELEASE, "ingress-nginx", {"values": nginx_ingress.chart_values(
            n.service_type, n.http_node_port, n.https_node_port)}, "lab:index:LabIngressNginx"))
    if s.modules.traefik:
        out.append(Res(AWS_LB, "traefik-nlb", {"name": f"{s.cluster_name}-traefik"[:32], "loadBalancerType": "network",
                                               "internal": False, "subnets": list(zones)}, "lab:index:LabTraefik"))
    return out


def settings_hourly_usd(s: LabSettings, today: dt.date | None = None) -> float | None:
    """The lab's $/h from its settings alone (a stack output); None for a region the table lacks."""
    try:
        return round(hourly(cost_items(s, settings_resources(s), today)), 4)
    except PriceError:
        return None
