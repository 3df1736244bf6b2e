"""The lab's settings: one typed, validated object built from Pulumi config.

Every key lives in the `lab:` namespace (plus `aws:region`). Defaults are the
values of the posts (LAB.md), except where today's AWS asks for better (the
Kubernetes version). Every bad value is reported, with its key and what is
allowed, before the program registers a single resource.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from stacks import versions
from stacks.config_reader import Reader, SettingsError, parse_cidr

PROJECT = "eks-networking-lab"

REGION_PATTERN = r"[a-z]{2}(-gov)?-[a-z]+-\d"
# EKS: 1-100 characters, starting with a letter or digit.
CLUSTER_NAME_PATTERN = r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}"
INSTANCE_TYPE_PATTERN = r"[a-z][a-z0-9-]*\.[0-9a-z]+"
# RFC 1123 DNS name with at least two labels, as an ExternalName target must be.
DNS_NAME_PATTERN = r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+"
IMAGE_PATTERN = r"[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?"
NODE_PORT_RANGE = (30000, 32767)
# An IAM role or user: what an EKS access entry can name (not an STS session ARN).
PRINCIPAL_ARN_PATTERN = r"arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)/[\w+=,.@/-]{1,512}"


@dataclass(frozen=True)
class NodeGroupSettings:
    """One managed node group (LAB.md section 1)."""

    name: str
    """Node group name as in the post (`ng-private`, `ng-public`)."""
    label: str
    """Value of the node label `nodegroup`."""
    instance_type: str
    desired_size: int
    min_size: int
    max_size: int


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
               "ingressNginx": "ingress_nginx", "traefik": "traefik"}
# module -> the module it cannot run without
MODULE_NEEDS = {"nlb": "loadBalancerController", "alb": "loadBalancerController"}


@dataclass(frozen=True)
class LabSettings:
    """Everything the lab's components are built from; see the README table."""

    stack: str
    region: str
    cluster_name: str
    kubernetes_version: str
    allow_extended_support: bool
    vpc_cidr: ipaddress.IPv4Network
    availability_zones: list[str]
    public_subnet_cidrs: list[ipaddress.IPv4Network]
    private_subnet_cidrs: list[ipaddress.IPv4Network]
    nat_gateways: str
    """`single` (one shared NAT gateway, the cheap default) or `perAz`."""
    api_access_cidrs: list[ipaddress.IPv4Network]
    node_port_source_cidrs: list[ipaddress.IPv4Network]
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


# --- defaults --------------------------------------------------------------

DEFAULT_REGION = "ap-northeast-2"
PRIVATE_NODES_DEFAULT = {"instanceType": "t3.small", "desiredSize": 2, "minSize": 2, "maxSize": 3}
PUBLIC_NODES_DEFAULT = {"instanceType": "t3.small", "desiredSize": 1, "minSize": 1, "maxSize": 1}
DEFAULT_EXPIRY = "12h"
DEFAULT_APP_IMAGE = "python:3.14.0-alpine3.22"
TRAEFIK_DEFAULT = {"webNodePort": 30880, "websecureNodePort": 30843}
INGRESS_NGINX_DEFAULT = {"serviceType": "NodePort", "httpNodePort": 30080, "httpsNodePort": 30443}
MAX_EXPIRY_HOURS = 24 * 30


def default_zones(region: str) -> list[str]:
    # The post's eksctl picked a and c in ap-northeast-2; a and b exist elsewhere.
    return [f"{region}a", f"{region}c"] if region == DEFAULT_REGION else [f"{region}a", f"{region}b"]


def default_subnets(vpc: ipaddress.IPv4Network, count: int) -> tuple[list[str], list[str]]:
    """Public subnets first, private ones from the middle of the VPC range: /20s in a /16."""
    new_prefix = min(vpc.prefixlen + 4, 28)
    blocks = list(itertools.islice(vpc.subnets(new_prefix=new_prefix), 16))
    half = len(blocks) // 2
    return ([str(b) for b in blocks[:count]], [str(b) for b in blocks[half:half + count]])


# --- reading ---------------------------------------------------------------

