"""How long the lab takes to be ready: typical creation times and the longest chain.

The figures are typical observed times for `pulumi up` of such resources, not
guarantees: AWS varies by region and hour. The time to a ready lab is the
longest chain of the dependency graph weighted by them. A component takes no
time itself; waiting for one means waiting for all its children.

Two waits are not edges in the program but real: a Kubernetes object waits
for its provider (and so for the cluster), and Pulumi's await of a Deployment
or a Helm release (skipAwait false) lasts until its pods run, which needs a
node. The model adds both.

`model_nodes(model)` is the lab's dependency graph from the lab model, coarse but with
every edge on a possible longest chain, as stacks/lab.py wires the components
(tests/test_plan.py holds it to the program's real graph); the stack output
`estimatedProvisionMinutes` and the offline plan both read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from stacks.model import APPS, LabModel
from stacks.model_types import alb_backends, gateway_backends

SECONDS = 0.1  # "a few seconds", in minutes
# The AWS Load Balancer Controller provisions these after the object is created;
# the lab is not ready before the load balancer is: model the object as that time.
LOAD_BALANCER = (3.0, "load balancer made by the AWS Load Balancer Controller: ~3 min until active")
# While a Gateway's ALB provisions, the controller re-checks it this often and writes Programmed on
# the first check after the ALB is active (statusUpdateRequeueTime, controllers/gateway/
# gateway_controller.go at v3.5.0); the first check comes as it creates the ALB.
GATEWAY_STATUS_REQUEUE = 2.0


def first_check_after(ready: float, period: float) -> float:
    """When a poll every `period` minutes, from 0, first finds ready what is ready at `ready`."""
    return math.ceil(ready / period) * period


GATEWAY_PROGRAMMED = first_check_after(LOAD_BALANCER[0], GATEWAY_STATUS_REQUEUE)

# type -> (minutes, why)
MINUTES: dict[str, tuple[float, str]] = {
    "eks:index:Cluster": (10.0, "EKS control plane: ~10 min (8-12 observed), with its IAM role and OIDC provider"),
    "eks:index:ManagedNodeGroup": (3.5, "managed node group: ~3-4 min for instances to boot and join"),
    "aws:ec2/natGateway:NatGateway": (2.0, "NAT gateway: ~2 min until available"),
    "aws:lb/loadBalancer:LoadBalancer": (3.0, "NLB/ALB of the program: ~3 min until active"),
    "kubernetes:helm.sh/v3:Release": (1.5, "Helm release: ~1-2 min, awaited until its pods are ready"),
    "kubernetes:apps/v1:Deployment": (0.5, "Deployment: ~30 s to pull the image and pass readiness"),
    "kubernetes:core/v1:Service": (SECONDS, "Service: an API call (LoadBalancer: see LOAD_BALANCER)"),
    "kubernetes:networking.k8s.io/v1:Ingress": (SECONDS, "Ingress: an API call (class alb: see LOAD_BALANCER)"),
    "kubernetes:networking.k8s.io/v1:IngressClass": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:core/v1:ConfigMap": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:core/v1:Namespace": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:core/v1:Secret": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:core/v1:ServiceAccount": (SECONDS, "Kubernetes object: an API call"),
    "aws:ec2/vpc:Vpc": (SECONDS, "VPC: seconds"),
    "aws:ec2/subnet:Subnet": (SECONDS, "subnet: seconds"),
    "aws:ec2/internetGateway:InternetGateway": (SECONDS, "internet gateway: seconds"),
    "aws:ec2/eip:Eip": (SECONDS, "Elastic IP: seconds"),
    "aws:ec2/routeTable:RouteTable": (SECONDS, "route table: seconds"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (SECONDS, "route table association: seconds"),
    "aws:ec2/securityGroup:SecurityGroup": (SECONDS, "security group: seconds"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (SECONDS, "security group rule: seconds"),
    "aws:iam/role:Role": (SECONDS, "IAM: seconds"),
    "aws:iam/policy:Policy": (SECONDS, "IAM: seconds"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (SECONDS, "IAM: seconds"),
    "aws:lb/targetGroup:TargetGroup": (SECONDS, "target group: seconds"),
    "aws:lb/listener:Listener": (SECONDS, "listener: seconds"),
    "aws:autoscaling/attachment:Attachment": (SECONDS, "Auto Scaling attachment: seconds"),
    "kubernetes:yaml/v2:ConfigFile": (SECONDS, "manifest file (the Gateway API CRDs): fetched and applied, API calls"),
    "kubernetes:gateway.networking.k8s.io/v1:GatewayClass": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:gateway.k8s.aws/v1:LoadBalancerConfiguration": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:gateway.k8s.aws/v1:TargetGroupConfiguration": (SECONDS, "Kubernetes object: an API call"),
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": (
        GATEWAY_PROGRAMMED, f"Gateway: awaited until Programmed, which the controller writes on its first "
        f"status check (every {GATEWAY_STATUS_REQUEUE:g} min) after its ALB is active (~{LOAD_BALANCER[0]:g} min): "
        f"~{GATEWAY_PROGRAMMED:g} min"),
    "pulumi:providers:kubernetes": (0.0, "provider: local, no cloud call"),
    "tls:index/privateKey:PrivateKey": (0.0, "TLS: computed locally"),
    "tls:index/selfSignedCert:SelfSignedCert": (0.0, "TLS: computed locally"),
    "tls:index/certRequest:CertRequest": (0.0, "TLS: computed locally"),
    "tls:index/locallySignedCert:LocallySignedCert": (0.0, "TLS: computed locally"),
}
UNKNOWN = (0.5, "no entry in stacks/estimates.py: assumed 30 s")
COMPONENT_PREFIX = "lab:index:"
NODE_GROUP = "eks:index:ManagedNodeGroup"
RUNS_PODS = ("kubernetes:apps/v1:Deployment", "kubernetes:helm.sh/v3:Release")


def minutes(type_: str, inputs: Mapping[str, Any]) -> tuple[float, str]:
    """Typical creation time of one resource, and why."""
    if type_.startswith(COMPONENT_PREFIX):
        return 0.0, "component: waits for its children"
    spec = inputs.get("spec") or {}
    if type_ == "kubernetes:core/v1:Service" and spec.get("type") == "LoadBalancer":
        return LOAD_BALANCER
    if type_ == "kubernetes:networking.k8s.io/v1:Ingress" and spec.get("ingressClassName") == "alb":
        return LOAD_BALANCER
    if type_ == "kubernetes:helm.sh/v3:Release" and _chart_load_balancer(inputs.get("values") or {}):
        helm = MINUTES[type_][0]
        return helm + LOAD_BALANCER[0], "Helm release whose Service is a LoadBalancer: release + NLB"
    return MINUTES.get(type_, UNKNOWN)


def _chart_load_balancer(values: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The chart's Service settings when they ask for a LoadBalancer (ingress-nginx's shape)."""
    for service in ((values.get("controller") or {}).get("service"), values.get("service")):
        if isinstance(service, Mapping) and service.get("type") == "LoadBalancer":
            return service
    return None


