"""What the fake CLI's `destroy` does to a stack's network in AWS (here, moto).

pulumi-aws deletes a VPC's subnets, then the VPC (terraform-provider-aws,
internal/service/ec2: resourceSubnetDelete and resourceVPCDelete call DeleteSubnet and
DeleteVpc, retry them while AWS answers DependencyViolation, then fail with
"deleting EC2 Subnet (%s): %s" / "deleting EC2 VPC (%s): %s"). AWS refuses
DeleteSubnet while a network interface is in the subnet, and DeleteVpc while a
security group other than the default one is in the VPC, with
"DependencyViolation: The subnet 'subnet-...' has dependencies and cannot be deleted.".
moto deletes them regardless, so those two refusals are checked here first.
The calls go to moto through aws_api.py, not boto3 (half a second of CPU to load, per destroy).
"""

from __future__ import annotations

import aws_api

REQUEST_ID = "00000000-0000-4000-8000-000000000000"


def _sdk_error(operation: str, code: str, message: str) -> str:
    # How aws-sdk-go-v2 (smithy-go) words an API error.
    return (f"operation error EC2: {operation}, https response error StatusCode: 400, "
            f"RequestID: {REQUEST_ID}, api error {code}: {message}")


def _refused(kind: str, ident: str) -> str:
    return f"The {kind} '{ident}' has dependencies and cannot be deleted."


def _delete(call, operation: str, ident: str, blocked: bool, kind: str) -> str | None:
    """None when deleted, else the provider's error for it."""
    label = "Subnet" if kind == "subnet" else "VPC"
    if blocked:
        return f"deleting EC2 {label} ({ident}): " + _sdk_error(operation, "DependencyViolation", _refused(kind, ident))
    try:
        call()
    except aws_api.ApiError as err:
        return f"deleting EC2 {label} ({ident}): " + _sdk_error(operation, err.code, err.message)
    return None


def destroy_network(region: str, vpc_id: str) -> dict[str, str]:
    """Delete the VPC's subnets, then (if they all went) the VPC: {resource type and id: error}."""
    def ec2(action: str, **params):
        return aws_api.ec2(region, action, **params)

    def where(name: str, value: str) -> list[dict]:
        return [{"Name": name, "Value": [value]}]

    errors: dict[str, str] = {}
    subnets = aws_api.items(ec2("DescribeSubnets", Filter=where("vpc-id", vpc_id)), "subnetSet")
    for subnet in sorted(aws_api.field(s, "subnetId") for s in subnets):
        held = aws_api.items(ec2("DescribeNetworkInterfaces", Filter=where("subnet-id", subnet)),
                             "networkInterfaceSet")
        error = _delete(lambda s=subnet: ec2("DeleteSubnet", SubnetId=s), "DeleteSubnet", subnet, bool(held), "subnet")
        if error:
            errors[f"aws:ec2/subnet:Subnet::{subnet}"] = error
    if errors:
        return errors  # the VPC depends on its subnets: Pulumi does not try it
    groups = aws_api.items(ec2("DescribeSecurityGroups", Filter=where("vpc-id", vpc_id)), "securityGroupInfo")
    held = [g for g in groups if aws_api.field(g, "groupName") != "default"]
    error = _delete(lambda: ec2("DeleteVpc", VpcId=vpc_id), "DeleteVpc", vpc_id, bool(held), "vpc")
    return {f"aws:ec2/vpc:Vpc::{vpc_id}": error} if error else {}


def refusal(vpc_id: str) -> dict[str, str]:
    """The VPC's DependencyViolation, whatever AWS holds."""
    return {f"aws:ec2/vpc:Vpc::{vpc_id}": _delete(lambda: None, "DeleteVpc", vpc_id, True, "vpc") or ""}


def diagnostics(stack: str, project: str, errors: dict[str, str]) -> str:
    """Pulumi's report of a failed destroy (stdout), as pulumi/pulumi prints one:
    each resource's error, then the stack's "update failed" (deployment_executor.go)."""
    lines = ["Diagnostics:"]
    for urn_tail, error in sorted(errors.items()):
        kind, name = urn_tail.split("::")
        short = kind.split("/")[0] + ":" + kind.split(":")[-1]
        urn = f"urn:pulumi:{stack}::{project}::{urn_tail}"
        lines += [f"  {short} ({name}):", f"    error: deleting {urn}: 1 error occurred:", f"    \t* {error}", ""]
    lines += [f"  pulumi:pulumi:Stack ({project}-{stack}):", "    error: update failed", ""]
    return "\n".join(lines)


def delete_cluster(region: str, name: str) -> None:
    """The stack's EKS cluster, gone with its stack (nothing to do when it is gone already)."""
    try:
        aws_api.eks(region, "DELETE", f"/clusters/{name}")
    except aws_api.ApiError as err:
        if err.code != "ResourceNotFoundException":
            raise
