"""ingress-nginx by Helm and the post's regex/rewrite Ingress `app-ingress` (docs/lessons.md, lesson 5).

ingress-nginx was retired in March 2026: its chart's final release gets no more
fixes. The lab keeps it because post 000 teaches with it; Gateway API is its successor.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.helm import pinned_release
from stacks.model_types import NginxRoute, Release

INGRESS_CLASS = "nginx"
CONTROLLER_VALUE = "k8s.io/ingress-nginx"
CONTROLLER_SERVICE = "ingress-nginx-controller"  # the chart's name for it, release name = chart name
# The chart's validating webhook intercepts every Ingress in the cluster (failurePolicy
# Fail), and its CA bundle is patched in only after the controller is ready: any other
# Ingress created meanwhile is refused. Scoped to the Ingresses carrying this label.
ADMISSION_LABEL = {"lab/admission": "ingress-nginx"}


@dataclass
class LabIngressNginxArgs:
    release: Release
    service_type: str
    """NodePort (the post) or LoadBalancer (an NLB via the AWS Load Balancer Controller, post 002)."""
    http_node_port: int
    https_node_port: int
    routes: list[NginxRoute]
    source_cidrs: list[str]
    """Who its NLB admits (LoadBalancer); its NodePorts are the cluster security group's."""
    app_namespace: str
    provider: k8s.Provider
    depends_on: list[pulumi.Resource]
    """What the release and the Ingress wait for (the LB controller's release)."""
    backends: list[pulumi.Resource]
    """The Services app-ingress routes to."""


def chart_values(service_type: str, http_node_port: int, https_node_port: int, source_cidrs: list[str]) -> dict:
    service: dict = {"type": service_type}
    if service_type == "NodePort":
        service["nodePorts"] = {"http": http_node_port, "https": https_node_port}
    else:
        # An NLB made by the AWS Load Balancer Controller, as AWS recommends in front of nginx.
        service["loadBalancerClass"] = "service.k8s.aws/nlb"
        service["annotations"] = {
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        }
        # The chart's spec.loadBalancerSourceRanges: the NLB's security group, as for app-lb-svc.
        service["loadBalancerSourceRanges"] = list(source_cidrs)
    return {"controller": {
        "service": service,
        "ingressClass": INGRESS_CLASS,
        "ingressClassResource": {"name": INGRESS_CLASS, "enabled": True, "default": False,
                                 "controllerValue": CONTROLLER_VALUE},
        "replicaCount": 1,
        "admissionWebhooks": {"objectSelector": {"matchLabels": ADMISSION_LABEL}},
    }}


def ingress_spec(routes: list[NginxRoute]) -> dict:
    return {"ingressClassName": INGRESS_CLASS, "rules": [{"http": {"paths": [
        {"path": f"{r.prefix}(/|$)(.*)", "pathType": "ImplementationSpecific",
         "backend": {"service": {"name": r.service, "port": {"number": r.port}}}}
        for r in routes]}}]}


class LabIngressNginx(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    ingress: k8s.networking.v1.Ingress
    hostname: pulumi.Output[str] | None
    """The NLB's DNS name when the service type is LoadBalancer."""

    def __init__(self, name: str, args: LabIngressNginxArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabIngressNginx", name, None, opts)
        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        ns = args.release.namespace
        namespace = k8s.core.v1.Namespace("ingress-nginx", metadata={"name": ns}, opts=k8s_child)
        self.release = pinned_release(
            name, args.release.chart, ns,
            chart_values(args.service_type, args.http_node_port, args.https_node_port, args.source_cidrs),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider,
                # The chart makes Services: the AWS Load Balancer Controller's webhook refuses them
                # until it runs, and must outlive the NLB it makes for LoadBalancer.
                depends_on=[namespace, *args.depends_on]))

        self.ingress = k8s.networking.v1.Ingress(
            "app-ingress",
            metadata={"name": "app-ingress", "namespace": args.app_namespace, "labels": ADMISSION_LABEL,
                      "annotations": {
                          "nginx.ingress.kubernetes.io/use-regex": "true",
                          # $2 is the second group of the path regex: what follows /v1/.
                          "nginx.ingress.kubernetes.io/rewrite-target": "/$2",
                      }},
            spec=ingress_spec(args.routes),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider,
                # The chart's validating webhook refuses Ingresses until the controller answers.
                depends_on=[self.release, *args.depends_on, *args.backends]))

        self.hostname = None
        if args.service_type == "LoadBalancer":
            service = k8s.core.v1.Service.get(
                "ingress-nginx-controller", f"{ns}/{CONTROLLER_SERVICE}",
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[self.release]))
            self.hostname = service.status.apply(lambda s: s.load_balancer.ingress[0].hostname)
        self.register_outputs({})
