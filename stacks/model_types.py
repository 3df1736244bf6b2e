"""The parts of the lab model that components take as arguments: plain data, no Pulumi."""

from __future__ import annotations

from dataclasses import dataclass, field

# A node group is as the settings give it; components take it under this name.
from stacks.settings.types import NodeGroupSettings as NodeGroup  # noqa: F401

APPS = ["app1", "app2"]
APP_NAMESPACE = "default"  # the posts' namespace for the app and its Services
SERVICE_PORT = 3000
CONTAINER_PORT = 8080
# The Gateway API lesson's canary: the header that always reaches app2, and the split otherwise.
CANARY_PATH = "/canary"
CANARY_HEADER = ("x-lab-canary", "always")
CANARY_WEIGHTS = {"app1": 80, "app2": 20}


@dataclass(frozen=True)
class PinnedChart:
    name: str
    version: str
    repo: str


@dataclass
class ServiceDef:
    """One Service; `app` is the pod label it selects (none for ExternalName)."""

    name: str
    type: str  # ClusterIP | NodePort | LoadBalancer | ExternalName
    app: str | None = None
    port: int = SERVICE_PORT
    target_port: int | str = CONTAINER_PORT
    node_port: int | None = None
    external_traffic_policy: str | None = None
    external_name: str | None = None
    port_name: str | None = "http"
    load_balancer_class: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    load_balancer_source_ranges: list[str] = field(default_factory=list)
    """A LoadBalancer's allowed sources (spec.loadBalancerSourceRanges): its NLB's security group."""


@dataclass
class AlbPath:
    path: str
    path_type: str  # Prefix | Exact
    service: str
    port: int


@dataclass
class AlbRule:
    host: str | None
    """None: the rule for every other host (the default)."""
    paths: list[AlbPath]


@dataclass
class AlbIngressDef:
    name: str
    rules: list[AlbRule]
    group_order: int


@dataclass(frozen=True)
class AlbGroup:
    """Every ALB Ingress joins one IngressGroup: one ALB (and one hourly charge) for all."""

    group_name: str
    load_balancer_name: str
    ingresses: list[AlbIngressDef]
    source_cidrs: list[str]
    """The ALB's allowed sources: the `inbound-cidrs` of every Ingress of the group."""


def alb_backends(group: AlbGroup) -> list[str]:
    """The Services the group's Ingresses route to."""
    return sorted({p.service for ing in group.ingresses for rule in ing.rules for p in rule.paths})


@dataclass
class NginxRoute:
    prefix: str  # /v1
    service: str
    port: int


@dataclass(frozen=True)
class Nginx:
    service_type: str
    http_node_port: int
    https_node_port: int
    routes: list[NginxRoute]
    source_cidrs: list[str]
    """As LoadBalancer, its NLB's allowed sources (as NodePort, the cluster security group's rule)."""


@dataclass
class TraefikBackend:
    service: str  # my-app-service, admin-service
    app: str
    host: str
    path: str


@dataclass(frozen=True)
class Traefik:
    web_node_port: int
    websecure_node_port: int
    backends: list[TraefikBackend]
    nlb_name: str
    source_cidrs: list[str]
    """Who its NLB's security group admits on 80 and 443."""


@dataclass(frozen=True)
class Release:
    chart: PinnedChart
    namespace: str
    module: str
    pods: int
    """Pods its chart runs with the lab's values (jobs that run during the install included)."""

    @property
    def name(self) -> str:
        return self.chart.name  # release name = chart name: the chart's objects get their documented names


@dataclass(frozen=True)
class PinnedManifest:
    """Objects the program applies from one pinned upstream file (not a chart)."""

    name: str
    version: str
    url: str


@dataclass
class GatewayBackend:
    service: str
    port: int
    weight: int | None = None
    """Share of the rule's requests (backendRefs[].weight); None: the only backend."""


@dataclass
class GatewayRule:
    """One HTTPRoute rule: a PathPrefix match, optionally with exact header matches."""

    path: str
    backends: list[GatewayBackend]
    headers: dict[str, str] = field(default_factory=dict)
    replace_prefix: str | None = None
    """URLRewrite ReplacePrefixMatch: the matched prefix becomes this (`/`), as nginx's rewrite did."""


@dataclass
class HttpRouteDef:
    name: str
    rules: list[GatewayRule]


@dataclass(frozen=True)
class Gateway:
    """The Gateway API lesson: one Gateway on an ALB of the AWS Load Balancer Controller."""

    crds: PinnedManifest
    class_name: str
    name: str
    load_balancer_name: str
    load_balancer_config: str
    """The LoadBalancerConfiguration: internet-facing, the ALB's name, the allowed sources."""
    target_config: str
    """The TargetGroupConfiguration every backend of the Gateway takes: ip targets."""
    source_cidrs: list[str]
    """The ALB's allowed sources (the LoadBalancerConfiguration's sourceRanges)."""
    routes: list[HttpRouteDef]


def gateway_backends(gateway: Gateway) -> list[str]:
    """The Services the Gateway's HTTPRoutes send to."""
    return sorted({b.service for r in gateway.routes for rule in r.rules for b in rule.backends})
