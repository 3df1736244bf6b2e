"""Whether the lab fits its nodes and subnets: pods per node, addresses per subnet.

Under the VPC CNI defaults every pod takes an address of the node's network
interfaces: a node runs at most ENIs x (addresses per ENI - 1) + 2 pods (the +2
are aws-node and kube-proxy, on the host network), and it takes up to
ENIs x addresses per ENI from its subnet (WARM_ENI_TARGET=1 attaches whole ENIs).

INSTANCE_TYPES: (ENIs, IPv4 addresses per ENI) of the x86_64 families the lab
accepts, from the EC2 documentation ("Maximum IP addresses per network
interface"). PUBLISHED_MAX_PODS: the EKS figures for the same types, from
awslabs/amazon-eks-ami templates/shared/runtime/eni-max-pods.txt (commit
0254c5b4, read 2026-11-21); tests/test_fits.py holds the two together.
"""

from __future__ import annotations

import math

_SIZES = {"large": (3, 10), "xlarge": (4, 15), "2xlarge": (4, 15)}
INSTANCE_TYPES: dict[str, tuple[int, int]] = {
    "t3.micro": (2, 2), "t3.small": (3, 4), "t3.medium": (3, 6), "t3.large": (3, 12),
    "t3.xlarge": (4, 15), "t3.2xlarge": (4, 15),
    "t3a.micro": (2, 2), "t3a.small": (2, 4), "t3a.medium": (3, 6), "t3a.large": (3, 12),
    "t3a.xlarge": (4, 15), "t3a.2xlarge": (4, 15),
    **{f"{family}.{size}": eni for family in ("m5", "m6i", "m7i", "c5", "c6i", "c7i", "r5", "r6i")
       for size, eni in _SIZES.items()},
}
PUBLISHED_MAX_PODS = {
    "t3.micro": 4, "t3.small": 11, "t3.medium": 17, "t3.large": 35, "t3.xlarge": 58, "t3.2xlarge": 58,
    "t3a.micro": 4, "t3a.small": 8, "t3a.medium": 17, "t3a.large": 35, "t3a.xlarge": 58, "t3a.2xlarge": 58,
    **{f"{family}.{size}": pods for family in ("m5", "m6i", "m7i", "c5", "c6i", "c7i", "r5", "r6i")
       for size, pods in (("large", 29), ("xlarge", 58), ("2xlarge", 58))},
}
FAMILIES = sorted({t.split(".")[0] for t in INSTANCE_TYPES})
# vCPUs of the same types (EC2 instance type specifications; tests/test_account.py holds them
# to moto's copy of DescribeInstanceTypes): what each node takes of the account's vCPU quota.
_SIZE_VCPUS = {"micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4, "2xlarge": 8}
VCPUS = {t: _SIZE_VCPUS[t.split(".")[1]] for t in INSTANCE_TYPES}

DAEMONSET_PODS = 2  # aws-node (VPC CNI) and kube-proxy on every node, EKS's default add-ons
COREDNS_PODS = 2    # EKS's CoreDNS Deployment
SMOKE_PODS = 1      # the in-cluster smoke check's pod
SUBNET_RESERVED = 5  # AWS keeps the first four addresses and the last of every subnet
ALB_ADDRESSES = 8    # an ALB wants 8 free addresses in each of its subnets to scale
NAT_ADDRESSES = 1


def max_pods(instance_type: str) -> int:
    enis, per_eni = INSTANCE_TYPES[instance_type]
    return enis * (per_eni - 1) + 2


def node_addresses(instance_type: str) -> int:
    enis, per_eni = INSTANCE_TYPES[instance_type]
    return enis * per_eni


def usable_addresses(prefix_length: int) -> int:
    return 2 ** (32 - prefix_length) - SUBNET_RESERVED


def per_zone(count: int, zones: int) -> int:
    """Nodes of a group in its fullest zone: the Auto Scaling group balances over zones."""
    return math.ceil(count / zones)