def _node_group(reader: Reader, key: str, default: dict[str, Any], name: str, label: str,
                ) -> NodeGroupSettings:
    values = reader.obj(key, default, {
        "instanceType": lambda r, f: r.string(
            f, default["instanceType"], INSTANCE_TYPE_PATTERN,
            "expected an EC2 instance type such as t3.small"),
        "desiredSize": lambda r, f: r.integer(f, default["desiredSize"], 1, 100),
        "minSize": lambda r, f: r.integer(f, default["minSize"], 1, 100),
        "maxSize": lambda r, f: r.integer(f, default["maxSize"], 1, 100),
    })
    ng = NodeGroupSettings(name=name, label=label, instance_type=values["instanceType"],
                           desired_size=values["desiredSize"], min_size=values["minSize"],
                           max_size=values["maxSize"])
    k = reader.key(key)
    if ng.min_size > ng.max_size:
        reader.problem(f"{k}.minSize", ng.min_size, f"must not exceed {k}.maxSize ({ng.max_size})")
    elif not ng.min_size <= ng.desired_size <= ng.max_size:
        reader.problem(f"{k}.desiredSize", ng.desired_size,
                       f"must lie within [minSize, maxSize] = [{ng.min_size}, {ng.max_size}]")
    return ng


def _expiry(reader: Reader, now: dt.datetime) -> dt.datetime:
    text = reader.typed("expires", str, DEFAULT_EXPIRY, "a string")
    allowed = ("expected a number of hours such as 12h (1 to "
               f"{MAX_EXPIRY_HOURS}), a date YYYY-MM-DD or a UTC time YYYY-MM-DDTHH:MM:SSZ")
    if m := re.fullmatch(r"(\d+)h?", text.strip()):
        hours = int(m.group(1))
        if not 1 <= hours <= MAX_EXPIRY_HOURS:
            reader.problem(reader.key("expires"), text, allowed)
            hours = 12
        return (now + dt.timedelta(hours=hours)).replace(microsecond=0)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        reader.problem(reader.key("expires"), text, allowed)
        return now + dt.timedelta(hours=12)
    when = when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    if when <= now:
        reader.problem(reader.key("expires"), text, f"is already past (now {iso(now)})")
    return when.astimezone(dt.timezone.utc)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_network(reader: Reader, vpc: ipaddress.IPv4Network, zones: list[str], region: str,
                   public: list[ipaddress.IPv4Network], private: list[ipaddress.IPv4Network]) -> None:
    zk = reader.key("availabilityZones")
    if len(zones) < 2:
        reader.problem(zk, zones, "EKS needs subnets in at least 2 availability zones")
    if len(set(zones)) != len(zones):
        reader.problem(zk, zones, "zones must be distinct")
    for i, zone in enumerate(zones):
        if not re.fullmatch(re.escape(region) + r"[a-z]", zone):
            reader.problem(f"{zk}[{i}]", zone, f"expected a zone of {region}, such as {region}a")
    for key, nets in (("publicSubnetCidrs", public), ("privateSubnetCidrs", private)):
        if len(nets) != len(zones):
            reader.problem(reader.key(key), [str(n) for n in nets],
                           f"expected one subnet per availability zone ({len(zones)})")
        for i, net in enumerate(nets):
            if not net.subnet_of(vpc):
                reader.problem(f"{reader.key(key)}[{i}]", str(net), f"must lie inside lab:vpcCidr {vpc}")
    named = [(f"public {n}", n) for n in public] + [(f"private {n}", n) for n in private]
    for (a_name, a), (b_name, b) in itertools.combinations(named, 2):
        if a.overlaps(b):
            reader.problem(reader.key("privateSubnetCidrs" if "private" in b_name else "publicSubnetCidrs"),
                           str(b), f"overlaps {a_name}; subnets must not overlap")


def _modules(reader: Reader) -> Modules:
    values = reader.obj("modules", {k: True for k in MODULE_KEYS},
                        {k: (lambda r, f: r.boolean(f, True)) for k in MODULE_KEYS})
    for module, needed in MODULE_NEEDS.items():
        if values[module] and not values[needed]:
            reader.problem(f"{reader.key('modules')}.{module}", True,
                           f"needs {reader.key('modules')}.{needed} true (or set {module} false)")
    return Modules(**{attr: values[k] for k, attr in MODULE_KEYS.items()})


def _check_node_ports(reader: Reader, ports: Mapping[str, int]) -> None:
    """Every node port of the lab is one port on every node: no two may share it."""
    seen: dict[int, str] = {}
    for key, port in ports.items():
        if any(p.startswith(f"{reader.key(key)} ") for p in reader.problems):
            continue  # already reported; its default stands in and must not collide falsely
        if port in seen:
            reader.problem(reader.key(key), port, f"is already used by {reader.key(seen[port])}; "
                           "node ports must be distinct")
        seen.setdefault(port, key)


