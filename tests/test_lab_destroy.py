"""`./lab destroy` after AWS refuses the first destroy: the fake CLI deletes the stack's
network in moto as pulumi-aws would, and fails with AWS's DependencyViolation while an
interface or a security group holds a subnet or the VPC (tests/fake_pulumi/aws_network.py)."""

from __future__ import annotations

import os
import shutil
import subprocess

import boto3
import pytest

from tests.test_lab_stacks import Project, moto_endpoint  # noqa: F401 (a fixture)

REGION = "ap-northeast-2"  # tests/settings/Pulumi.dev.yaml, which every new stack copies


@pytest.fixture
def project(tmp_path, moto_endpoint):  # noqa: F811
    return Project(tmp_path, moto_endpoint)


def ec2(project: Project):
    return boto3.client("ec2", region_name=REGION, endpoint_url=project.env["AWS_ENDPOINT_URL"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def lab_network(project: Project, cluster: str) -> dict[str, str]:
    """What `up` made of the network: the VPC (tagged as the lab tags it) and two subnets."""
    client = ec2(project)
    tags = [{"ResourceType": "vpc", "Tags": [{"Key": "lab:cluster", "Value": cluster},
                                             {"Key": "lab:project", "Value": "eks-networking-lab"}]}]
    vpc = client.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tags)["Vpc"]["VpcId"]
    subnets = [client.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    return {"vpc": vpc, "subnet": subnets[0]}


def cni_leftover(project: Project, cluster: str, subnet: str) -> str:
    """A node's interface the VPC CNI left detached: it holds the subnet; the sweep takes it."""
    tags = [{"Key": "cluster.k8s.amazonaws.com/name", "Value": cluster},
            {"Key": "eks:eni:owner", "Value": "amazon-vpc-cni"}]
    eni = ec2(project).create_network_interface(
        SubnetId=subnet, TagSpecifications=[{"ResourceType": "network-interface", "Tags": tags}])
    return eni["NetworkInterface"]["NetworkInterfaceId"]


def vpc_exists(project: Project, vpc: str) -> bool:
    return any(v["VpcId"] == vpc for v in ec2(project).describe_vpcs()["Vpcs"])


def up(project: Project, stack: str) -> str:
    """The stack as `./lab up` leaves it (test_lab_stacks.py runs that path), made directly."""
    cluster = f"lab-{stack}"
    shutil.copy2(project.dir / "Pulumi.dev.yaml", project.dir / f"Pulumi.{stack}.yaml")
    assert project.pulumi("stack", "init", stack).returncode == 0
    assert project.pulumi("up", "--stack", stack, "--yes", "-c", f"lab:clusterName={cluster}").returncode == 0
    return cluster


def destroy(project: Project, stack: str, vpc: str, *flags: str, stdin=subprocess.DEVNULL):
    return subprocess.run(["./lab", "destroy", "--stack", stack, *flags], cwd=project.dir, stdin=stdin,
                          env={**project.env, "FAKE_PULUMI_VPC": vpc}, capture_output=True, text=True, timeout=300)


def destroys(project: Project) -> int:
    return sum(1 for c in project.calls() if c[0] == "destroy")


def test_a_refused_destroy_is_retried_after_the_sweep_frees_the_subnet(project):
    cluster = up(project, "ci-7")
    net = lab_network(project, cluster)
    eni = cni_leftover(project, cluster, net["subnet"])

    result = destroy(project, "ci-7", net["vpc"], "--yes")

    assert result.returncode == 0, result.stderr
    assert f"api error DependencyViolation: The subnet '{net['subnet']}' has dependencies" in result.stdout
    assert f"deleted network-interface {eni}" in result.stdout
    assert destroys(project) == 2
    err = result.stderr
    first, sweep, again = (err.index(s) for s in ("==> pulumi destroy of stack ci-7\n",
                                                  f"==> sweeping what the controllers left for cluster {cluster}",
                                                  "==> pulumi destroy of stack ci-7 once more, after the sweep"))
    assert first < sweep < again
    assert "pulumi destroy --stack ci-7 --yes: done on the second attempt" in err
    assert f"teardown of stack ci-7 complete: nothing of cluster {cluster} left in {REGION}" in err
    assert not vpc_exists(project, net["vpc"])


def test_a_destroy_refused_twice_says_so_and_fails(project):
    cluster = up(project, "ci-8")
    net = lab_network(project, cluster)
    # A group made by hand in the lab's VPC: not the controllers', so the sweep leaves it.
    ec2(project).create_security_group(GroupName="by-hand", Description="by hand", VpcId=net["vpc"])

    result = destroy(project, "ci-8", net["vpc"], "--yes")

    assert result.returncode == 1
    assert result.stdout.count(f"The vpc '{net['vpc']}' has dependencies and cannot be deleted.") == 2
    assert destroys(project) == 2
    assert "pulumi destroy --stack ci-8 --yes: failed again (exit 1)" in result.stderr
    assert "pulumi destroy failed twice, before and after the sweep" in result.stderr
    assert f"the audit found what is left of cluster {cluster} in {REGION}" in result.stderr
    assert vpc_exists(project, net["vpc"])


def test_a_destroy_that_succeeds_is_not_repeated(project):
    cluster = up(project, "ci-9")
    net = lab_network(project, cluster)

    result = destroy(project, "ci-9", net["vpc"], "--yes")

    assert result.returncode == 0, result.stderr
    assert destroys(project) == 1 and "once more" not in result.stderr
    assert not vpc_exists(project, net["vpc"])


def test_without_yes_a_refused_destroy_is_not_retried_and_the_command_is_given(project):
    cluster = up(project, "ci-11")
    net = lab_network(project, cluster)
    eni = cni_leftover(project, cluster, net["subnet"])
    primary, replica = os.openpty()  # a terminal: Pulumi would ask, the fake goes ahead
    try:
        result = destroy(project, "ci-11", net["vpc"], stdin=replica)
    finally:
        os.close(primary)
        os.close(replica)

    assert result.returncode == 1
    assert destroys(project) == 1
    assert "Dry run: nothing was deleted" in result.stdout and eni in result.stdout
    assert "pulumi destroy --stack ci-11: failed (exit 1); not retried without --yes" in result.stderr
    assert "to delete that and retry: ./lab destroy --stack ci-11 --yes" in result.stderr
    assert vpc_exists(project, net["vpc"])
