"""AWS Load Balancer Controller: IAM policy, IRSA role, ServiceAccount, Helm release.

The release is the hinge of the lab's ordering. Its mutating webhook
(mservice.elbv2.k8s.aws, failurePolicy Fail) intercepts the creation of every
Service, so every Service must wait for it; and it deletes the load balancers
it made only while it runs, so on destroy it must go last. Pulumi destroys in
reverse dependency order, so one rule gives both: everything the controller
serves depends on `release`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.helm import pinned_release
from components.lb_controller_policy import POLICY
from stacks.model_types import PinnedManifest, Release

SERVICE_ACCOUNT = "aws-load-balancer-controller"


@dataclass
class LabLoadBalancerControllerArgs:
    release: Release
    cluster_name: str
    region: str
    vpc_id: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    """Issuer without https://, as IRSA conditions want it."""
    provider: k8s.Provider
    node_groups: list[pulumi.Resource]
    tags: dict[str, str]
    gateway_api_crds: PinnedManifest | None = None
    """The Gateway API CRDs to apply first: the controller looks for them once, at start-up,
    and without them turns its ALB gateway off (one log line)."""


def trust_policy(oidc_provider_arn: str, oidc_issuer: str, namespace: str) -> str:
    """Only this ServiceAccount, with the STS audience, may assume the role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{oidc_issuer}:sub": f"system:serviceaccount:{namespace}:{SERVICE_ACCOUNT}",
                f"{oidc_issuer}:aud": "sts.amazonaws.com",
            }},
        }],
    })


def chart_values(cluster_name: str, region: str, vpc_id: str, tags: dict[str, str]) -> dict:
    return {
        "clusterName": cluster_name,
        # Given explicitly, the controller needs no instance metadata service.
        "region": region,
        "vpcId": vpc_id,
        "serviceAccount": {"create": False, "name": SERVICE_ACCOUNT},
        # The lab makes IngressClass `alb` itself (docs/lessons.md, lesson 6), with no params.
        "createIngressClassResource": False,
        "ingressClassParams": {"create": False},
        # What the controller makes carries the lab's tags too: the audit finds it. Not the
        # expiry: it moves with every `up`, and a new value would roll the controller each time.
        "defaultTags": {k: v for k, v in tags.items() if k != "lab:expires"},
    }


class LabLoadBalancerController(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    crds: list[k8s.yaml.v2.ConfigFile]
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: LabLoadBalancerControllerArgs,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabLoadBalancerController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        policy = aws.iam.Policy(f"{name}-policy", policy=json.dumps(POLICY),
                                description="AWS Load Balancer Controller (IRSA) for the EKS lab",
                                tags=args.tags, opts=child)
        role = aws.iam.Role(
            f"{name}-irsa",
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
                lambda a: trust_policy(*a, args.release.namespace)),
            tags=args.tags, opts=child)
        attachment = aws.iam.RolePolicyAttachment(f"{name}-attach", role=role.name, policy_arn=policy.arn,
                                                  opts=child)

        k8s_child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata={"name": SERVICE_ACCOUNT, "namespace": args.release.namespace,
                      "annotations": {"eks.amazonaws.com/role-arn": role.arn}},
            opts=k8s_child)

        crds = []
        if args.gateway_api_crds:
            # Applied from the pinned release file; the controller's own gateway.k8s.aws CRDs
            # come with its chart (crds/), which Helm installs before the chart's pods.
            manifest = args.gateway_api_crds
            crds.append(k8s.yaml.v2.ConfigFile(f"{name}-{manifest.name}", file=manifest.url, opts=k8s_child))
        self.release = pinned_release(
            name, args.release.chart, args.release.namespace,
            pulumi.Output.from_input(args.vpc_id).apply(
                lambda vpc: chart_values(args.cluster_name, args.region, vpc, args.tags)),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider,
                # Nodes to run on, AWS permissions before the first reconcile, the
                # ServiceAccount the chart is told not to create, the CRDs it checks at start-up.
                depends_on=[*args.node_groups, attachment, account, *crds]))
        self.crds = crds
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn})
