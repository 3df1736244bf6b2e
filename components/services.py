"""Every Service type of the lab (docs/lessons.md, lessons 1-4), by the posts' names."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from stacks.model_types import ServiceDef


@dataclass
class LabServicesArgs:
    services: list[ServiceDef]
    namespace: str
    provider: k8s.Provider
    depends_on: list[pulumi.Resource]


def service_spec(svc: ServiceDef) -> dict:
    if svc.type == "ExternalName":
        # A CNAME in cluster DNS: no selector, no ports, no proxying.
        return {"type": "ExternalName", "externalName": svc.external_name}
    port = {"port": svc.port, "targetPort": svc.target_port, "protocol": "TCP"}
    if svc.port_name:
        port["name"] = svc.port_name
    if svc.node_port is not None:
        port["nodePort"] = svc.node_port
    spec = {"type": svc.type, "selector": {"app": svc.app}, "ports": [port]}
    if svc.external_traffic_policy:
        spec["externalTrafficPolicy"] = svc.external_traffic_policy
    if svc.load_balancer_class:
        spec["loadBalancerClass"] = svc.load_balancer_class
    if svc.load_balancer_source_ranges:
        spec["loadBalancerSourceRanges"] = list(svc.load_balancer_source_ranges)
    return spec


class LabServices(pulumi.ComponentResource):
    services: dict[str, k8s.core.v1.Service]

    def of(self, names: list[str]) -> list[k8s.core.v1.Service]:
        return [self.services[n] for n in names]

    def hostname(self, name: str) -> pulumi.Output[str]:
        """A LoadBalancer Service's DNS name, once its load balancer exists."""
        return self.services[name].status.apply(lambda s: s.load_balancer.ingress[0].hostname)

    def __init__(self, name: str, args: LabServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabServices", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on)
        self.services = {}
        for svc in args.services:
            metadata = {"name": svc.name, "namespace": args.namespace}
            if svc.annotations:
                metadata["annotations"] = svc.annotations
            self.services[svc.name] = k8s.core.v1.Service(
                svc.name, metadata=metadata, spec=service_spec(svc), opts=k8s_opts)
        self.register_outputs({"services": list(self.services)})