def _check_version(reader: Reader, version: str, allow_extended: bool, today: dt.date) -> None:
    key = reader.key("kubernetesVersion")
    if version not in versions.STANDARD_SUPPORT_ENDS:
        reader.problem(key, version,
                       f"expected one of {', '.join(versions.STANDARD_SUPPORT_ENDS)}")
    elif versions.in_extended_support(version, today) and not allow_extended:
        ends = versions.STANDARD_SUPPORT_ENDS[version]
        reader.problem(key, version, (
            f"leaves EKS standard support on {ends}; extended support costs six times the "
            f"standard control-plane price (${versions.EXTENDED_CONTROL_PLANE_USD_HOUR:.2f} instead of "
            f"${versions.STANDARD_CONTROL_PLANE_USD_HOUR:.2f} an hour). Use one of "
            f"{', '.join(versions.standard_versions(today))}, or set lab:allowExtendedSupport true"))


def load(raw: Mapping[str, Any], region: str | None, stack: str,
         now: dt.datetime | None = None) -> LabSettings:
    """Build LabSettings from the raw `lab:` config (keys without the prefix).

    Raises SettingsError listing every problem; nothing is registered before.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    reader = Reader(raw)
    if region is None:
        region = DEFAULT_REGION
    if not re.fullmatch(REGION_PATTERN, region):
        reader.problems.append(f"aws:region = {region!r}: expected an AWS region such as {DEFAULT_REGION}")

    cluster_name = reader.string("clusterName", "eks-test", CLUSTER_NAME_PATTERN,
                                 "expected 1-100 letters, digits, '-' or '_', starting with a letter or digit")
    version = reader.string("kubernetesVersion", versions.DEFAULT_VERSION)
    allow_extended = reader.boolean("allowExtendedSupport", False)
    _check_version(reader, version, allow_extended, now.date())

    vpc = _vpc(reader, reader.string("vpcCidr", "10.0.0.0/16"))

    zones = reader.string_list("availabilityZones", default_zones(region))
    pub_default, priv_default = default_subnets(vpc, len(zones))
    public = reader.cidr_list("publicSubnetCidrs", pub_default)
    private = reader.cidr_list("privateSubnetCidrs", priv_default)
    _check_network(reader, vpc, zones, region, public, private)

    nat = reader.choice("natGateways", "single", ["single", "perAz"])
    api_cidrs = reader.cidr_list("apiAccessCidrs", ["0.0.0.0/0"], min_items=1)
    nodeport_cidrs = reader.cidr_list("nodePortSourceCidrs", ["0.0.0.0/0"], min_items=1)
    admins = _principals(reader)
    private_nodes = _node_group(reader, "privateNodeGroup", PRIVATE_NODES_DEFAULT, "ng-private", "private")
    public_nodes = _node_group(reader, "publicNodeGroup", PUBLIC_NODES_DEFAULT, "ng-public", "public")
    owner = reader.string("owner", "unknown", r"[\w .:/=+@-]{1,256}",
                          "expected 1-256 letters, digits, spaces or _.:/=+-@ (an AWS tag value)")
    expires_at = _expiry(reader, now)

    app_image = reader.string("appImage", DEFAULT_APP_IMAGE, IMAGE_PATTERN,
                              "expected an image reference such as python:3.14.0-alpine3.22")
    app_replicas = reader.integer("appReplicas", 3, 1, 20)
    if app_replicas < 2:
        reader.problem(reader.key("appReplicas"), app_replicas,
                       "expected at least 2: app1 keeps a replica in each node group (ng-private and "
                       "ng-public), so that app-nodeport-local-svc answers on the public node")
    nginx_values = reader.obj("ingressNginx", INGRESS_NGINX_DEFAULT, {
        "serviceType": lambda r, f: r.choice(f, "NodePort", ["NodePort", "LoadBalancer"]),
        "httpNodePort": lambda r, f: r.integer(f, 30080, *NODE_PORT_RANGE),
        "httpsNodePort": lambda r, f: r.integer(f, 30443, *NODE_PORT_RANGE),
    })
    nginx = IngressNginxSettings(service_type=nginx_values["serviceType"],
                                 http_node_port=nginx_values["httpNodePort"],
                                 https_node_port=nginx_values["httpsNodePort"])
    traefik_values = reader.obj("traefik", TRAEFIK_DEFAULT, {
        "webNodePort": lambda r, f: r.integer(f, TRAEFIK_DEFAULT["webNodePort"], *NODE_PORT_RANGE),
        "websecureNodePort": lambda r, f: r.integer(f, TRAEFIK_DEFAULT["websecureNodePort"], *NODE_PORT_RANGE),
    })
    traefik = TraefikSettings(web_node_port=traefik_values["webNodePort"],
                              websecure_node_port=traefik_values["websecureNodePort"])
    node_ports = {
        "nodePort": reader.integer("nodePort", 30001, *NODE_PORT_RANGE),
        "nodePortLocal": reader.integer("nodePortLocal", 30002, *NODE_PORT_RANGE),
        "ingressNginx.httpNodePort": nginx.http_node_port,
        "ingressNginx.httpsNodePort": nginx.https_node_port,
        # Post 004's Traefik ports (30000, 30001...) collided with app-nodeport-svc.
        "traefik.webNodePort": traefik.web_node_port,
        "traefik.websecureNodePort": traefik.websecure_node_port,
    }
    _check_node_ports(reader, node_ports)
    domain = reader.string("domain", "example.com", DNS_NAME_PATTERN,
                           "expected a DNS domain such as example.com (lower case, at least two labels)")
    external_name = reader.string("externalName", "www.google.com", DNS_NAME_PATTERN,
                                  "expected a DNS name such as www.google.com (lower case, at least two labels)")

    modules = _modules(reader)
    if modules.ingress_nginx and nginx.service_type == "LoadBalancer" and not modules.load_balancer_controller:
        reader.problem(f"{reader.key('ingressNginx')}.serviceType", "LoadBalancer",
                       "needs lab:modules.loadBalancerController true (it makes the NLB); or use NodePort")

    reader.unknown_keys()
    if reader.problems:
        raise SettingsError(reader.problems)

    tags = {
        "lab:project": PROJECT,
        "lab:stack": stack,
        "lab:cluster": cluster_name,
        "lab:owner": owner,
        "lab:expires": iso(expires_at),
    }
    return LabSettings(
        stack=stack, region=region, cluster_name=cluster_name, kubernetes_version=version,
        allow_extended_support=allow_extended, vpc_cidr=vpc, availability_zones=zones,
        public_subnet_cidrs=public, private_subnet_cidrs=private, nat_gateways=nat,
        api_access_cidrs=api_cidrs, node_port_source_cidrs=nodeport_cidrs, admin_principal_arns=admins,
        private_nodes=private_nodes, public_nodes=public_nodes, owner=owner,
        expires_at=expires_at, app_image=app_image, app_replicas=app_replicas,
        node_port=node_ports["nodePort"], node_port_local=node_ports["nodePortLocal"],
        external_name=external_name, modules=modules, ingress_nginx=nginx, traefik=traefik, domain=domain,
        tags=tags)


def _principals(reader: Reader) -> list[str]:
    key = reader.key("adminPrincipalArns")
    arns = reader.string_list("adminPrincipalArns", [])
    for i, arn in enumerate(arns):
        if ":assumed-role/" in arn:
            reader.problem(f"{key}[{i}]", arn, "an access entry names the role, not a session: use "
                           "arn:aws:iam::<account>:role/<name> (aws sts get-caller-identity shows the role name)")
        elif not re.fullmatch(PRINCIPAL_ARN_PATTERN, arn):
            reader.problem(f"{key}[{i}]", arn, "expected an IAM role or user ARN such as "
                           "arn:aws:iam::123456789012:role/lab-admin")
    if len(set(arns)) != len(arns):
        reader.problem(key, arns, "ARNs must be distinct (one access entry each)")
    return arns


def _vpc(reader: Reader, text: str) -> ipaddress.IPv4Network:
    net = parse_cidr(text)
    if net is None or not 16 <= net.prefixlen <= 24:
        reader.problem(reader.key("vpcCidr"), text,
                       "expected an IPv4 CIDR block from /16 to /24 (AWS VPC limits), such as 10.0.0.0/16")
        return ipaddress.IPv4Network("10.0.0.0/16")
    return net
