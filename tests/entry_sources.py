"""Who the registered graph lets in from outside: every security group ingress rule, ALB
`inbound-cidrs` annotation, Service source range and LoadBalancerConfiguration `sourceRanges`
of the program, read from the objects it registers (not from the lab model), so tests can hold
every entry point to `lab:clientCidrs`.

Where the controller (v3.5.0) puts what: an Ingress's `inbound-cidrs` opens its ALB's
security group; a LoadBalancer Service's `spec.loadBalancerSourceRanges` (else the annotation
`service.beta.kubernetes.io/load-balancer-source-ranges`) opens its NLB's; a
LoadBalancerConfiguration's `sourceRanges` the Gateway's ALB's. Given none, the controller opens
the listener to 0.0.0.0/0. The EKS API endpoint (`lab:apiAccessCidrs`) is no entry point.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from labtools.simulate import Graph, Resource, plain

ANYWHERE = "0.0.0.0/0"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_LB = "aws:lb/loadBalancer:LoadBalancer"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
INGRESS_CLASS = "kubernetes:networking.k8s.io/v1:IngressClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
LB_CONFIG = "kubernetes:gateway.k8s.aws/v1:LoadBalancerConfiguration"
ALB_CONTROLLER = "ingress.k8s.aws/alb"
INBOUND_CIDRS = "alb.ingress.kubernetes.io/inbound-cidrs"
SVC_SOURCE_RANGES = "service.beta.kubernetes.io/load-balancer-source-ranges"
SVC_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"


@dataclass(frozen=True)
class Admission:
    """One way traffic from outside is let in."""

    where: str
    """The object that says so: `Ingress alb-ingress`, `SecurityGroupIngressRule eks-test-nodeport-0`..."""
    opens: str
    """What it opens: a security group's ID, or the object whose load balancer it is."""
    ports: tuple[int, int] | None
    """The port range; None: the load balancer's listeners."""
    cidrs: tuple[str, ...] | None
    """None: no restriction given, so the controller (or AWS) lets every source in."""


def _csv(text: str | None) -> tuple[str, ...] | None:
    return tuple(c.strip() for c in text.split(",") if c.strip()) if text else None


def _meta(r: Resource) -> dict:
    return plain(r.inputs.get("metadata") or {})


def _sg_rules(graph: Graph) -> list[Admission]:
    found = []
    for r in graph.of_type(SG_INGRESS_RULE):
        i = plain(r.inputs)
        if i.get("referencedSecurityGroupId"):
            continue  # from another security group of the VPC (a load balancer's), not from outside
        cidrs = tuple(c for c in (i.get("cidrIpv4"), i.get("cidrIpv6")) if c) or None
        found.append(Admission(f"SecurityGroupIngressRule {r.name}", i["securityGroupId"],
                               (i.get("fromPort", 0), i.get("toPort", 65535)), cidrs))
    for r in graph.of_type(SG):
        for n, rule in enumerate(plain(r.inputs.get("ingress") or [])):
            cidrs = (*rule.get("cidrBlocks", []), *rule.get("ipv6CidrBlocks", []))
            if cidrs or not rule.get("securityGroups"):
                found.append(Admission(f"SecurityGroup {r.name} ingress[{n}]", f"{r.name}-id",  # its mock ID
                                       (rule["fromPort"], rule["toPort"]), cidrs or None))
    for r in graph.of_type(SG_RULE):
        i = plain(r.inputs)
        if i.get("type") == "ingress" and not i.get("sourceSecurityGroupId"):
            cidrs = (*i.get("cidrBlocks", []), *i.get("ipv6CidrBlocks", []))
            found.append(Admission(f"SecurityGroupRule {r.name}", i["securityGroupId"],
                                   (i["fromPort"], i["toPort"]), cidrs or None))
    return found


def _load_balancer_service(where: str, service: dict) -> Admission | None:
    """A LoadBalancer Service's NLB, as the controller reads its sources (spec first)."""
    spec = service.get("spec") or {}
    annotations = service.get("annotations") or {}
    if spec.get("type") != "LoadBalancer" or annotations.get(SVC_SCHEME) != "internet-facing":
        return None
    cidrs = tuple(spec.get("loadBalancerSourceRanges") or ()) or _csv(annotations.get(SVC_SOURCE_RANGES))
    return Admission(where, where, None, cidrs)


def _services(graph: Graph) -> list[Admission]:
    found = []
    for r in graph.of_type(SERVICE):
        meta = _meta(r)
        svc = {"spec": plain(r.inputs.get("spec") or {}), "annotations": meta.get("annotations")}
        found.append(_load_balancer_service(f"Service {meta.get('name', r.name)}", svc))
    for r in graph.of_type(RELEASE):  # a chart's Service, as its values ask for it
        values = plain(r.inputs.get("values") or {})
        for service in ((values.get("controller") or {}).get("service"), values.get("service")):
            if isinstance(service, dict):
                svc = {"spec": {**service, **(service.get("spec") or {})}, "annotations": service.get("annotations")}
                found.append(_load_balancer_service(f"Helm release {r.inputs.get('name', r.name)}'s Service", svc))
    return [a for a in found if a]


