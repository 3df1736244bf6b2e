"""What the lab costs by the hour: a price table and the cost model.

Prices: AWS on-demand list prices per region, as known to this project on
2026-11-21 from the public AWS pricing pages (aws.amazon.com/eks/pricing,
/ec2/pricing/on-demand, /vpc/pricing, /elasticloadbalancing/pricing,
/ebs/pricing). They are not fetched: check them on those pages before trusting
a figure. Left out on purpose: data transfer, ALB LCU and NLB NLCU usage, EBS
snapshots, CloudWatch. EBS appears only as the node root volumes.

The lab model (stacks/model.py) lists what bills; `cost_items(model)` prices
it. The stack output `estimatedHourlyCostUsd` and the offline plan both read it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping

from stacks import versions
from stacks.model import LabModel, Priced
from stacks.settings import MODULE_KEYS, LabSettings

PRICES_AS_OF = dt.date(2026, 11, 21)
HOURS_PER_MONTH = 730  # AWS's own convention for turning a monthly rate into an hourly one


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


@dataclass(frozen=True)
class CostItem:
    what: str
    quantity: float
    unit_usd_hour: float
    module: str | None  # None: the lab itself, whatever the modules

    @property
    def usd_hour(self) -> float:
        return self.quantity * self.unit_usd_hour


def cost_items(model: LabModel) -> list[CostItem]:
    """Every hourly charge of the lab, one line per thing that bills."""
    s = model.settings
    p = region_prices(s.region)
    items = [CostItem(i.what, i.quantity, _unit(i, s, p), i.module) for i in model.priced]
    # The lab itself first (control plane, nodes, NAT, addresses), then module by module.
    order, kinds = [None, *MODULE_KEYS], ("EKS", "EC2", "EBS", "NAT", "public IPv4")
    return sorted(items, key=lambda i: (order.index(i.module), i.module is None and
                                        next(n for n, k in enumerate(kinds + ("",)) if i.what.startswith(k))))


def _unit(item: Priced, s: LabSettings, p: RegionPrices) -> float:
    if item.kind == "control-plane":  # the support type the cluster is given, not a guess from the date
        return p.eks_extended if s.support_type == versions.EXTENDED else p.eks_standard
    if item.kind == "ec2":
        if item.instance_type not in p.ec2:
            raise PriceError(f"instance type {item.instance_type} ({item.what}): stacks/prices.py has no price "
                             f"for it in {s.region}; it knows {', '.join(p.ec2)}")
        return p.ec2[item.instance_type]
    if item.kind == "ebs":
        return item.disk_gb * p.gp3_gb_month / HOURS_PER_MONTH
    return {"nat": p.nat_gateway, "public-ipv4": p.public_ipv4, "alb": p.alb, "nlb": p.nlb}[item.kind]


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


def hourly_usd(model: LabModel) -> float | None:
    """The lab's $/h (a stack output); None for a region or instance type the table lacks."""
    try:
        return round(hourly(cost_items(model)), 4)
    except PriceError:
        return None
