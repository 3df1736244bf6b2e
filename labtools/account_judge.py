"""Judge what was read of the account against what the lab needs: one Check per question.

A quota read from the account that the lab would exceed refuses (`short`); a value
AWS would not give (so its default is assumed) or a usage that could not be read
only warns: the real quota may be higher. Resources tagged for this stack are the
lab's own (an earlier `up`), not usage: a second `up` needs nothing new.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from labtools.account import Facts, own
from labtools.quotas import STANDARD_FAMILIES, Need, Quota, instance_types, needs, request_command
from stacks import versions
from stacks.model import LabModel

OK, SHORT, WARN = "ok", "short", "warn"
# Managed node group instances carry this tag (EKS puts it on them; the node group's own tags it does not).
EKS_CLUSTER_TAG = "eks:cluster-name"
LB_TYPES = {"albs": "application", "nlbs": "network"}


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str  # ok | short | warn
    message: str
    quotaName: str | None = None
    serviceCode: str | None = None
    quotaCode: str | None = None
    value: int | None = None
    assumed: bool = False
    source: str | None = None
    used: int | None = None
    needed: int | None = None
    request: str | None = None
    """The command that asks AWS for enough (for a quota that falls short, read or assumed)."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def judge(model: LabModel, facts: Facts, labs: int = 1) -> list[Check]:
    checks = [quota_check(model, facts, n) for n in needs(model, labs)]
    return checks + offering_checks(model, facts) + [version_check(model, facts), cluster_check(model, facts)]


def quota_value(facts: Facts, quota: Quota) -> tuple[int, bool, str]:
    """(value, assumed, where it came from)."""
    error = facts.error(f"quota:{quota.key}")
    if error is None:
        return int(facts.value(f"quota:{quota.key}")), False, "Service Quotas"
    if quota.key == "elastic-ips" and facts.error("eip-attribute") is None and facts.value("eip-attribute"):
        return (int(facts.value("eip-attribute")), False,
                f"account attribute vpc-max-elastic-ips (Service Quotas: {error})")
    return quota.default, True, f"AWS default; Service Quotas did not give it ({error})"


def quota_check(model: LabModel, facts: Facts, need: Need) -> Check:
    q, s = need.quota, model.settings
    value, assumed, source = quota_value(facts, q)
    used, why_unknown = usage(model, facts, q.key, need.zone)
    name = f"{q.label} in {need.zone}" if need.zone else q.label
    head = f"{name} ({q.service} {q.code}, {q.name})"
    fields = dict(name=name, quotaName=q.name, serviceCode=q.service, quotaCode=q.code, value=value,
                  assumed=assumed, source=source, used=used, needed=need.amount)
    if used is None:
        return Check(verdict=WARN, message=f"{head}: the lab needs {need.amount} ({need.detail}) of {value}; "
                                           f"the usage could not be read ({why_unknown})", **fields)
    if used + need.amount <= value:
        return Check(verdict=OK, message=f"{head}: {used} used of {value}, the lab needs {need.amount}", **fields)
    command = request_command(q, used + need.amount, s.region)
    if assumed:
        return Check(verdict=WARN, request=command, message=(
            f"{head}: {used} used, the lab needs {need.amount} ({need.detail}): more than {value}, AWS's default, "
            f"assumed because Service Quotas did not give the value ({facts.error('quota:' + q.key)}); the real "
            f"quota may be higher. If it is not, "
            f"ask for {used + need.amount}:"), **fields)
    return Check(verdict=SHORT, request=command, message=(
        f"{head}: {used} of {value} used, the lab needs {need.amount} more ({need.detail}); ask for at least "
        f"{used + need.amount}:"), **fields)


def usage(model: LabModel, facts: Facts, key: str, zone: str | None) -> tuple[int | None, str | None]:
    """How much of a quota the account uses outside this stack, or (None, why it is unknown)."""
    if key == "sg-inbound-rules":
        return 0, None  # the lab's security groups are new ones
    reads, count = USAGE[key]
    reads += tuple(k for k in facts.answers if k.startswith("lb-tags:")) if key in LB_TYPES else ()
    errors = [facts.error(k) for k in reads if k in facts.answers and facts.error(k)]
    if errors:
        return None, "; ".join(errors)
    return count(model, facts, zone), None


def _tagged(name: str):
    return lambda model, facts, _zone: sum(not own(tags, model) for _, tags in facts.value(name))


def _nat_gateways(model: LabModel, facts: Facts, zone: str | None) -> int:
    zones = facts.get("nat-subnets", {})
    return sum(zones.get(subnet) == zone and not own(tags, model) for _, subnet, tags in facts.value("nat-gateways"))


def _vcpus(model: LabModel, facts: Facts, _zone: str | None) -> int:
    vcpus, ours = facts.get("instance-vcpus", {}), cluster_is_ours(model, facts)
    return sum(vcpus.get(i["type"], 0) for i in facts.value("instances")
               if not i["spot"] and i["type"][0] in STANDARD_FAMILIES
               and not (ours and i["tags"].get(EKS_CLUSTER_TAG) == model.settings.cluster_name))


