"""The simulated cloud's answers: outputs the real providers would compute and the
lookups the program makes, in the shapes the program reads, never real values."""

from __future__ import annotations

import json
from typing import Any

import pulumi


def zone_id_prefix(region: str) -> str:
    """us-east-1 -> use1, ap-northeast-2 -> apne2: the form of AWS zone IDs."""
    area, direction, number = region.split("-")[0], region.split("-")[1], region.split("-")[-1]
    short = {"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw"}
    return f"{area}{short.get(direction, direction[0])}{number}"


def availability_zones(region: str, count: int = 4) -> dict[str, Any]:
    """Zones a-d of the region, as an account sees them: a -> az1, b -> az2, ... (the real
    mapping differs per account; this one puts us-east-1c on use1-az3, where EKS refuses)."""
    letters = "abcdef"[:count]
    return {"names": [f"{region}{x}" for x in letters],
            "zoneIds": [f"{zone_id_prefix(region)}-az{i}" for i, _ in enumerate(letters, 1)],
            "id": region, "state": "available"}


class LabMocks(pulumi.runtime.Mocks):
    """Outputs that the real providers would compute, in the shapes the program reads."""

    def __init__(self, region: str = "ap-northeast-2"):
        self.region = region

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outs = dict(args.inputs)
        name = args.name
        if args.typ.startswith("aws:"):
            outs.setdefault("arn", f"arn:aws:mock:ap-northeast-2:123456789012:{args.typ.split(':')[-1]}/{name}")
        if args.typ == "eks:index:Cluster":
            issuer = f"oidc.eks.ap-northeast-2.amazonaws.com/id/{name.upper()}0123456789"
            outs.update(
                kubeconfigJson=json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [
                    {"name": name, "cluster": {"server": "https://mock.eks.local"}}]}),
                oidcProviderArn=f"arn:aws:iam::123456789012:oidc-provider/{issuer}",
                oidcIssuer=issuer,
                clusterSecurityGroupId="sg-eks-cluster",
            )
        elif args.typ == "aws:iam/role:Role":
            outs["arn"] = f"arn:aws:iam::123456789012:role/{name}"
            outs.setdefault("name", name)
        elif args.typ.startswith("tls:"):
            outs.update(certPem=f"-----BEGIN CERTIFICATE-----\nMOCK {name}\n-----END CERTIFICATE-----\n",
                        privateKeyPem=f"-----BEGIN PRIVATE KEY-----\nMOCK {name}\n-----END PRIVATE KEY-----\n",
                        certRequestPem="MOCK CSR")
        elif args.typ == "aws:iam/policy:Policy":
            outs["arn"] = f"arn:aws:iam::123456789012:policy/{name}"
        elif args.typ.startswith("aws:lb/loadBalancer"):
            outs["dnsName"] = f"{name}-0123456789.elb.ap-northeast-2.amazonaws.com"
            outs["arn"] = f"arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/net/{name}/abc"
        elif args.typ == "kubernetes:core/v1:Service":
            spec = outs.get("spec") or {}
            if spec.get("type") == "LoadBalancer" or args.resource_id:  # made here, or read (Service.get)
                svc = outs.get("metadata", {}).get("name", name)
                outs["status"] = {"loadBalancer": {"ingress": [
                    {"hostname": f"k8s-{svc}-0123456789.elb.ap-northeast-2.amazonaws.com"}]}}
        elif args.typ == "kubernetes:networking.k8s.io/v1:Ingress":
            ing = outs.get("metadata", {}).get("name", name)
            outs["status"] = {"loadBalancer": {"ingress": [
                {"hostname": f"k8s-{ing}-0123456789.ap-northeast-2.elb.amazonaws.com"}]}}
        elif args.typ == "kubernetes:gateway.networking.k8s.io/v1:Gateway":
            gw = outs.get("metadata", {}).get("name", name)
            # As the controller reports a Programmed Gateway: the ALB's DNS name.
            outs["status"] = {"addresses": [{"type": "Hostname",
                                             "value": f"k8s-{gw}-0123456789.ap-northeast-2.elb.amazonaws.com"}],
                              "conditions": [{"type": "Programmed", "status": "True"}]}
        elif args.typ == "kubernetes:helm.sh/v3:Release":
            outs["status"] = {"name": outs.get("name", name), "namespace": outs.get("namespace", "default"),
                              "status": "deployed", "version": outs.get("version", "")}
        return f"{name}-id", outs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:eks/getNodeGroup:getNodeGroup":
            ng = args.args["nodeGroupName"]
            return {"clusterName": args.args["clusterName"], "nodeGroupName": ng,
                    "resources": [{"autoscalingGroups": [{"name": f"eks-{ng}-asg"}], "remoteAccessSecurityGroupId": ""}]}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:user/lab", "userId": "x"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return availability_zones(self.region)
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        return {}