def _alb_ingresses(graph: Graph) -> list[Admission]:
    classes = {_meta(c).get("name") for c in graph.of_type(INGRESS_CLASS)
               if plain(c.inputs.get("spec") or {}).get("controller") == ALB_CONTROLLER}
    found = []
    for r in graph.of_type(INGRESS):
        annotations = _meta(r).get("annotations") or {}
        if plain(r.inputs.get("spec") or {}).get("ingressClassName") not in classes:
            continue
        if annotations.get("alb.ingress.kubernetes.io/scheme") != "internet-facing":
            continue
        # Each Ingress says it itself: one without the annotation relies on the others of its group.
        found.append(Admission(f"Ingress {_meta(r)['name']}", f"ALB of IngressGroup "
                               f"{annotations.get('alb.ingress.kubernetes.io/group.name', _meta(r)['name'])}",
                               None, _csv(annotations.get(INBOUND_CIDRS))))
    return found


def _gateways(graph: Graph) -> list[Admission]:
    found = []
    for r in graph.of_type(LB_CONFIG):
        spec = plain(r.inputs.get("spec") or {})
        if spec.get("scheme") == "internet-facing":  # the controller's default is internal
            name = f"LoadBalancerConfiguration {_meta(r)['name']}"
            found.append(Admission(name, name, None, tuple(spec.get("sourceRanges") or ()) or None))
    return found


def _program_load_balancers(graph: Graph) -> list[Admission]:
    """An internet-facing load balancer of the program without a security group admits everyone."""
    return [Admission(f"load balancer {r.name}", f"load balancer {r.name}", None, None)
            for r in graph.of_type(AWS_LB) if not r.inputs.get("internal") and not r.inputs.get("securityGroups")]


def admissions(graph: Graph) -> list[Admission]:
    """Every way in from outside that the graph registers."""
    return [*_sg_rules(graph), *_services(graph), *_alb_ingresses(graph), *_gateways(graph),
            *_program_load_balancers(graph)]


def _inside_vpc(graph: Graph, cidr: str) -> bool:
    net = ipaddress.ip_network(cidr)
    return any(net.version == 4 and net.subnet_of(ipaddress.IPv4Network(v.inputs["cidrBlock"]))
               for v in graph.of_type("aws:ec2/vpc:Vpc"))


def problems(graph: Graph, allowed: list[str]) -> list[str]:
    """Every admission that lets in a source outside `allowed` (sources inside the VPC are no
    one from the internet), or that has no restriction at all."""
    found = []
    for a in admissions(graph):
        if a.cidrs is None:
            found.append(f"{a.where}: no source restriction, so {a.opens} admits {ANYWHERE}")
            continue
        extra = [c for c in a.cidrs if c not in allowed and not _inside_vpc(graph, c)]
        if extra:
            found.append(f"{a.where}: {a.opens} admits {', '.join(extra)}, outside {', '.join(allowed)}")
    return found


def entry_sources(graph: Graph) -> dict[str, list[str] | None]:
    """Per entry point of the stack output `entrypoints`: the sources the graph admits to it
    (None: some way in to it has no restriction, or none was found)."""
    every = admissions(graph)
    cluster_sg = graph.one("eks:index:Cluster").state.get("clusterSecurityGroupId")
    program_sgs = {sg for lb in graph.of_type(AWS_LB) for sg in lb.inputs.get("securityGroups") or []}
    ingress_class = {_meta(r)["name"]: plain(r.inputs["spec"]).get("ingressClassName") for r in graph.of_type(INGRESS)}

    def ways_in(entry: dict) -> list[Admission]:
        if "nodePort" in entry:  # straight to the nodes: the cluster security group
            port = entry["nodePort"]
            return [a for a in every if a.opens == cluster_sg and a.ports and a.ports[0] <= port <= a.ports[1]]
        if "gateway" in entry:
            gw = plain(graph.k8s("Gateway", entry["gateway"]).inputs["spec"])
            ref = ((gw.get("infrastructure") or {}).get("parametersRef") or {}).get("name")
            return [a for a in every if a.where == f"LoadBalancerConfiguration {ref}"]
        if "service" in entry:
            return [a for a in every if a.where == f"Service {entry['service']}"]
        cls = ingress_class.get(entry.get("ingress"))
        if cls == "nginx":
            return [a for a in every if a.where == "Helm release ingress-nginx's Service"]
        if cls == "traefik":  # behind the program's own NLB: its security groups
            return [a for a in every if a.opens in program_sgs]
        return [a for a in every if a.where == f"Ingress {entry.get('ingress')}"]

    found: dict[str, list[str] | None] = {}
    for name, entry in (graph.outputs.get("entrypoints") or {}).items():
        ways = ways_in(entry)
        found[name] = None if not ways or any(a.cidrs is None for a in ways) else \
            sorted({c for a in ways for c in a.cidrs or ()})
    return found