def _load_balancers(key: str):
    def count(model: LabModel, facts: Facts, _zone: str | None) -> int:
        tags = {arn: t for k in facts.answers if k.startswith("lb-tags:") for arn, t in facts.value(k).items()}
        return sum(kind == LB_TYPES[key] and not own(tags.get(arn, {}), model)
                   for arn, kind in facts.value("load-balancers"))
    return count


def _clusters(model: LabModel, facts: Facts, _zone: str | None) -> int:
    ours = cluster_is_ours(model, facts)
    return sum(not (ours and name == model.settings.cluster_name) for name in facts.value("clusters"))


# quota -> (the answers its usage is read from, how what is not this stack's is counted)
USAGE = {
    "vpcs": (("vpcs",), _tagged("vpcs")),
    "internet-gateways": (("internet-gateways",), _tagged("internet-gateways")),
    "elastic-ips": (("addresses",), _tagged("addresses")),
    "nat-gateways": (("nat-gateways", "nat-subnets"), _nat_gateways),
    "vcpus": (("instances", "instance-vcpus", "cluster"), _vcpus),
    "albs": (("load-balancers",), _load_balancers("albs")),
    "nlbs": (("load-balancers",), _load_balancers("nlbs")),
    "eks-clusters": (("clusters", "cluster"), _clusters),
}


def cluster_is_ours(model: LabModel, facts: Facts) -> bool:
    tags = facts.value("cluster")
    return tags is not None and own(tags, model)


def offering_checks(model: LabModel, facts: Facts) -> list[Check]:
    s = model.settings
    zones = list(s.availability_zones)
    if facts.error("offerings"):
        return [Check(f"instance types offered ({', '.join(instance_types(model))})", WARN,
                      f"could not read the offerings ({facts.error('offerings')}); not checked whether "
                      f"{', '.join(instance_types(model))} run in {', '.join(zones)}")]
    offered = set(map(tuple, facts.value("offerings")))
    keys = {s.private_nodes.name: "lab:privateNodeGroup.instanceType",
            s.public_nodes.name: "lab:publicNodeGroup.instanceType"}
    checks = []
    for itype in instance_types(model):
        name = f"instance type {itype} offered"
        missing = [z for z in zones if (itype, z) not in offered]
        if not missing:
            checks.append(Check(name, OK, f"{itype} is offered in {', '.join(zones)}"))
            continue
        settings = ", ".join(keys[ng.name] for ng in model.node_groups if ng.instance_type == itype)
        checks.append(Check(name, SHORT, (
            f"{itype} is not offered in {', '.join(missing)} (ec2:DescribeInstanceTypeOfferings): set {settings} "
            f"to a type offered in every zone, or choose other lab:availabilityZones")))
    return checks


def version_check(model: LabModel, facts: Facts) -> Check:
    s = model.settings
    name = f"Kubernetes {s.kubernetes_version} offered by EKS"
    if facts.error("versions"):
        return Check(name, WARN, f"could not read the versions EKS offers ({facts.error('versions')}); "
                                 f"not checked whether {s.region} offers {s.kubernetes_version}")
    status = {v["version"]: (v["status"] or "").upper().replace("-", "_") for v in facts.value("versions")}
    if status.get(s.kubernetes_version, "UNSUPPORTED") != "UNSUPPORTED":
        return Check(name, OK, f"EKS offers {s.kubernetes_version} in {s.region} ({status[s.kubernetes_version]})")
    usable = [v for v in versions.STANDARD_SUPPORT_ENDS if status.get(v, "UNSUPPORTED") != "UNSUPPORTED"]
    return Check(name, SHORT, (
        f"EKS does not offer Kubernetes {s.kubernetes_version} in {s.region} (eks:DescribeClusterVersions): set "
        f"lab:kubernetesVersion to one it offers that the lab knows: {', '.join(usable) or '(none)'}"))


def cluster_check(model: LabModel, facts: Facts) -> Check:
    s = model.settings
    name = f"EKS cluster name {s.cluster_name} free"
    if facts.error("cluster"):
        return Check(name, WARN, f"could not look the name up ({facts.error('cluster')}); EKS refuses a second "
                                 f"cluster named {s.cluster_name} in {s.region}")
    tags = facts.value("cluster")
    if tags is None:
        return Check(name, OK, f"no EKS cluster named {s.cluster_name} in {s.region}")
    if own(tags, model):
        return Check(name, OK, f"{s.cluster_name} is stack {s.stack}'s own, from an earlier up")
    whose = ", ".join(f"{k}={tags[k]}" for k in ("lab:project", "lab:stack") if k in tags) or "no lab tags"
    return Check(name, SHORT, (
        f"an EKS cluster named {s.cluster_name} already exists in {s.region} and is not stack {s.stack}'s "
        f"({whose}); EKS refuses a second one and the lab's other names derive from it: set lab:clusterName "
        f"to another name"))

