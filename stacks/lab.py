"""How the lab is composed: settings in, components wired together, outputs out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi.runtime import config as runtime_config

from components.alb_ingress import AlbIngressDef, AlbPath, AlbRule, LabAlbIngress, LabAlbIngressArgs
from components.cluster import LabCluster, LabClusterArgs, NodeGroupArgs
from components.lb_controller import LabLoadBalancerController, LabLoadBalancerControllerArgs
from components.network import LabNetwork, LabNetworkArgs
from components.nginx_ingress import LabIngressNginx, LabIngressNginxArgs, NginxRoute
from components.services import LabServices, LabServicesArgs, ServiceDef
from components.testapp import LabTestApp, LabTestAppArgs
from components.traefik import LabTraefik, LabTraefikArgs, TraefikBackend
from stacks import outputs
from stacks.config_reader import NAMESPACE as CONFIG_NAMESPACE, SettingsError
from stacks.settings import LabSettings, NodeGroupSettings, load


def raw_config() -> tuple[dict[str, str], str | None]:
    """Every `lab:` key of the stack's config (without the prefix), and aws:region."""
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{CONFIG_NAMESPACE}:"
    lab = {k[len(prefix):]: v for k, v in everything.items() if k.startswith(prefix)}
    return lab, everything.get("aws:region")


def settings_from_config(now: dt.datetime | None = None) -> LabSettings:
    lab, region = raw_config()
    try:
        return load(lab, region, pulumi.get_stack(), now)
    except SettingsError as err:
        # RunError: Pulumi prints the message alone, without a Python traceback.
        raise pulumi.RunError(str(err)) from None


APPS = ["app1", "app2"]
APP_NAMESPACE = "default"  # the posts' namespace for the app and its Services
SERVICE_PORT = 3000


@dataclass
class Lab:
    settings: LabSettings
    network: LabNetwork
    cluster: LabCluster
    testapp: LabTestApp
    services: LabServices
    lb_controller: LabLoadBalancerController | None
    alb: LabAlbIngress | None
    nginx: LabIngressNginx | None
    traefik: LabTraefik | None


ALB_HEALTHCHECK = {"alb.ingress.kubernetes.io/healthcheck-path": "/healthz"}
NLB_SERVICE = "app-lb-svc"


def service_defs(s: LabSettings) -> list[ServiceDef]:
    """The Services of LAB.md section 3, by the posts' names."""
    # With ip targets the ALB health-checks the pods themselves; they answer /healthz.
    backend_annotations = ALB_HEALTHCHECK if s.modules.alb else {}
    defs = [
        ServiceDef("app-clusterip-svc", "ClusterIP", app="app1"),
        ServiceDef("app-nodeport-svc", "NodePort", app="app1", node_port=s.node_port),
        # What post 000 only explains: Local keeps the client address, uses only local pods.
        ServiceDef("app-nodeport-local-svc", "NodePort", app="app1", node_port=s.node_port_local,
                   external_traffic_policy="Local"),
        ServiceDef("web-service-externalname", "ExternalName", external_name=s.external_name),
        ServiceDef("app1-svc", "ClusterIP", app="app1", annotations=backend_annotations),
        ServiceDef("app2-svc", "ClusterIP", app="app2", annotations=backend_annotations),
    ]
    if s.modules.nlb:
        defs.append(ServiceDef(
            NLB_SERVICE, "LoadBalancer", app="app1", port=80,
            # The controller's current form of the post's `aws-load-balancer-type: nlb`.
            load_balancer_class="service.k8s.aws/nlb",
            annotations={
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "instance",
            }))
    return defs