@dataclass
class Node:
    key: str
    type: str
    name: str
    preds: list[str] = field(default_factory=list)
    """What it waits for; a component waits for its children."""
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    type: str
    name: str
    minutes: float


def critical_path(nodes: Iterable[Node]) -> tuple[float, list[Step]]:
    """The longest chain: total minutes and its steps (components and zero-time steps left out)."""
    by_key = {n.key: n for n in nodes}
    # Ties go by type and name: registration order varies from run to run.
    order = {n.key: i for i, n in enumerate(sorted(by_key.values(), key=lambda n: (n.type, n.name, n.key)))}
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}

    def done(key: str, visiting: frozenset[str] = frozenset()) -> float:
        if key in finish:
            return finish[key]
        if key in visiting:
            raise ValueError(f"dependency cycle through {key}")
        node = by_key[key]
        start, before = 0.0, None
        for pred in sorted(node.preds, key=lambda k: order.get(k, -1)):
            if pred in by_key and (t := done(pred, visiting | {key})) > start:
                start, before = t, pred
        # Rounded: equal chains tie exactly, and the first registered wins.
        finish[key] = round(start + minutes(node.type, node.inputs)[0], 6)
        via[key] = before
        return finish[key]

    if not by_key:
        return 0.0, []
    end = max(sorted(by_key, key=order.__getitem__), key=done)
    steps, key = [], end
    while key is not None:
        node = by_key[key]
        took = minutes(node.type, node.inputs)[0]
        if took > 0:
            steps.append(Step(node.type, node.name, took))
        key = via[key]
    return finish[end], steps[::-1]


