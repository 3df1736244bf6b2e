"""`load`: raw Pulumi config in, validated LabSettings out, every problem reported at once."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Mapping

from stacks import names, versions
from stacks.config_reader import Reader, SettingsError
from stacks.settings.apps import check_node_ports, read_modules
from stacks.settings.cluster import (PRIVATE_NODES_DEFAULT, PUBLIC_NODES_DEFAULT, check_version, expiry,
                                     node_group, principals, iso)
from stacks.settings.namespaces import namespace_problems
from stacks.settings.network import DEFAULT_REGION, check_network, vpc_network, default_subnets, default_zones
from stacks.settings.types import (PROJECT, IngressNginxSettings, LabSettings, TraefikSettings)

REGION_PATTERN = r"[a-z]{2}(-gov)?-[a-z]+-\d"
# EKS: 1-100 characters, starting with a letter or digit.
CLUSTER_NAME_PATTERN = r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}"
# RFC 1123 DNS name with at least two labels, as an ExternalName target must be.
DNS_NAME_PATTERN = r"(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+"
IMAGE_PATTERN = r"[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?"
NODE_PORT_RANGE = (30000, 32767)
DEFAULT_APP_IMAGE = "python:3.14.0-alpine3.22"
TRAEFIK_DEFAULT = {"webNodePort": 30880, "websecureNodePort": 30843}
INGRESS_NGINX_DEFAULT = {"serviceType": "NodePort", "httpNodePort": 30080, "httpsNodePort": 30443}
# Keys of earlier releases: refused with the name that replaced them.
RENAMED = {"nodePortSourceCidrs": "clientCidrs"}


def load(raw: Mapping[str, Any], region: str | None, stack: str,
         now: dt.datetime | None = None, other_keys: Iterable[str] = ()) -> LabSettings:
    """Build LabSettings from the raw `lab:` config (keys without the prefix); `other_keys`
    are the stack's keys of other namespaces (`aws:profile`), checked by name.

    Raises SettingsError listing every problem; nothing is registered before.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    reader = Reader(raw)
    if region is None:
        region = DEFAULT_REGION
    if not re.fullmatch(REGION_PATTERN, region):
        reader.problems.append(f"aws:region = {region!r}: expected an AWS region such as {DEFAULT_REGION}")

    cluster_name = reader.string("clusterName", "eks-test", CLUSTER_NAME_PATTERN,
                                 f"expected 1-{names.CLUSTER_NAME_MAX} letters, digits, '-' or '_', starting "
                                 "with a letter or digit")
    if len(cluster_name) > names.CLUSTER_NAME_MAX:
        reader.problem(reader.key("clusterName"), cluster_name, (
            f"at most {names.CLUSTER_NAME_MAX} characters ({len(cluster_name)} given): pulumi-eks names the "
            f"cluster's IAM role '<name>{names.EKS_SERVICE_ROLE}-' plus 7 random characters, and IAM role "
            f"names stop at {names.IAM_ROLE_MAX}"))
    version = reader.string("kubernetesVersion", versions.DEFAULT_VERSION)
    allow_extended = reader.boolean("allowExtendedSupport", False)
    check_version(reader, version, allow_extended, now.date())
    support = versions.support_type(version, allow_extended, now.date())

    vpc = vpc_network(reader, reader.string("vpcCidr", "10.0.0.0/16"))

    zones = reader.string_list("availabilityZones", default_zones(region))
    pub_default, priv_default = default_subnets(vpc, len(zones))
    public = reader.cidr_list("publicSubnetCidrs", pub_default)
    private = reader.cidr_list("privateSubnetCidrs", priv_default)
    check_network(reader, vpc, zones, region, public, private)

    nat = reader.choice("natGateways", "single", ["single", "perAz"])
    api_cidrs = reader.cidr_list("apiAccessCidrs", ["0.0.0.0/0"], min_items=1)
    client_cidrs = reader.cidr_list("clientCidrs", ["0.0.0.0/0"], min_items=1)
    admins = principals(reader)
    private_nodes = node_group(reader, "privateNodeGroup", PRIVATE_NODES_DEFAULT, "ng-private", "private",
                               public=False)
    public_nodes = node_group(reader, "publicNodeGroup", PUBLIC_NODES_DEFAULT, "ng-public", "public", public=True)
    owner = reader.string("owner", "unknown", r"[\w .:/=+@-]{1,256}",
                          "expected 1-256 letters, digits, spaces or _.:/=+-@ (an AWS tag value)")
    expires_at = expiry(reader, now)

    app_image = reader.string("appImage", DEFAULT_APP_IMAGE, IMAGE_PATTERN,
                              "expected an image reference such as python:3.14.0-alpine3.22")
    app_replicas = reader.integer("appReplicas", 3, 2, 20, (
        "at least 2: app1 keeps a replica in each node group, ng-private and ng-public, so that "
        "app-nodeport-local-svc answers on the public node; how many fit depends on the node groups"))
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
    check_node_ports(reader, node_ports)
    domain = reader.string("domain", "example.com", DNS_NAME_PATTERN,
                           "expected a DNS domain such as example.com (lower case, at least two labels)")
    external_name = reader.string("externalName", "www.google.com", DNS_NAME_PATTERN,
                                  "expected a DNS name such as www.google.com (lower case, at least two labels)")

    modules = read_modules(reader)
    if modules.ingress_nginx and nginx.service_type == "LoadBalancer" and not modules.load_balancer_controller:
        reader.problem(f"{reader.key('ingressNginx')}.serviceType", "LoadBalancer",
                       "needs lab:modules.loadBalancerController true (it makes the NLB); or use NodePort")

    reader.unknown_keys(renamed=RENAMED)
    reader.problems.extend(namespace_problems(other_keys, reader.read))
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
        allow_extended_support=allow_extended, support_type=support, vpc_cidr=vpc, availability_zones=zones,
        public_subnet_cidrs=public, private_subnet_cidrs=private, nat_gateways=nat,
        api_access_cidrs=api_cidrs, client_cidrs=client_cidrs, admin_principal_arns=admins,
        private_nodes=private_nodes, public_nodes=public_nodes, owner=owner,
        expires_at=expires_at, app_image=app_image, app_replicas=app_replicas,
        node_port=node_ports["nodePort"], node_port_local=node_ports["nodePortLocal"],
        external_name=external_name, modules=modules, ingress_nginx=nginx, traefik=traefik, domain=domain,
        tags=tags)


