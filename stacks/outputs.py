"""The stack outputs: the contract the smoke tests and the lifecycle tools read.

Names are fixed (README, "Stack outputs"); the smoke tests never import the
program, they read these only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from stacks.lab import Lab


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
