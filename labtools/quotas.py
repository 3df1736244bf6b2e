"""What the account must hold for the lab: its AWS quotas, and how much of each the lab takes.

Counted from the lab model, so a module switched off needs less and a new load
balancer counts itself. Plain data, no AWS calls: `./lab plan` prints it offline and
`./lab preflight` (labtools/account_check.py) holds it against the account.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks.capacity import VCPUS
from stacks.model import NLB_SERVICE, LabModel, LoadBalancer
from stacks.settings import LabSettings


@dataclass(frozen=True)
class Quota:
    key: str
    service: str
    """The Service Quotas service code (vpc, ec2, elasticloadbalancing, eks)."""
    code: str
    name: str
    """Its name in Service Quotas."""
    label: str
    """What the lab's reports call it."""
    default: int
    """The AWS default, used (and said to be assumed) when Service Quotas cannot answer."""
    scope: str  # region | zone | security group


# AWS defaults, from the quota tables of the AWS General Reference: vpc-service.html (VPCs,
# internet gateways, NAT gateways per zone: 5; rules per security group: 60; moto 5.2.5 ships
# the same values from Service Quotas), ec2-service.html (EC2-VPC Elastic IPs: 5; Running
# On-Demand Standard instances: 5 vCPUs, what a new account starts with), elb.html (50
# Application and 50 Network Load Balancers per Region) and the EKS user guide's
# service-quotas.html (100 clusters per Region).
QUOTAS = {q.key: q for q in (
    Quota("vpcs", "vpc", "L-F678F1CE", "VPCs per Region", "VPCs", 5, "region"),
    Quota("internet-gateways", "vpc", "L-A4707A72", "Internet gateways per Region", "internet gateways", 5,
          "region"),
    Quota("nat-gateways", "vpc", "L-FE5A380F", "NAT gateways per Availability Zone", "NAT gateways", 5, "zone"),
    Quota("elastic-ips", "ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", "Elastic IPs", 5, "region"),
    Quota("vcpus", "ec2", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
          "vCPUs of On-Demand Standard instances", 5, "region"),
    Quota("albs", "elasticloadbalancing", "L-53DA6B97", "Application Load Balancers per Region", "ALBs", 50,
          "region"),
    Quota("nlbs", "elasticloadbalancing", "L-69A177A2", "Network Load Balancers per Region", "NLBs", 50,
          "region"),
    Quota("eks-clusters", "eks", "L-1194D53C", "Clusters", "EKS clusters", 100, "region"),
    Quota("sg-inbound-rules", "vpc", "L-0EA8095F", "Inbound or outbound rules per security group",
          "inbound rules of one security group", 60, "security group"),
)}

# The instance families the vCPU quota L-1216C47A covers; every family the lab accepts is one.
STANDARD_FAMILIES = tuple("acdhimrtz")

# EKS creates the cluster security group with one inbound rule: all traffic from itself.
EKS_SELF_RULES = 1
# The AWS Load Balancer Controller opens the nodes to its shared backend security group with one
# rule per protocol, the ports merged into one range (v3.5.0 pkg/networking/networking_manager.go,
# computeRestrictedIngressPermissionsPerSG).
CONTROLLER_NODE_RULES = 1
# Listener ports by module: the ALB Ingresses' listen-ports and the Gateway's listener
# (components/alb_ingress.py, components/gateway.py), nginx's chart Service and the Traefik NLB.
LISTENER_PORTS = {"alb": (80,), "gatewayApi": (80,), "ingressNginx": (80, 443), "traefik": (80, 443)}
# A load balancer of a lesson not in the table: the most any of the lab's opens.
OTHER_LISTENER_PORTS = (80, 443)


@dataclass(frozen=True)
class Need:
    quota: Quota
    amount: int
    zone: str | None = None
    detail: str = ""


def client_cidrs(s: LabSettings) -> list[str]:
    """The sources every internet-facing entry point admits (the one place here that names
    their settings field)."""
    return [str(c) for c in s.client_cidrs]


def nat_zones(s: LabSettings) -> list[str]:
    return s.availability_zones if s.nat_gateways == "perAz" else s.availability_zones[:1]


