"""The lab model: what the lab is, derived once from validated settings, as plain data.

`lab_model(settings)` says which node groups, Services, Ingresses, Helm releases
(with their chart pins) and load balancers (with their AWS names) the lab has,
its entry points with their routes and expectations, and the items that bill by
the hour. No Pulumi here: the components take their arguments from it, and the
outputs contract, the cost (stacks/prices.py), the time (stacks/estimates.py)
and the offline plan read it. A lesson is added here, once.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacks import entrypoints, names
from stacks.model_types import (APP_NAMESPACE, APPS, CANARY_HEADER, CANARY_PATH, CANARY_WEIGHTS,
                                SERVICE_PORT, AlbGroup, AlbIngressDef, AlbPath, AlbRule, Gateway,
                                GatewayBackend, GatewayRule, HttpRouteDef, Nginx, NginxRoute, NodeGroup, PinnedChart,
                                PinnedManifest, Release, ServiceDef, Traefik, TraefikBackend)
from stacks.settings import LabSettings

NLB_SERVICE = "app-lb-svc"
ALB_HEALTHCHECK = {"alb.ingress.kubernetes.io/healthcheck-path": "/healthz"}
ROOT_VOLUME_GB = 20  # the EKS managed node group default disk size


LB_CONTROLLER_CHART = PinnedChart("aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts")
# Retired in March 2026: 4.15.1 is the final release. Post 000 teaches with it; Gateway API succeeds it.
INGRESS_NGINX_CHART = PinnedChart("ingress-nginx", "4.15.1", "https://kubernetes.github.io/ingress-nginx")
TRAEFIK_CHART = PinnedChart("traefik", "41.3.0", "https://traefik.github.io/charts")  # Traefik v3.7.11
# The standard channel (GatewayClass, Gateway, HTTPRoute, GRPCRoute, ReferenceGrant...), as the
# controller v3.5.0 expects it; its chart does not install these.
GATEWAY_API_CRDS = PinnedManifest(
    "gateway-api-standard", "v1.6.0",
    "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.0/standard-install.yaml")


@dataclass(frozen=True)
class LoadBalancer:
    kind: str  # ALB | NLB
    name: str | None
    """Its name in AWS when the lab sets one (None: the controller derives it)."""
    fronts: str
    made_by: str  # the controller | the program
    internet_facing: bool
    subnets: int
    module: str


@dataclass(frozen=True)
class Priced:
    """One thing that bills by the hour; stacks/prices.py gives it a price."""

    kind: str  # control-plane | ec2 | ebs | nat | public-ipv4 | alb | nlb
    what: str
    quantity: int
    module: str | None  # None: the lab itself, whatever the modules
    instance_type: str = ""
    disk_gb: int = 0


@dataclass(frozen=True)
class LabModel:
    settings: LabSettings
    node_groups: list[NodeGroup]
    services: list[ServiceDef]
    on_every_node_group: list[str]
    """Apps that keep a replica in each node group (a Local Service answers only from
    pods on the node it reaches)."""
    controller: Release | None
    alb: AlbGroup | None
    nginx: Nginx | None
    traefik: Traefik | None
    gateway: Gateway | None
    releases: list[Release]
    client_cidrs: list[str]
    """lab:clientCidrs: the only sources any entry point admits (the NodePorts through the
    cluster security group's rule over the whole NodePort range)."""
    load_balancers: list[LoadBalancer]
    entrypoints: dict[str, entrypoints.Entrypoint]
    internal: dict
    priced: list[Priced]


def lab_model(s: LabSettings) -> LabModel:
    services = service_defs(s)
    m = s.modules
    # Pods: the controller chart's replicaCount 2; nginx's controller and its admission job;
    # one Traefik (the charts' defaults, see ../shared/reference values).
    controller = Release(LB_CONTROLLER_CHART, "kube-system", "loadBalancerController", pods=2) \
        if m.load_balancer_controller else None
    alb = AlbGroup(names.ingress_group(s.cluster_name), names.load_balancer(s.cluster_name, "lab"),
                   alb_ingresses(s), client_cidrs(s)) if m.alb else None
    nginx = Nginx(s.ingress_nginx.service_type, s.ingress_nginx.http_node_port, s.ingress_nginx.https_node_port,
                  [NginxRoute(f"/v{i}", f"{app}-svc", SERVICE_PORT) for i, app in enumerate(APPS, 1)],
                  client_cidrs(s)) if m.ingress_nginx else None
    traefik = Traefik(s.traefik.web_node_port, s.traefik.websecure_node_port, traefik_backends(s),
                      names.load_balancer(s.cluster_name, "traefik"), client_cidrs(s)) if m.traefik else None
    gateway = gateway_def(s) if m.gateway_api else None
    releases = [r for r in (controller,
                            Release(INGRESS_NGINX_CHART, "ingress-nginx", "ingressNginx", pods=2) if nginx else None,
                            Release(TRAEFIK_CHART, "api-gateway-system", "traefik", pods=1) if traefik else None)
                if r]
    balancers = load_balancers(s, services, alb, nginx, traefik, gateway)
    return LabModel(
        settings=s, node_groups=node_groups(s), services=services,
        on_every_node_group=sorted({d.app for d in services if d.external_traffic_policy == "Local"}),
        controller=controller, alb=alb, nginx=nginx, traefik=traefik, gateway=gateway, releases=releases,
        client_cidrs=client_cidrs(s), load_balancers=balancers,
        entrypoints=entrypoints.entrypoints(s, has_nlb=any(d.name == NLB_SERVICE for d in services)),
        internal=entrypoints.internal(s, APP_NAMESPACE, SERVICE_PORT),
        priced=priced_items(s, balancers))


def client_cidrs(s: LabSettings) -> list[str]:
    return [str(c) for c in s.client_cidrs]


def node_groups(s: LabSettings) -> list[NodeGroup]:
    return [s.private_nodes, s.public_nodes]


def service_defs(s: LabSettings) -> list[ServiceDef]:
    """The Services of docs/lessons.md, lessons 1-4, by the posts' names."""
    # With ip targets the ALB health-checks the pods themselves; they answer /healthz.
    backend_annotations = ALB_HEALTHCHECK if s.modules.alb else {}
    defs = [
        ServiceDef("app-clusterip-svc", "ClusterIP", app="app1"),
        ServiceDef("app-nodeport-svc", "NodePort", app="app1", node_port=s.node_port),
        # What post 000 only explains: Local keeps the client address, uses only local pods.
        ServiceDef("app-nodeport-local-svc", "NodePort", app="app1", node_port=s.node_port_local,
                   external_traffic_policy="Local"),
        ServiceDef("web-service-externalname", "ExternalName", external_name=s.external_name),
        ServiceDef("app1-svc", "ClusterIP", app="app1", annotations=dict(backend_annotations)),
        ServiceDef("app2-svc", "ClusterIP", app="app2", annotations=dict(backend_annotations)),
    ]
    if s.modules.nlb:
        defs.append(ServiceDef(
            NLB_SERVICE, "LoadBalancer", app="app1", port=80,
            # The controller's current form of the post's `aws-load-balancer-type: nlb`.
            load_balancer_class="service.k8s.aws/nlb",
            annotations={
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
            },
            # The controller (v3.5.0, pkg/service/model_build_managed_sg.go) reads these before the
            # annotation load-balancer-source-ranges, and without either opens the listener to
            # 0.0.0.0/0. They become the rules of the NLB's own security group; the nodes' group
            # admits the NLB's group on the NodePort (instance targets), and the NodePort itself
            # is open only to the same sources (the cluster security group's rule).
            load_balancer_source_ranges=client_cidrs(s)))
    return defs


def alb_ingresses(s: LabSettings) -> list[AlbIngressDef]:
    """Lesson 6 of docs/lessons.md on one ALB: /v1 and /v2 (Prefix: the post's `/v1/*` is wrong there),
    then post 002's host rules, whose host-less rule catches everything else."""
    return [
        AlbIngressDef("alb-ingress", group_order=10, rules=[AlbRule(host=None, paths=[
            AlbPath("/v1", "Prefix", "app1-svc", SERVICE_PORT),
            AlbPath("/v2", "Prefix", "app2-svc", SERVICE_PORT),
        ])]),
        AlbIngressDef("alb-host-ingress", group_order=20, rules=[
            AlbRule(host=f"my.{s.domain}", paths=[
                AlbPath("/some-path", "Prefix", "app1-svc", SERVICE_PORT),
                AlbPath("/some-other-path", "Exact", "app2-svc", SERVICE_PORT),
            ]),
            AlbRule(host=f"*.{s.domain}", paths=[AlbPath("/some-path", "Prefix", "app2-svc", SERVICE_PORT)]),
            AlbRule(host=None, paths=[AlbPath("/", "Prefix", "app1-svc", SERVICE_PORT)]),
        ]),
    ]


def traefik_backends(s: LabSettings) -> list[TraefikBackend]:
    """Post 004's rules: myapp.<domain>/api and admin.<domain>/."""
    return [TraefikBackend("my-app-service", "app1", f"myapp.{s.domain}", "/api"),
            TraefikBackend("admin-service", "app2", f"admin.{s.domain}", "/")]


def gateway_def(s: LabSettings) -> Gateway:
    """The Gateway API lesson: nginx's /v1 /v2 rewrite on an ALB, a header-matched route and an
    80/20 canary split. Rule order does not matter: the controller orders rules by the API's
    precedence (a match with headers before the same path without)."""
    def to(app: str, weight: int | None = None) -> GatewayBackend:
        return GatewayBackend(f"{app}-svc", SERVICE_PORT, weight)

    rewrite = HttpRouteDef("app-route", [GatewayRule(f"/v{i}", [to(app)], replace_prefix="/")
                                         for i, app in enumerate(APPS, 1)])
    canary = HttpRouteDef("canary-route", [
        GatewayRule(CANARY_PATH, [to("app2")], headers=dict([CANARY_HEADER])),
        GatewayRule(CANARY_PATH, [to(app, weight) for app, weight in CANARY_WEIGHTS.items()]),
    ])
    return Gateway(GATEWAY_API_CRDS, class_name="alb", name="lab-gateway",
                   load_balancer_name=names.load_balancer(s.cluster_name, "gateway"),
                   load_balancer_config="lab-gateway-lb", target_config="lab-gateway-targets",
                   source_cidrs=client_cidrs(s), routes=[rewrite, canary])


def load_balancers(s: LabSettings, services: list[ServiceDef], alb: AlbGroup | None, nginx: Nginx | None,
                   traefik: Traefik | None, gateway: Gateway | None) -> list[LoadBalancer]:
    """Every load balancer of the lab; the controller's span one subnet per zone."""
    zones = len(s.availability_zones)
    found = [LoadBalancer("NLB", None, f"Service {d.name}", "the controller",
                          d.annotations.get("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internet-facing",
                          zones, "nlb") for d in services if d.type == "LoadBalancer"]
    if alb:
        found.append(LoadBalancer("ALB", alb.load_balancer_name,
                                  f"IngressGroup {alb.group_name} ({len(alb.ingresses)} Ingresses)",
                                  "the controller", True, zones, "alb"))
    if nginx and nginx.service_type == "LoadBalancer":
        found.append(LoadBalancer("NLB", None, "Helm release ingress-nginx's Service", "the controller", True,
                                  zones, "ingressNginx"))
    if traefik:
        found.append(LoadBalancer("NLB", traefik.nlb_name, "Traefik", "the program", True, zones, "traefik"))
    if gateway:
        found.append(LoadBalancer("ALB", gateway.load_balancer_name, f"Gateway {gateway.name}", "the controller",
                                  True, zones, "gatewayApi"))
    return found


def priced_items(s: LabSettings, balancers: list[LoadBalancer]) -> list[Priced]:
    items = [Priced("control-plane", f"EKS control plane {s.kubernetes_version} (upgradePolicy {s.support_type})",
                    1, None)]
    for ng in node_groups(s):
        n = ng.desired_size
        items += [Priced("ec2", f"EC2 {ng.instance_type} x{n} ({ng.name})", n, None, instance_type=ng.instance_type),
                  Priced("ebs", f"EBS gp3 root {ROOT_VOLUME_GB} GB x{n} ({ng.name})", n, None,
                         disk_gb=ROOT_VOLUME_GB)]
        if ng.public:  # public subnets: each node gets a public address
            items.append(Priced("public-ipv4", f"public IPv4 x{n}: {ng.name} nodes", n, None))
    zones = s.availability_zones
    for zone in (zones if s.nat_gateways == "perAz" else zones[:1]):
        items += [Priced("nat", f"NAT gateway lab-nat-{zone}", 1, None),
                  Priced("public-ipv4", f"public IPv4: Elastic IP lab-nat-{zone}", 1, None)]
    for lb in balancers:
        what = f"{lb.kind} {lb.name} (of the program)" if lb.made_by == "the program" else f"{lb.kind} for {lb.fronts}"
        items.append(Priced(lb.kind.lower(), what, 1, lb.module))
        if lb.internet_facing:
            label = f"{lb.kind} {lb.name}" if lb.made_by == "the program" else f"{lb.kind} for {lb.fronts.split(' (')[0]}"
            items.append(Priced("public-ipv4", f"public IPv4 x{lb.subnets}: {label}", lb.subnets, lb.module))
    return items
