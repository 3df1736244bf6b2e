"""The lab's settings as typed values: what every part of the program is built from.

Every key lives in the `lab:` namespace (plus `aws:region`); see the README table.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field

PROJECT = "eks-networking-lab"


@dataclass(frozen=True)
class NodeGroupSettings:
    """One managed node group: ng-private or ng-public (docs/lessons.md, lesson 2)."""

    name: str
    """Node group name as in the post (`ng-private`, `ng-public`)."""
    label: str
    """Value of the node label `nodegroup`."""
    instance_type: str
    desired_size: int
    min_size: int
    max_size: int
    public: bool
    """Public node groups sit in the public subnets (their instances get public IPs)."""


@dataclass(frozen=True)
class Modules:
    """Optional parts of the lab; each costs money by the hour when on."""

    load_balancer_controller: bool
    """AWS Load Balancer Controller (no charge itself; needed by nlb and alb)."""
    nlb: bool
    """app-lb-svc, a LoadBalancer Service: one NLB."""
    alb: bool
    """The ALB Ingress and its host rules: one ALB."""
    ingress_nginx: bool
    """ingress-nginx and app-ingress (free as NodePort; one NLB as LoadBalancer)."""
    traefik: bool
    """Traefik behind an NLB of the program's own (post 004): one NLB."""
    gateway_api: bool
    """The Gateway API on the controller's ALB (ingress-nginx's successor): one ALB."""


@dataclass(frozen=True)
class IngressNginxSettings:
    service_type: str
    """NodePort (the post) or LoadBalancer (an NLB, as post 002 recommends)."""
    http_node_port: int
    https_node_port: int


@dataclass(frozen=True)
class TraefikSettings:
    web_node_port: int
    websecure_node_port: int


MODULE_KEYS = {"loadBalancerController": "load_balancer_controller", "nlb": "nlb", "alb": "alb",
               "ingressNginx": "ingress_nginx", "traefik": "traefik", "gatewayApi": "gateway_api"}
# module -> the module it cannot run without
MODULE_NEEDS = {"nlb": "loadBalancerController", "alb": "loadBalancerController",
                "gatewayApi": "loadBalancerController"}


@dataclass(frozen=True)
class LabSettings:
    """Everything the lab's components are built from; see the README table."""

    stack: str
    region: str
    cluster_name: str
    kubernetes_version: str
    allow_extended_support: bool
    support_type: str
    """The cluster's upgradePolicy.supportType (stacks/versions.py: support_type)."""
    vpc_cidr: ipaddress.IPv4Network
    availability_zones: list[str]
    public_subnet_cidrs: list[ipaddress.IPv4Network]
    private_subnet_cidrs: list[ipaddress.IPv4Network]
    nat_gateways: str
    """`single` (one shared NAT gateway, the cheap default) or `perAz`."""
    api_access_cidrs: list[ipaddress.IPv4Network]
    client_cidrs: list[ipaddress.IPv4Network]
    """Who may reach any of the lab's entry points: the NodePorts, both NLBs, both ALBs."""
    admin_principal_arns: list[str]
    """IAM roles/users given cluster-admin access entries, besides the identity that creates
    the cluster: whoever destroys the lab must reach the Kubernetes API."""
    private_nodes: NodeGroupSettings
    public_nodes: NodeGroupSettings
    owner: str
    expires_at: dt.datetime
    app_image: str
    """Image that runs testapp/server.py; any image with python3 on its PATH."""
    app_replicas: int
    node_port: int
    """app-nodeport-svc's nodePort (30001 in the post)."""
    node_port_local: int
    """app-nodeport-local-svc's nodePort (externalTrafficPolicy Local)."""
    external_name: str
    """The domain web-service-externalname points at (www.google.com in post 003)."""
    modules: Modules
    ingress_nginx: IngressNginxSettings
    traefik: TraefikSettings
    domain: str
    """Domain of the host rules (my.<domain>, *.<domain>); example.com in post 002."""
    tags: dict[str, str] = field(default_factory=dict)
    """Common tags for every AWS resource (lab, stack, cluster, owner, expiry)."""


