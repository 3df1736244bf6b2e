"""The ALB Ingress (docs/lessons.md, lesson 6): IngressClass `alb` and path rules on one ALB.

Every Ingress here joins one IngressGroup, so the controller builds a single
ALB for all of them instead of one (and one hourly charge) per Ingress.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from stacks.model_types import AlbGroup, AlbIngressDef

INGRESS_CLASS = "alb"
CONTROLLER = "ingress.k8s.aws/alb"


@dataclass
class LabAlbIngressArgs:
    group: AlbGroup
    """The IngressGroup, its ALB's name in AWS (at most 32 characters) and its Ingresses."""
    namespace: str
    provider: k8s.Provider
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    """What every object here waits for (the controller's release)."""
    backends: list[pulumi.Resource] = field(default_factory=list)
    """The Services the Ingresses route to: the controller resolves each when it builds rules."""


def ingress_spec(ing: AlbIngressDef) -> dict:
    rules = []
    for rule in ing.rules:
        http = {"paths": [{"path": p.path, "pathType": p.path_type,
                           "backend": {"service": {"name": p.service, "port": {"number": p.port}}}}
                          for p in rule.paths]}
        rules.append({"host": rule.host, "http": http} if rule.host else {"http": http})
    return {"ingressClassName": INGRESS_CLASS, "rules": rules}


def annotations(args: LabAlbIngressArgs, ing: AlbIngressDef) -> dict[str, str]:
    prefix = "alb.ingress.kubernetes.io"
    return {
        f"{prefix}/scheme": "internet-facing",
        # ip: the target groups hold pod IPs (VPC CNI), no NodePort hop.
        f"{prefix}/target-type": "ip",
        f"{prefix}/group.name": args.group.group_name,
        f"{prefix}/group.order": str(ing.group_order),
        f"{prefix}/load-balancer-name": args.group.load_balancer_name,
        f"{prefix}/listen-ports": '[{"HTTP": 80}]',
        # The ALB's security group admits these on its listeners. The controller (v3.5.0,
        # pkg/ingress/model_builder.go mergeListenPortConfigs) takes them per listen port from
        # the Ingresses of the group that carry them, refuses the group when two differ, and
        # opens the port to 0.0.0.0/0 when none does: so every Ingress carries the same list.
        f"{prefix}/inbound-cidrs": ",".join(args.group.source_cidrs),
    }


class LabAlbIngress(pulumi.ComponentResource):
    ingresses: dict[str, k8s.networking.v1.Ingress]
    hostname: pulumi.Output[str]
    """The ALB's DNS name, once the controller has made it."""

    def __init__(self, name: str, args: LabAlbIngressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabAlbIngress", name, None, opts)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=args.depends_on)
        ingress_class = k8s.networking.v1.IngressClass(
            "alb", metadata={"name": INGRESS_CLASS}, spec={"controller": CONTROLLER}, opts=k8s_opts)

        self.ingresses = {}
        for ing in args.group.ingresses:
            self.ingresses[ing.name] = k8s.networking.v1.Ingress(
                ing.name,
                metadata={"name": ing.name, "namespace": args.namespace,
                          "annotations": annotations(args, ing)},
                spec=ingress_spec(ing),
                opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(
                    # An Ingress naming a class that does not exist yet is ignored by the controller.
                    depends_on=[ingress_class, *args.backends])))
        first = next(iter(self.ingresses.values()))
        self.hostname = first.status.apply(lambda s: s.load_balancer.ingress[0].hostname)
        self.register_outputs({"hostname": self.hostname})