def alb_ingresses(s: LabSettings) -> list[AlbIngressDef]:
    """LAB.md section 5 on one ALB: /v1 and /v2 (Prefix: the post's `/v1/*` is wrong there),
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


def _node_group(ng: NodeGroupSettings, public: bool) -> NodeGroupArgs:
    return NodeGroupArgs(name=ng.name, label=ng.label, instance_type=ng.instance_type,
                         desired_size=ng.desired_size, min_size=ng.min_size,
                         max_size=ng.max_size, public=public)


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


def build(s: LabSettings) -> Lab:
    network = LabNetwork("lab", LabNetworkArgs(
        cluster_name=s.cluster_name, vpc_cidr=str(s.vpc_cidr),
        availability_zones=s.availability_zones,
        public_subnet_cidrs=[str(n) for n in s.public_subnet_cidrs],
        private_subnet_cidrs=[str(n) for n in s.private_subnet_cidrs],
        nat_per_az=s.nat_gateways == "perAz", tags=s.tags))
    cluster = LabCluster(s.cluster_name, LabClusterArgs(
        cluster_name=s.cluster_name, kubernetes_version=s.kubernetes_version,
        vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        api_access_cidrs=[str(n) for n in s.api_access_cidrs],
        node_port_source_cidrs=[str(n) for n in s.node_port_source_cidrs],
        admin_principal_arns=other_admins(s.admin_principal_arns, aws.get_caller_identity().arn),
        region=s.region,
        node_groups=[_node_group(s.private_nodes, public=False), _node_group(s.public_nodes, public=True)],
        tags=s.tags))
    provider = cluster.provider
    testapp = LabTestApp("testapp", LabTestAppArgs(
        apps=APPS, replicas=s.app_replicas, image=s.app_image, namespace=APP_NAMESPACE,
        provider=provider, node_groups=list(cluster.node_groups.values()),
        on_every_node_group=sorted({d.app for d in service_defs(s) if d.external_traffic_policy == "Local"}),
        depends_on=[]))

    controller = None
    if s.modules.load_balancer_controller:
        controller = LabLoadBalancerController("aws-load-balancer-controller", LabLoadBalancerControllerArgs(
            cluster_name=s.cluster_name, region=s.region, vpc_id=network.vpc_id,
            oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
            provider=provider, node_groups=list(cluster.node_groups.values()), tags=s.tags))
    # The controller's webhook intercepts every Service (failurePolicy Fail) and must
    # outlive the load balancers it made: everything it serves depends on it.
    served_by_controller = [controller.release] if controller else []

    services = LabServices("services", LabServicesArgs(
        services=service_defs(s), namespace=APP_NAMESPACE, provider=provider,
        depends_on=served_by_controller))
    alb = None
    if s.modules.alb:
        alb = LabAlbIngress("alb", LabAlbIngressArgs(
            group_name=f"{s.cluster_name}-lab", load_balancer_name=f"{s.cluster_name}-lab"[:32],
            ingresses=alb_ingresses(s), namespace=APP_NAMESPACE, provider=provider,
            # Backends first: the controller resolves each backend Service when it builds rules.
            depends_on=[*served_by_controller, services]))
    nginx = None
    if s.modules.ingress_nginx:
        nginx = LabIngressNginx("ingress-nginx", LabIngressNginxArgs(
            service_type=s.ingress_nginx.service_type, http_node_port=s.ingress_nginx.http_node_port,
            https_node_port=s.ingress_nginx.https_node_port,
            routes=[NginxRoute(f"/v{i}", f"{app}-svc", SERVICE_PORT) for i, app in enumerate(APPS, 1)],
            app_namespace=APP_NAMESPACE, provider=provider,
            depends_on=[*served_by_controller, services]))
    traefik = None
    if s.modules.traefik:
        traefik = LabTraefik("traefik", LabTraefikArgs(
            cluster_name=s.cluster_name, web_node_port=s.traefik.web_node_port,
            websecure_node_port=s.traefik.websecure_node_port, backends=traefik_backends(s),
            app_namespace=APP_NAMESPACE, vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            node_security_group_id=cluster.cluster_security_group_id,
            node_group_names=list(cluster.node_groups), node_groups=list(cluster.node_groups.values()),
            # The lab's allowed sources for its public entry points.
            source_cidrs=[str(c) for c in s.node_port_source_cidrs],
            provider=provider, depends_on=[*served_by_controller, testapp], tags=s.tags))
    return Lab(settings=s, network=network, cluster=cluster, testapp=testapp, services=services,
               lb_controller=controller, alb=alb, nginx=nginx, traefik=traefik)


def traefik_backends(s: LabSettings) -> list[TraefikBackend]:
    """Post 004's rules: myapp.<domain>/api and admin.<domain>/."""
    return [TraefikBackend("my-app-service", "app1", f"myapp.{s.domain}", "/api"),
            TraefikBackend("admin-service", "app2", f"admin.{s.domain}", "/")]


def main(now: dt.datetime | None = None) -> Lab:
    """The whole program: validated settings -> the lab -> the outputs contract."""
    lab = build(settings_from_config(now))
    outputs.export(lab)
    return lab