# --- the lab model's graph -----------------------------------------------

class _Dag:
    """A small builder: nodes named by key, edges to keys or to whole groups."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []

    def add(self, key: str, type_: str, preds: Iterable[str] = (), inputs: Mapping[str, Any] | None = None,
            name: str | None = None) -> str:
        """`name`: the program's name for it, where it differs from the key."""
        self.nodes.append(Node(key, type_, name or key, list(preds), dict(inputs or {})))
        return key


def model_nodes(model: LabModel) -> list[Node]:
    """The lab's dependency graph, from its model."""
    s = model.settings
    d = _Dag()
    t = "aws:ec2/"
    vpc = d.add("vpc", t + "vpc:Vpc", name="lab-vpc")
    igw = d.add("igw", t + "internetGateway:InternetGateway", [vpc])
    subnets = [d.add(f"subnet-{k}-{z}", t + "subnet:Subnet", [vpc], name=f"lab-{k}-{z}") for k in ("public", "private")
               for z in s.availability_zones]
    nats = []
    for z in (s.availability_zones if s.nat_gateways == "perAz" else s.availability_zones[:1]):
        eip = d.add(f"eip-{z}", t + "eip:Eip")
        nats.append(d.add(f"nat-{z}", t + "natGateway:NatGateway", [eip, f"subnet-public-{z}", igw]))
    for z in s.availability_zones:
        rt = d.add(f"rt-{z}", t + "routeTable:RouteTable", [vpc, *nats])
        d.add(f"rta-{z}", t + "routeTableAssociation:RouteTableAssociation", [rt, f"subnet-private-{z}"])
    cluster = d.add("cluster", "eks:index:Cluster", [vpc, *subnets], name=s.cluster_name)
    role = d.add("node-role", "aws:iam/role:Role")
    attachments = [d.add(f"node-attach-{i}", "aws:iam/rolePolicyAttachment:RolePolicyAttachment", [role])
                   for i in range(3)]
    ngs = [d.add(ng.name, NODE_GROUP, [cluster, role, *attachments, *subnets]) for ng in model.node_groups]
    k8s = d.add("k8s-provider", "pulumi:providers:kubernetes", [cluster])
    kube = [k8s]

    config_map = d.add("testapp-source", "kubernetes:core/v1:ConfigMap", kube)
    testapp = [d.add(f"{app}-deploy", "kubernetes:apps/v1:Deployment", [config_map, *kube, *ngs])
               for app in APPS]
    served = []
    if model.controller:
        irsa = d.add("lbc-irsa", "aws:iam/role:Role", [cluster])
        attach = d.add("lbc-attach", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                       [irsa, d.add("lbc-policy", "aws:iam/policy:Policy")])
        sa = d.add("lbc-sa", "kubernetes:core/v1:ServiceAccount", [irsa, *kube])
        crds = [d.add("gateway-api-crds", "kubernetes:yaml/v2:ConfigFile", kube,
                      name=f"{model.controller.name}-{model.gateway.crds.name}")] if model.gateway else []
        served = [d.add("lbc-release", "kubernetes:helm.sh/v3:Release", [sa, attach, vpc, *ngs, *kube, *crds],
                        name=model.controller.name)]
    services = {svc.name: d.add(svc.name, "kubernetes:core/v1:Service", [*served, *kube],
                                {"spec": {"type": svc.type}}) for svc in model.services}
    if model.alb:
        cls = d.add("alb-class", "kubernetes:networking.k8s.io/v1:IngressClass", [*served, *kube], name="alb")
        backends = [services[n] for n in alb_backends(model.alb)]
        for ing in model.alb.ingresses:
            d.add(ing.name, "kubernetes:networking.k8s.io/v1:Ingress", [cls, *served, *backends, *kube],
                  {"spec": {"ingressClassName": "alb"}})
    if model.nginx:
        ns = d.add("nginx-ns", "kubernetes:core/v1:Namespace", kube)
        release = d.add("nginx-release", "kubernetes:helm.sh/v3:Release", [ns, *served, *kube, *ngs],
                        {"values": {"controller": {"service": {"type": model.nginx.service_type}}}},
                        name="ingress-nginx")
        backends = [services[r.service] for r in model.nginx.routes]
        d.add("app-ingress", "kubernetes:networking.k8s.io/v1:Ingress", [release, *served, *backends, *kube])
    if model.traefik:
        _traefik(d, model, served, testapp, kube, ngs, cluster, vpc)
    if model.gateway:
        _gateway(d, model, served, services, kube)
    return d.nodes


