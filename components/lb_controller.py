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
# The controller's gateway switches (pkg/config/feature_gates.go at v3.5.0). Given all three, it
# skips its start-up CRD detection (pkg/gateway/crddetect: detection runs while any is defaulted).
GATEWAY_FEATURE_GATES = ("ALBGatewayAPI", "NLBGatewayAPI", "GatewayListenerSet")
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
# pulumi-kubernetes has no await of its own for a CRD: its create returns before the API serves
# the kind. This annotation (provider/pkg/metadata/overrides.go) makes it wait until it does.
WAIT_ESTABLISHED = {"pulumi.com/waitFor": "condition=Established"}


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
    """The Gateway API CRDs to apply first (the Gateway API lesson is on): the controller is
    then told to run its gateways, and must find them Established when it starts."""


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


def gateway_feature_gates(gateway_api: bool) -> dict[str, bool]:
    """With the lesson, every gateway gate set: the controller skips its one look for the CRDs at
    start-up, and a missing one fails the release instead of leaving a Gateway never Programmed.
    Without it, none set (detection decides, as for a lab that never had the lesson): turning the
    lesson off rolls the pods while the CRDs still exist, so they keep the gateway on and remove
    the Gateway's ALB and finalizer when Pulumi deletes it, last in the update. Either way the
    values, and so the pods, change with the lesson: a new dependency alone rolls nothing."""
    return dict.fromkeys(GATEWAY_FEATURE_GATES, True) if gateway_api else {}


def await_established(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """A resource transform for the CRDs' ConfigFile: each CRD waits until Established. The engine
    runs it on the children the provider registers (yaml/v2 is a remote component)."""
    if args.type_ != CRD_TYPE:
        return None
    props = dict(args.props)
    metadata = dict(props.get("metadata") or {})
    # Kept: the file's own annotations (Gateway API's safe-upgrades policy reads the channel's).
    metadata["annotations"] = {**(metadata.get("annotations") or {}), **WAIT_ESTABLISHED}
    props["metadata"] = metadata
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)


def chart_values(cluster_name: str, region: str, vpc_id: str, tags: dict[str, str],
                 gateway_api: bool = False) -> dict:
    gates = gateway_feature_gates(gateway_api)
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
        **({"controllerConfig": {"featureGates": gates}} if gates else {}),
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
            crds.append(k8s.yaml.v2.ConfigFile(
                f"{name}-{manifest.name}", file=manifest.url,
                opts=pulumi.ResourceOptions(parent=self, provider=args.provider, transforms=[await_established])))
        self.release = pinned_release(
            name, args.release.chart, args.release.namespace,
            pulumi.Output.from_input(args.vpc_id).apply(
                lambda vpc: chart_values(args.cluster_name, args.region, vpc, args.tags, bool(crds))),
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.provider,
                # Nodes to run on, AWS permissions before the first reconcile, the
                # ServiceAccount the chart is told not to create, the CRDs its gateways watch
                # (the ConfigFile is done once every CRD is Established: await_established).
                depends_on=[*args.node_groups, attachment, account, *crds]))
        self.crds = crds
        self.role_arn = role.arn
        self.register_outputs({"roleArn": self.role_arn})
