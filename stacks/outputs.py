"""The stack outputs: the contract the smoke tests and the lifecycle tools read.

Names are fixed (README, "The outputs contract"); the smoke tests never import
the program, they read these only. The entry points, the cost and the time all
come from the lab model; only what `up` alone can know (a load balancer's DNS
name, the lab CA) comes from the components.
"""

from __future__ import annotations

import pulumi

from stacks import estimates, prices
from stacks.settings import iso
from stacks.built import Lab


def address(lab: Lab, name: str) -> pulumi.Output[str]:
    """The DNS name behind an entry point's `address` in the model."""
    if name.startswith("service:"):
        return lab.services.hostname(name.split(":", 1)[1])
    component = {"alb": lab.alb, "nginx": lab.nginx, "traefik": lab.traefik, "gateway": lab.gateway}[name]
    return component.hostname


def entrypoints(lab: Lab) -> pulumi.Output[dict]:
    """One entry per way in from outside; see README, "The outputs contract"."""
    entries: dict = {}
    for name, entry in lab.model.entrypoints.items():
        if entry.address is None:
            entries[name] = entry.resolve()
        elif entry.tls:
            entries[name] = pulumi.Output.all(address(lab, entry.address), lab.traefik.ca_certificate).apply(
                lambda a, entry=entry: entry.resolve(a[0], a[1]))
        else:
            entries[name] = address(lab, entry.address).apply(lambda host, entry=entry: entry.resolve(host))
    return pulumi.Output.from_input(entries)


def export(lab: Lab) -> None:
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
    pulumi.export("internal", lab.model.internal)
    # From the lab model, as the offline plan shows them. Cost is None for a region
    # or instance type stacks/prices.py lacks.
    pulumi.export("estimatedHourlyCostUsd", prices.hourly_usd(lab.model))
    pulumi.export("estimatedProvisionMinutes", estimates.provision_minutes(lab.model))
    # The instant of every resource's lab:expires tag, so that the backend alone says when the
    # lab expires (./lab reap and the reaper workflow read it).
    pulumi.export("expiresAt", iso(s.expires_at))