def _gateway(d: _Dag, model: LabModel, served: list[str], services: dict[str, str], kube: list[str]) -> None:
    g, api, aws = model.gateway, "kubernetes:gateway.networking.k8s.io/v1:", "kubernetes:gateway.k8s.aws/v1:"
    cls = d.add("gateway-class", api + "GatewayClass", [*served, *kube], name=f"{g.class_name}-gatewayclass")
    targets = d.add("gateway-targets", aws + "TargetGroupConfiguration", [*served, *kube], name=g.target_config)
    config = d.add("gateway-lb", aws + "LoadBalancerConfiguration", [targets, *served, *kube],
                   name=g.load_balancer_config)
    gateway = d.add("gateway", api + "Gateway", [cls, config, *served, *kube], name=g.name)
    backends = [services[n] for n in gateway_backends(g)]
    for route in g.routes:
        d.add(f"route-{route.name}", api + "HTTPRoute", [gateway, *backends, *served, *kube], name=route.name)


def _traefik(d: _Dag, model: LabModel, served: list[str], testapp: list[str], kube: list[str],
             ngs: list[str], cluster: str, vpc: str) -> None:
    ns = d.add("traefik-ns", "kubernetes:core/v1:Namespace", kube)
    release = d.add("traefik-release", "kubernetes:helm.sh/v3:Release", [ns, *served, *testapp, *kube, *ngs],
                    name="traefik")
    secret = d.add("traefik-tls", "kubernetes:core/v1:Secret", kube)
    backends = [d.add(f"traefik-{b.service}", "kubernetes:core/v1:Service", [*served, *testapp, *kube])
                for b in model.traefik.backends]
    d.add("traefik-ingress", "kubernetes:networking.k8s.io/v1:Ingress", [release, secret, *backends, *kube])
    sg = d.add("traefik-sg", "aws:ec2/securityGroup:SecurityGroup", [vpc])
    public = [f"subnet-public-{z}" for z in model.settings.availability_zones]
    nlb = d.add("traefik-nlb", "aws:lb/loadBalancer:LoadBalancer", [sg, *public])
    for port in ("web", "websecure"):
        group = d.add(f"traefik-tg-{port}", "aws:lb/targetGroup:TargetGroup", [vpc])
        d.add(f"traefik-listener-{port}", "aws:lb/listener:Listener", [nlb, group])
        for ng in ngs:
            d.add(f"traefik-{port}-{ng}", "aws:autoscaling/attachment:Attachment", [ng, group])
        d.add(f"traefik-{port}-rule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", [cluster, nlb])


def provision_minutes(model: LabModel) -> float:
    """Minutes to a ready lab (a stack output)."""
    return round(critical_path(model_nodes(model))[0], 1)
