"""How the lab is composed: settings in, the lab model, components wired together, outputs out."""

from __future__ import annotations

import datetime as dt

import pulumi
import pulumi_aws as aws

from components.alb_ingress import LabAlbIngress, LabAlbIngressArgs
from components.cluster import LabCluster, LabClusterArgs
from components.gateway import LabGateway, LabGatewayArgs
from components.lb_controller import LabLoadBalancerController, LabLoadBalancerControllerArgs
from components.network import LabNetwork, LabNetworkArgs
from components.nginx_ingress import LabIngressNginx, LabIngressNginxArgs
from components.services import LabServices, LabServicesArgs
from components.testapp import LabTestApp, LabTestAppArgs
from components.traefik import LabTraefik, LabTraefikArgs
from stacks import outputs
from stacks.built import Lab
from stacks import model_types
from stacks.model import APP_NAMESPACE, APPS, LabModel, Release
from stacks.preflight import checked_model


def principal(arn: str) -> tuple[str, str, str]:
    """(account, role or user, name) of an IAM ARN; an STS session ARN names its role."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "", "", arn
    kind, _, rest = parts[5].partition("/")
    if kind == "assumed-role":  # assumed-role/<role>/<session>
        return parts[4], "role", rest.split("/")[0]
    return parts[4], kind, rest.rsplit("/", 1)[-1]  # a role's path is not part of its name


def other_admins(arns: list[str], caller_arn: str) -> list[str]:
    """The admins without the identity running `up`: EKS gives the creator an access entry
    of its own, and a second one for the same principal fails (ResourceInUseException)."""
    kept = [a for a in arns if principal(a) != principal(caller_arn)]
    if len(kept) != len(arns):
        pulumi.log.info(f"lab:adminPrincipalArns: {caller_arn} creates the cluster and is its admin already")
    return kept


def build(model: LabModel) -> Lab:
    s = model.settings
    network = LabNetwork("lab", LabNetworkArgs(
        cluster_name=s.cluster_name, vpc_cidr=str(s.vpc_cidr),
        availability_zones=s.availability_zones,
        public_subnet_cidrs=[str(n) for n in s.public_subnet_cidrs],
        private_subnet_cidrs=[str(n) for n in s.private_subnet_cidrs],
        nat_per_az=s.nat_gateways == "perAz", tags=s.tags))
    cluster = LabCluster(s.cluster_name, LabClusterArgs(
        cluster_name=s.cluster_name, kubernetes_version=s.kubernetes_version, support_type=s.support_type,
        vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        api_access_cidrs=[str(n) for n in s.api_access_cidrs],
        client_cidrs=model.client_cidrs,
        admin_principal_arns=other_admins(s.admin_principal_arns, aws.get_caller_identity().arn),
        region=s.region, node_groups=model.node_groups, tags=s.tags))
    provider = cluster.provider
    testapp = LabTestApp("testapp", LabTestAppArgs(
        apps=APPS, replicas=s.app_replicas, image=s.app_image, namespace=APP_NAMESPACE,
        provider=provider, node_groups=list(cluster.node_groups.values()),
        on_every_node_group=model.on_every_node_group, depends_on=[]))

    controller = None
    if model.controller:
        controller = LabLoadBalancerController("aws-load-balancer-controller", LabLoadBalancerControllerArgs(
            release=model.controller, cluster_name=s.cluster_name, region=s.region, vpc_id=network.vpc_id,
            oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
            provider=provider, node_groups=list(cluster.node_groups.values()), tags=s.tags,
            gateway_api_crds=model.gateway.crds if model.gateway else None))
    # The controller's webhook intercepts every Service (failurePolicy Fail) and must
    # outlive the load balancers it made: everything it serves depends on it.
    served_by_controller = [controller.release] if controller else []

    services = LabServices("services", LabServicesArgs(
        services=model.services, namespace=APP_NAMESPACE, provider=provider,
        depends_on=served_by_controller))
    alb = None
    if model.alb:
        alb = LabAlbIngress("alb", LabAlbIngressArgs(
            group=model.alb, namespace=APP_NAMESPACE, provider=provider, depends_on=served_by_controller,
            # Only its backends: waiting for every Service would wait for app-lb-svc's NLB (~3 min).
            backends=services.of(model_types.alb_backends(model.alb))))
    nginx = None
    if model.nginx:
        n = model.nginx
        nginx = LabIngressNginx("ingress-nginx", LabIngressNginxArgs(
            release=release_of(model, "ingressNginx"), service_type=n.service_type,
            http_node_port=n.http_node_port, https_node_port=n.https_node_port, routes=n.routes,
            source_cidrs=n.source_cidrs,
            app_namespace=APP_NAMESPACE, provider=provider, depends_on=served_by_controller,
            backends=services.of(sorted({r.service for r in n.routes}))))
    traefik = None
    if model.traefik:
        t = model.traefik
        traefik = LabTraefik("traefik", LabTraefikArgs(
            release=release_of(model, "traefik"), nlb_name=t.nlb_name,
            cluster_name=s.cluster_name, web_node_port=t.web_node_port,
            websecure_node_port=t.websecure_node_port, backends=t.backends,
            app_namespace=APP_NAMESPACE, vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            node_security_group_id=cluster.cluster_security_group_id,
            node_group_names=list(cluster.node_groups), node_groups=list(cluster.node_groups.values()),
            source_cidrs=t.source_cidrs,
            provider=provider, depends_on=[*served_by_controller, testapp], tags=s.tags))
    gateway = None
    if model.gateway:
        gateway = LabGateway("gateway", LabGatewayArgs(
            gateway=model.gateway, namespace=APP_NAMESPACE, provider=provider, depends_on=served_by_controller,
            backends=services.of(model_types.gateway_backends(model.gateway))))
    return Lab(model=model, network=network, cluster=cluster, testapp=testapp, services=services,
               lb_controller=controller, alb=alb, nginx=nginx, traefik=traefik, gateway=gateway)


def release_of(model: LabModel, module: str) -> Release:
    return next(r for r in model.releases if r.module == module)


def main(now: dt.datetime | None = None) -> Lab:
    """The whole program: validated settings -> the lab -> the outputs contract."""
    lab = build(checked_model(now))
    outputs.export(lab)
    return lab
