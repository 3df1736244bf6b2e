"""The stack outputs: the contract the smoke tests and the lifecycle tools read.

Names are fixed (README, "Stack outputs"); the smoke tests never import the
program, they read these only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from stacks.lab import Lab


ANY_PATH = [{"path": "/", "app": "app1", "appSees": "/"},
            {"path": "/some/deep/path", "app": "app1", "appSees": "/some/deep/path"}]


def entrypoints(lab: "Lab") -> pulumi.Output[dict]:
    """One entry per way in from outside; see README, "The outputs contract"."""
    entries = static_entrypoints(lab)
    if lab.services.services.get("app-lb-svc"):
        entries["nlb"] = lab.services.hostname("app-lb-svc").apply(lambda host: {
            "url": f"http://{host}", "layer": "L4", "service": "app-lb-svc",
            # Instance targets and externalTrafficPolicy Cluster: the node SNATs.
            "routes": [{**r, "clientPreserved": False} for r in ANY_PATH]})
    if lab.alb:
        entries["alb"] = lab.alb.hostname.apply(lambda host: {
            "url": f"http://{host}", "layer": "L7", "ingress": "alb-ingress",
            # An ALB cannot rewrite: the app sees the full path.
            "routes": [{"path": p, "app": app, "appSees": p} for p, app in
                       (("/v1", "app1"), ("/v1/x", "app1"), ("/v2", "app2"), ("/v2/y", "app2"))],
            "notFound": ["/v3"]})
    return pulumi.Output.from_input(entries)


def static_entrypoints(lab: "Lab") -> dict:
    s = lab.settings
    any_path = ANY_PATH
    return {
        # kube-proxy SNATs NodePort traffic under externalTrafficPolicy Cluster.
        "nodeport": {"nodePort": s.node_port, "layer": "L4", "service": "app-nodeport-svc",
                     "routes": [{**r, "clientPreserved": False} for r in any_path]},
        "nodeport-local": {"nodePort": s.node_port_local, "layer": "L4", "service": "app-nodeport-local-svc",
                           "externalTrafficPolicy": "Local",
                           "routes": [{**r, "clientPreserved": True} for r in any_path]},
    }


def internal(lab: "Lab") -> dict:
    from stacks.lab import APP_NAMESPACE, SERVICE_PORT

    return {
        "clusterIp": {"service": f"app-clusterip-svc.{APP_NAMESPACE}.svc.cluster.local:{SERVICE_PORT}",
                      "app": "app1"},
        "externalName": {"service": f"web-service-externalname.{APP_NAMESPACE}.svc.cluster.local",
                         "cname": lab.settings.external_name},
    }


def export(lab: "Lab") -> None:
    s = lab.settings
    pulumi.export("clusterName", s.cluster_name)
    pulumi.export("region", s.region)
    pulumi.export("kubeconfig", lab.cluster.kubeconfig)  # a secret: never printed
    pulumi.export("vpcId", lab.network.vpc_id)
    pulumi.export("vpcCidr", str(s.vpc_cidr))
    pulumi.export("publicSubnetIds", lab.network.public_subnet_ids)
    pulumi.export("privateSubnetIds", lab.network.private_subnet_ids)
    pulumi.export("oidcProviderArn", lab.cluster.oidc_provider_arn)
    pulumi.export("replicas", {app: s.app_replicas for app in lab.testapp.deployments})
    pulumi.export("entrypoints", entrypoints(lab))
    pulumi.export("internal", internal(lab))
