"""The Gateway API lesson: a GatewayClass of the AWS Load Balancer Controller, one Gateway on
an internet-facing ALB, and HTTPRoutes with a rewrite, a header match and a weighted split.

What maps to what (README, "The Gateway API lesson"): IngressClass -> GatewayClass;
the `alb.ingress.kubernetes.io/*` annotations -> a LoadBalancerConfiguration (the ALB)
and a TargetGroupConfiguration (its targets); an Ingress -> a Gateway (the listener)
plus HTTPRoutes (the rules), which people other than the Gateway's owner may write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from stacks.model_types import Gateway, GatewayRule, HttpRouteDef

GATEWAY_API = "gateway.networking.k8s.io/v1"
CONTROLLER_API = "gateway.k8s.aws/v1"
CONTROLLER_NAME = "gateway.k8s.aws/alb"
LISTENER = "http"
# Wait for the ALB: pulumi-kubernetes holds `up` until the Gateway reports Programmed, and the
# address the outputs need is in its status from then on.
WAIT_FOR = {"pulumi.com/waitFor": "condition=Programmed"}


class GatewayObject(pulumi.CustomResource):
    """A custom resource whose `status` is an output too (pulumi-kubernetes' CustomResource
    registers only its spec and metadata)."""

    status: pulumi.Output[Any]

    def __init__(self, name: str, api_version: str, kind: str, metadata: dict, spec: dict,
                 opts: pulumi.ResourceOptions):
        props = {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec, "status": None}
        super().__init__(f"kubernetes:{api_version}:{kind}", name, props, opts)


@dataclass
class LabGatewayArgs:
    gateway: Gateway
    namespace: str
    provider: k8s.Provider
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """The controller's release: it must run to make the ALB, and to remove it on destroy."""
    backends: list[pulumi.Resource] = field(default_factory=list)
    """The Services the HTTPRoutes send to."""


def class_spec() -> dict:
    return {"controllerName": CONTROLLER_NAME}


def load_balancer_spec(g: Gateway) -> dict:
    # The controller's default scheme is internal; its name and sources as the lab's other ALB
    # (without sourceRanges the controller opens the ALB to 0.0.0.0/0).
    return {"scheme": "internet-facing", "loadBalancerName": g.load_balancer_name,
            "sourceRanges": list(g.source_cidrs),
            "defaultTargetGroupConfiguration": {"name": g.target_config}}


def target_spec() -> dict:
    # ip targets: pod addresses (VPC CNI), no NodePort hop, so ClusterIP Services do. The
    # pods answer health checks on /healthz.
    return {"defaultConfiguration": {"targetType": "ip", "healthCheckConfig": {"healthCheckPath": "/healthz"}}}


def gateway_spec(g: Gateway) -> dict:
    return {
        "gatewayClassName": g.class_name,
        "infrastructure": {"parametersRef": {"group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration",
                                             "name": g.load_balancer_config}},
        "listeners": [{"name": LISTENER, "protocol": "HTTP", "port": 80,
                       "allowedRoutes": {"namespaces": {"from": "Same"}}}],
    }


def rule_spec(rule: GatewayRule) -> dict:
    match: dict[str, Any] = {"path": {"type": "PathPrefix", "value": rule.path}}
    if rule.headers:
        match["headers"] = [{"type": "Exact", "name": k, "value": v} for k, v in rule.headers.items()]
    spec: dict[str, Any] = {"matches": [match], "backendRefs": [
        {"name": b.service, "port": b.port, **({"weight": b.weight} if b.weight is not None else {})}
        for b in rule.backends]}
    if rule.replace_prefix is not None:
        spec["filters"] = [{"type": "URLRewrite", "urlRewrite": {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": rule.replace_prefix}}}]
    return spec


def route_spec(g: Gateway, route: HttpRouteDef) -> dict:
    return {"parentRefs": [{"name": g.name, "sectionName": LISTENER}],
            "rules": [rule_spec(r) for r in route.rules]}


def first_address(status: Any) -> str:
    addresses = (status or {}).get("addresses") or []
    return addresses[0]["value"] if addresses else ""


class LabGateway(pulumi.ComponentResource):
    gateway: GatewayObject
    routes: dict[str, GatewayObject]
    hostname: pulumi.Output[str]
    """The ALB's DNS name, from the Gateway's status once it is Programmed."""

    def __init__(self, name: str, args: LabGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabGateway", name, None, opts)
        g, ns = args.gateway, args.namespace

        def k8s_opts(*after: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=args.provider,
                                          depends_on=[*args.depends_on, *after])

        gateway_class = GatewayObject(g.class_name + "-gatewayclass", GATEWAY_API, "GatewayClass",
                                      {"name": g.class_name}, class_spec(), k8s_opts())
        targets = GatewayObject(g.target_config, CONTROLLER_API, "TargetGroupConfiguration",
                                {"name": g.target_config, "namespace": ns}, target_spec(), k8s_opts())
        balancer = GatewayObject(g.load_balancer_config, CONTROLLER_API, "LoadBalancerConfiguration",
                                 {"name": g.load_balancer_config, "namespace": ns}, load_balancer_spec(g),
                                 k8s_opts(targets))
        # After its class: on destroy the Gateway (whose finalizer removes the ALB) goes
        # first, while the controller still runs; the class cannot go while a Gateway uses it.
        self.gateway = GatewayObject(g.name, GATEWAY_API, "Gateway",
                                     {"name": g.name, "namespace": ns, "annotations": dict(WAIT_FOR)},
                                     gateway_spec(g), k8s_opts(gateway_class, balancer))
        self.routes = {
            r.name: GatewayObject(r.name, GATEWAY_API, "HTTPRoute", {"name": r.name, "namespace": ns},
                                  route_spec(g, r), k8s_opts(self.gateway, *args.backends))
            for r in g.routes}
        self.hostname = self.gateway.status.apply(first_address)
        self.register_outputs({"hostname": self.hostname})