def listener_ports(model: LabModel, lb: LoadBalancer) -> tuple[int, ...]:
    if lb.module == "nlb":
        return tuple(d.port for d in model.services if d.name == NLB_SERVICE)
    return LISTENER_PORTS.get(lb.module, OTHER_LISTENER_PORTS)


def inbound_rules(model: LabModel) -> dict[str, int]:
    """Inbound rules of each security group the lab makes or fills. A rule with N source CIDRs
    counts N times against L-0EA8095F; the load balancers' groups admit the client CIDRs on
    each listener port (the controller's model_build_managed_sg.go does port x CIDR)."""
    cidrs = len(client_cidrs(model.settings))
    by_controller = [lb for lb in model.load_balancers if lb.made_by == "the controller"]
    nodes = (EKS_SELF_RULES + cidrs  # the NodePort range, once per client CIDR (components/cluster.py)
             + (2 if model.traefik else 0)  # Traefik's web and websecure from its NLB's group
             + (CONTROLLER_NODE_RULES if by_controller else 0))
    groups = {"the EKS cluster security group (the nodes)": nodes}
    for lb in model.load_balancers:
        if lb.internet_facing:
            groups[f"{lb.kind} {lb.name or 'for ' + lb.fronts}"] = len(listener_ports(model, lb)) * cidrs
    return groups


def node_vcpus(model: LabModel) -> tuple[int, str]:
    """vCPUs of the nodes the lab runs (the groups' desired sizes: nothing scales them up)."""
    groups = model.node_groups
    total = sum(ng.desired_size * VCPUS[ng.instance_type] for ng in groups)
    detail = " + ".join(f"{ng.desired_size} x {ng.instance_type} ({ng.name}, {VCPUS[ng.instance_type]} vCPUs each)"
                        for ng in groups)
    return total, detail


def needs(model: LabModel, labs: int = 1) -> list[Need]:
    """What `labs` labs like this one take of each quota; quotas they take none of are left out."""
    s, q = model.settings, QUOTAS
    each = f", per lab, x{labs}" if labs > 1 else ""
    found = [Need(q["vpcs"], labs, detail=f"the lab's VPC{each}"),
             Need(q["internet-gateways"], labs, detail=f"the VPC's internet gateway{each}")]
    zones = nat_zones(s)
    found += [Need(q["nat-gateways"], labs, zone=z, detail=f"NAT gateway lab-nat-{z}{each}") for z in zones]
    found.append(Need(q["elastic-ips"], labs * len(zones), detail=f"one per NAT gateway ({len(zones)}){each}"))
    vcpus, detail = node_vcpus(model)
    found.append(Need(q["vcpus"], labs * vcpus, detail=detail + each))
    for kind, key in (("ALB", "albs"), ("NLB", "nlbs")):
        mine = [lb for lb in model.load_balancers if lb.kind == kind]
        if mine:
            found.append(Need(q[key], labs * len(mine), detail=", ".join(lb.name or f"for {lb.fronts}" for lb in mine)
                              + each))
    found.append(Need(q["eks-clusters"], labs, detail=f"{s.cluster_name}{each}"))
    rules = inbound_rules(model)
    fullest = max(rules, key=lambda k: (rules[k], k))
    found.append(Need(q["sg-inbound-rules"], rules[fullest],
                      detail=f"fullest: {fullest}; each lab has its own groups"))
    return found


def request_command(quota: Quota, desired: int, region: str) -> str:
    return (f"aws service-quotas request-service-quota-increase --service-code {quota.service} "
            f"--quota-code {quota.code} --desired-value {desired} --region {region}")


def instance_types(model: LabModel) -> list[str]:
    return sorted({ng.instance_type for ng in model.node_groups})


def plan_report(model: LabModel) -> dict:
    """The plan's offline view: every quota the lab takes, and what else preflight asks AWS."""
    s = model.settings
    return {
        "quotas": [{"name": n.quota.label, "quotaName": n.quota.name, "serviceCode": n.quota.service,
                    "quotaCode": n.quota.code,
                    "zone": n.zone, "needed": n.amount, "awsDefault": n.quota.default, "detail": n.detail}
                   for n in needs(model)],
        "inboundRules": inbound_rules(model),
        "offerings": {"instanceTypes": instance_types(model), "zones": list(s.availability_zones)},
        "kubernetesVersion": s.kubernetes_version,
        "clusterName": s.cluster_name,
    }
