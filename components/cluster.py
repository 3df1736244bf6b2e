"""The EKS cluster, its two managed node groups and the Kubernetes provider."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from stacks.model_types import NodeGroup

NODE_POLICIES = {
    "worker": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "cni": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "ecr": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
}
NODE_PORT_RANGE = (30000, 32767)
ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


def partition(region: str) -> str:
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


@dataclass
class LabClusterArgs:
    cluster_name: str
    kubernetes_version: str
    support_type: str
    """upgradePolicy.supportType: STANDARD unless the settings allowed extended support."""
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    private_subnet_ids: pulumi.Input[list[str]]
    api_access_cidrs: list[str]
    client_cidrs: list[str]
    """Who may reach the NodePorts (lab:clientCidrs)."""
    admin_principal_arns: list[str]
    """Given cluster admin through access entries (the creator has it already)."""
    region: str
    node_groups: list[NodeGroup]
    tags: dict[str, str]


def admin_entries(arns: list[str], region: str) -> dict[str, eks.AccessEntryArgs]:
    policy = f"arn:{partition(region)}:eks::aws:cluster-access-policy/{ADMIN_POLICY}"
    # Keyed by the ARN, so reordering the list replaces nothing.
    return {f"admin-{hashlib.sha256(arn.encode()).hexdigest()[:8]}": eks.AccessEntryArgs(
        principal_arn=arn,
        access_policies={"cluster-admin": eks.AccessPolicyAssociationArgs(
            policy_arn=policy, access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"))})
        for arn in arns}


class LabCluster(pulumi.ComponentResource):
    cluster_name: str
    kubeconfig: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    """Issuer without https://, the form IRSA trust conditions use."""
    cluster_security_group_id: pulumi.Output[str]
    provider: k8s.Provider
    node_groups: dict[str, eks.ManagedNodeGroup]

    def __init__(self, name: str, args: LabClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags

        cluster = eks.Cluster(
            name,
            name=args.cluster_name,  # fixed physical name: the controllers and the posts refer to it
            version=args.kubernetes_version,
            # Said, not left to EKS's default (EXTENDED): no silent extended-support billing.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=args.support_type),
            vpc_id=args.vpc_id,
            public_subnet_ids=args.public_subnet_ids,
            private_subnet_ids=args.private_subnet_ids,
            skip_default_node_group=True,
            # Managed nodes live in the EKS-created cluster security group; with this
            # set, cluster_security_group_id is that group (pulumi-eks#1275, #1416).
            skip_default_security_groups=True,
            authentication_mode=eks.AuthenticationMode.API,
            create_oidc_provider=True,
            endpoint_public_access=True,
            endpoint_private_access=True,
            public_access_cidrs=args.api_access_cidrs,
            access_entries=admin_entries(args.admin_principal_arns, args.region),
            tags=tags,
            cluster_tags=tags,
            opts=child,
        )

        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"Service": "ec2.amazonaws.com"}}],
            }),
            tags=tags, opts=child)
        attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-{key}", role=node_role.name, policy_arn=arn, opts=child)
            for key, arn in NODE_POLICIES.items()
        ]

        self.node_groups = {}
        for ng in args.node_groups:
            self.node_groups[ng.name] = eks.ManagedNodeGroup(
                ng.name,
                cluster=cluster,
                node_group_name=ng.name,
                node_role=node_role,
                subnet_ids=args.public_subnet_ids if ng.public else args.private_subnet_ids,
                instance_types=[ng.instance_type],
                # pulumi-eks derives the AMI type only from this; pinned, a change of its
                # default OS cannot replace the nodes.
                operating_system=eks.OperatingSystem.AL2023,
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    desired_size=ng.desired_size, min_size=ng.min_size, max_size=ng.max_size),
                labels={"nodegroup": ng.label},
                enable_imd_sv2=True,  # httpTokens=required, hop limit 2 (pods can still reach IMDS)
                tags=tags,
                # Nodes without these policies never join, and the node group fails after ~20 min.
                opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
            )

        # The NodePort lesson: the post's first try failed until this range was opened. The whole
        # range, so every NodePort of the lab (ingress-nginx's and Traefik's too) admits these only.
        for i, cidr in enumerate(args.client_cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nodeport-{i}",
                security_group_id=cluster.cluster_security_group_id,
                ip_protocol="tcp", from_port=NODE_PORT_RANGE[0], to_port=NODE_PORT_RANGE[1],
                cidr_ipv4=cidr, description="NodePort Services from the lab's allowed sources",
                tags=tags, opts=child)

        self.cluster_name = args.cluster_name
        self.kubeconfig = pulumi.Output.secret(cluster.kubeconfig_json)
        self.oidc_provider_arn = cluster.oidc_provider_arn
        self.oidc_issuer = cluster.oidc_issuer
        self.cluster_security_group_id = cluster.cluster_security_group_id
        self.provider = k8s.Provider(f"{name}-k8s", kubeconfig=self.kubeconfig,
                                     # One Kubernetes provider for every object that follows.
                                     opts=child)
        self.register_outputs({"kubeconfig": self.kubeconfig, "oidcProviderArn": self.oidc_provider_arn,
                               "clusterSecurityGroupId": self.cluster_security_group_id})
