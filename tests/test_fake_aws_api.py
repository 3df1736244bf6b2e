"""The fake CLI's AWS calls (tests/fake_pulumi/aws_api.py) read moto's answers as botocore does."""

from __future__ import annotations

import sys

import pytest

from tests.test_lab_destroy import REGION, ec2
from tests.test_lab_stacks import FAKE, moto_endpoint, project  # noqa: F401 (fixtures)


@pytest.fixture
def api(project, monkeypatch):  # noqa: F811
    """aws_api as the fake CLI imports it, in the environment `./lab` gives the fake CLI."""
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"):
        monkeypatch.setenv(key, project.env[key])
    monkeypatch.syspath_prepend(str(FAKE.parent))
    sys.modules.pop("aws_api", None)
    import aws_api

    yield aws_api
    sys.modules.pop("aws_api", None)


def test_describe_filters_by_vpc_and_delete_takes_the_subnet(api, project):  # noqa: F811
    client = ec2(project)
    vpc, other = (client.create_vpc(CidrBlock=c)["Vpc"]["VpcId"] for c in ("10.1.0.0/16", "10.2.0.0/16"))
    subnet = client.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    client.create_subnet(VpcId=other, CidrBlock="10.2.1.0/24")

    found = api.items(api.ec2(REGION, "DescribeSubnets", Filter=[{"Name": "vpc-id", "Value": [vpc]}]), "subnetSet")
    assert [api.field(s, "subnetId") for s in found] == [subnet]
    api.ec2(REGION, "DeleteSubnet", SubnetId=subnet)
    assert not client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]


def test_an_ec2_refusal_is_its_code_and_message(api):
    with pytest.raises(api.ApiError) as refused:
        api.ec2(REGION, "DeleteVpc", VpcId="vpc-0123456789abcdef0")
    assert refused.value.code == "InvalidVpcID.NotFound" and "vpc-0123456789abcdef0" in refused.value.message


def test_an_eks_error_is_its_type_from_the_header(api):
    with pytest.raises(api.ApiError) as missing:
        api.eks(REGION, "GET", "/clusters/no-such-lab")
    assert missing.value.code == "ResourceNotFoundException" and "no-such-lab" in missing.value.message
