"""`./lab preflight`: the account's quotas, usage and offerings against what the lab needs.

moto answers EC2, ELBv2, STS, EKS clusters and Service Quotas for the `vpc` codes;
botocore's Stubber (which checks each request and response against botocore's own
service model) stands in where moto has no answer: Service Quotas for the ec2, elb
and eks codes, and eks:DescribeClusterVersions. Each check has a case that passes
and one where it fails for its own reason.
"""

from __future__ import annotations

import functools
import json
import socket

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from labtools import account, quotas
from labtools.__main__ import main
from labtools.account_judge import OK, SHORT, WARN, judge
from labtools.stack_file import stack_settings
from stacks.capacity import INSTANCE_TYPES, VCPUS
from stacks.model import lab_model

REGION = "ap-northeast-2"  # the tests' Pulumi.dev.yaml
OFFERED = [{"clusterVersion": v, "versionStatus": "STANDARD_SUPPORT"} for v in ("1.34", "1.35", "1.36")]


@pytest.fixture
def aws(monkeypatch, moto_models):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION,
                       # moto loads thousands of AMIs into every EC2 backend it makes; none is needed here.
                       "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    # Clients cost a second each to make (botocore loads and copies its models); moto answers any
    # client made after its import, so one set serves every test, each in its own fresh account.
    monkeypatch.setattr(account, "make_clients", shared_clients)
    with mock_aws():
        yield shared_clients(REGION)


@functools.cache
def shared_clients(region):
    return MAKE_CLIENTS(region)


MAKE_CLIENTS = account.make_clients


def model_of(overrides=None, stack="dev"):
    return lab_model(stack_settings(stack, overrides=overrides))


def checks_of(model, labs=1, clients=None, concurrent=True):
    return {c.name: c for c in judge(model, account.read_account(model, clients, concurrent), labs)}


def lab_tags(stack="dev", cluster="eks-test"):
    return [{"Key": "lab:project", "Value": "eks-networking-lab"}, {"Key": "lab:stack", "Value": stack},
            {"Key": "lab:cluster", "Value": cluster}]


def vpcs(clients, count, tags=None):
    ec2 = clients["ec2"]
    spec = {"TagSpecifications": [{"ResourceType": "vpc", "Tags": tags}]} if tags else {}
    for i in range(count):
        ec2.create_vpc(CidrBlock=f"10.{100 + i}.0.0/16", **spec)


def stubbed(quota_values=None, versions=OFFERED, cluster_tags=None):
    """Clients with Service Quotas and EKS stubbed, for one sequential read."""
    clients = {**shared_clients(REGION), **stub_clients()}
    sq, eks = Stubber(clients["quotas"]), Stubber(clients["eks"])
    for q in quotas.QUOTAS.values():
        value = (quota_values or {}).get(q.key, 1000)
        params = {"ServiceCode": q.service, "QuotaCode": q.code}
        if isinstance(value, str):
            sq.add_client_error("get_service_quota", service_error_code=value, expected_params=params)
        else:
            sq.add_response("get_service_quota", {"Quota": {"ServiceCode": q.service, "QuotaCode": q.code,
                                                            "Value": float(value)}}, params)
    eks.add_response("list_clusters", {"clusters": ["eks-test"] if cluster_tags else []}, {})
    if cluster_tags:
        eks.add_response("describe_cluster", {"cluster": {"name": "eks-test", "tags": cluster_tags}},
                         {"name": "eks-test"})
    else:
        eks.add_client_error("describe_cluster", service_error_code="ResourceNotFoundException",
                             expected_params={"name": "eks-test"})
    eks.add_response("describe_cluster_versions", {"clusterVersions": versions}, {})
    sq.activate()
    eks.activate()
    return clients, (sq, eks)


@functools.cache
def stub_clients():
    """Clients of their own for the Stubber (the read is sequential: a stub answers in order)."""
    return {name: boto3.client(service, region_name=REGION)
            for name, service in (("quotas", "service-quotas"), ("eks", "eks"), ("sts", "sts"))}


def read_stubbed(model, **kwargs):
    clients, stubs = stubbed(**kwargs)
    try:
        found = checks_of(model, clients=clients, concurrent=False)
        for stub in stubs:
            stub.assert_no_pending_responses()
    finally:
        for stub in stubs:
            stub.deactivate()
    return found


def preflight(capsys, *args):
    code = main(["preflight", *args])
    out, err = capsys.readouterr()
    return code, out if "--json" in args else " ".join(out.split()), err  # the text unwrapped


# --------------------------------------------------------------------------
# Every check passes for the posts' lab in a fresh account


def test_a_fresh_account_holds_the_lab_every_value_read(aws):
    found = read_stubbed(model_of())
    assert {c.verdict for c in found.values()} == {OK}, [c.message for c in found.values() if c.verdict != OK]
    assert not any(c.assumed for c in found.values())
    assert found["VPCs"].used == 1 and found["VPCs"].needed == 1  # moto's default VPC


def test_the_exit_code_and_the_json_document(aws, capsys):
    code, out, _ = preflight(capsys, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["holds"] is True and doc["account"] == "123456789012"
    vpc = next(c for c in doc["checks"] if c["quotaCode"] == "L-F678F1CE")
    assert {k: vpc[k] for k in ("name", "value", "assumed", "used", "needed", "verdict")} == {
        "name": "VPCs", "value": 5, "assumed": False, "used": 1, "needed": 1, "verdict": "ok"}
    # moto has no ec2 quotas in Service Quotas: the vCPU quota is AWS's default, assumed, 6 > 5 only warns.
    vcpu = next(c for c in doc["checks"] if c["quotaCode"] == "L-1216C47A")
    assert (vcpu["value"], vcpu["assumed"], vcpu["verdict"], vcpu["needed"]) == (5, True, "warn", 6)
    assert "--quota-code L-1216C47A --desired-value 6 --region ap-northeast-2" in vcpu["request"]


# --------------------------------------------------------------------------
# Each check fails for its own reason


def test_five_of_five_vpcs_used_refuses_with_the_request_command(aws, capsys):
    vpcs(aws, 4)  # and moto's default VPC
    code, out, _ = preflight(capsys)
    assert code == 1
    assert "VPCs (vpc L-F678F1CE, VPCs per Region): 5 of 5 used, the lab needs 1 more" in out
    assert ("aws service-quotas request-service-quota-increase --service-code vpc --quota-code L-F678F1CE "
            "--desired-value 6 --region ap-northeast-2") in out
    assert "The account cannot hold the lab: 1 shortfall(s) above." in out


def test_the_stacks_own_vpc_is_not_usage(aws):
    vpcs(aws, 3)
    vpcs(aws, 1, lab_tags())  # an earlier, half-finished up of this stack
    assert checks_of(model_of())["VPCs"].verdict == OK
    vpcs(aws, 1, lab_tags(stack="other"))
    assert checks_of(model_of())["VPCs"].verdict == SHORT


def test_five_elastic_ips_allocated_refuses_from_the_account_attribute(aws):
    for _ in range(5):
        aws["ec2"].allocate_address(Domain="vpc")
    eip = checks_of(model_of())["Elastic IPs"]
    assert (eip.verdict, eip.value, eip.assumed, eip.used, eip.needed) == (SHORT, 5, False, 5, 1)
    assert eip.source.startswith("account attribute vpc-max-elastic-ips")


def test_perAz_needs_a_nat_gateway_and_an_address_in_each_zone(aws):
    found = checks_of(model_of({"lab:natGateways": "perAz"}))
    assert found["Elastic IPs"].needed == 2
    assert {n for n in found if n.startswith("NAT gateways")} == {
        "NAT gateways in ap-northeast-2a", "NAT gateways in ap-northeast-2c"}


def test_nat_gateways_count_in_their_own_zone(aws):
    ec2 = aws["ec2"]
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.1.0/24", AvailabilityZone="ap-northeast-2a")["Subnet"]
    for _ in range(5):
        address = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.create_nat_gateway(SubnetId=subnet["SubnetId"], AllocationId=address)
    found = checks_of(model_of({"lab:natGateways": "perAz"}))
    first, second = found["NAT gateways in ap-northeast-2a"], found["NAT gateways in ap-northeast-2c"]
    assert (first.used, first.verdict) == (5, SHORT) and (second.used, second.verdict) == (0, OK)


def test_the_stacks_own_load_balancers_are_not_usage(aws):
    ec2, elbv2 = aws["ec2"], aws["elbv2"]
    vpc = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.70.{i}.0/24", AvailabilityZone=f"ap-northeast-2{z}")
               ["Subnet"]["SubnetId"] for i, z in enumerate("ac")]
    elbv2.create_load_balancer(Name="someone-elses", Subnets=subnets, Type="application")
    elbv2.create_load_balancer(Name="eks-test-lab", Subnets=subnets, Type="application", Tags=lab_tags())
    alb = read_stubbed(model_of(), quota_values={"albs": 3})["ALBs"]
    assert (alb.used, alb.needed, alb.verdict) == (1, 2, OK)
    assert read_stubbed(model_of(), quota_values={"albs": 2})["ALBs"].verdict == SHORT


def test_a_vcpu_quota_of_4_refuses(aws):
    found = read_stubbed(model_of(), quota_values={"vcpus": 4})
    vcpu = found["vCPUs of On-Demand Standard instances"]
    assert (vcpu.verdict, vcpu.value, vcpu.assumed, vcpu.needed) == (SHORT, 4, False, 6)
    assert "--desired-value 6" in vcpu.request


def test_running_instances_use_the_vcpu_quota(aws):
    aws["ec2"].run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, InstanceType="m5.xlarge")
    name = "vCPUs of On-Demand Standard instances"
    fits = read_stubbed(model_of(), quota_values={"vcpus": 14})[name]  # 8 used + 6: a quota's end is allowed
    assert (fits.used, fits.verdict) == (8, OK)
    assert read_stubbed(model_of(), quota_values={"vcpus": 13})[name].verdict == SHORT


def test_a_zone_without_the_instance_type_refuses(aws):
    model = model_of({"lab:availabilityZones": ["ap-northeast-2a", "ap-northeast-2b"],
                      "lab:publicNodeGroup": {"instanceType": "t3a.small", "desiredSize": 1, "minSize": 1,
                                              "maxSize": 1}})
    found = checks_of(model)
    assert found["instance type t3.small offered"].verdict == OK
    bad = found["instance type t3a.small offered"]
    assert bad.verdict == SHORT
    assert "t3a.small is not offered in ap-northeast-2b" in bad.message
    assert "lab:publicNodeGroup.instanceType" in bad.message


def test_a_version_eks_does_not_offer_refuses(aws):
    offered = [v for v in OFFERED if v["clusterVersion"] != "1.36"]
    check = read_stubbed(model_of(), versions=offered)["Kubernetes 1.36 offered by EKS"]
    assert check.verdict == SHORT
    assert "set lab:kubernetesVersion to one it offers that the lab knows: 1.34, 1.35" in check.message
    gone = [*offered, {"clusterVersion": "1.36", "versionStatus": "UNSUPPORTED"}]
    assert read_stubbed(model_of(), versions=gone)["Kubernetes 1.36 offered by EKS"].verdict == SHORT


def test_a_cluster_of_the_same_name_that_is_not_this_stacks_refuses(aws, capsys):
    role = "arn:aws:iam::123456789012:role/eks"
    aws["eks"].create_cluster(name="eks-test", roleArn=role, resourcesVpcConfig={},
                                      tags={"lab:project": "eks-networking-lab", "lab:stack": "someone-else"})
    code, out, _ = preflight(capsys)
    assert code == 1
    assert ("an EKS cluster named eks-test already exists in ap-northeast-2 and is not stack dev's "
            "(lab:project=eks-networking-lab, lab:stack=someone-else)") in out


def test_this_stacks_own_cluster_is_no_conflict_and_no_usage(aws):
    tags = {t["Key"]: t["Value"] for t in lab_tags()}
    found = read_stubbed(model_of(), cluster_tags=tags)
    assert found["EKS cluster name eks-test free"].verdict == OK
    assert found["EKS clusters"].used == 0


def test_three_labs_where_two_fit(aws, capsys):
    vpcs(aws, 2)  # 3 of 5 used
    assert preflight(capsys, "--labs", "2")[0] == 0
    code, out, _ = preflight(capsys, "--labs", "3", "--json")
    vpc = next(c for c in json.loads(out)["checks"] if c["name"] == "VPCs")
    assert code == 1 and (vpc["used"], vpc["needed"], vpc["verdict"]) == (3, 3, "short")
    assert "--desired-value 6" in vpc["request"]


def test_an_access_denied_quota_read_is_assumed_and_only_warns(aws, capsys):
    vpcs(aws, 4)
    found = read_stubbed(model_of(), quota_values={"vpcs": "AccessDeniedException"})
    vpc = found["VPCs"]
    assert (vpc.verdict, vpc.value, vpc.assumed) == (WARN, 5, True)
    assert "AccessDeniedException on GetServiceQuota" in vpc.message and "the real quota may be higher" in vpc.message
    assert "--quota-code L-F678F1CE --desired-value 6" in vpc.request


def test_an_access_denied_usage_read_warns_without_a_traceback(aws, monkeypatch, capsys):
    def denied(*_args, **_kwargs):
        raise account.ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeVpcs")

    original = account.first_batch

    def first_batch(c, model):
        calls = original(c, model)
        calls["vpcs"] = denied
        return calls

    monkeypatch.setattr(account, "first_batch", first_batch)
    code, out, err = preflight(capsys)
    assert code == 0 and "Traceback" not in err
    assert "the usage could not be read (UnauthorizedOperation on DescribeVpcs)" in out


# --------------------------------------------------------------------------
# What the lab needs comes from the model


def test_a_module_switched_off_needs_less():
    full = {n.quota.key: n.amount for n in quotas.needs(model_of())}
    off = {n.quota.key: n.amount for n in quotas.needs(model_of({"lab:modules": {"traefik": False,
                                                                                  "gatewayApi": False}}))}
    assert (full["nlbs"], off["nlbs"]) == (2, 1) and (full["albs"], off["albs"]) == (2, 1)
    assert full["sg-inbound-rules"] == 5 and off["sg-inbound-rules"] == 3  # Traefik's two rules on the nodes


def test_inbound_rules_grow_with_the_client_cidrs():
    cidrs = [f"203.0.113.{i}/32" for i in range(20)]
    rules = quotas.inbound_rules(model_of({"lab:clientCidrs": cidrs}))
    assert rules["NLB eks-test-traefik"] == 40  # 80 and 443, once per CIDR
    assert rules["the EKS cluster security group (the nodes)"] == 1 + 20 + 2 + 1


def test_vcpus_per_type_agree_with_moto_s_copy_of_describe_instance_types(aws):
    found = {t["InstanceType"]: t["VCpuInfo"]["DefaultVCpus"] for t in
             aws["ec2"].describe_instance_types(InstanceTypes=sorted(INSTANCE_TYPES))["InstanceTypes"]}
    assert found == VCPUS


# --------------------------------------------------------------------------
# Bad input: one message, exit 2


def test_an_unknown_stack_names_the_stacks(aws, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["preflight", "--stack", "nope"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "no Pulumi.nope.yaml" in err and "stacks available: dev" in err


@pytest.mark.parametrize("labs", ["0", "two", "-1"])
def test_labs_must_be_a_positive_number(capsys, labs):
    with pytest.raises(SystemExit) as stop:
        main(["preflight", f"--labs={labs}"])
    assert stop.value.code == 2 and "expected a whole number of labs, 1 or more" in capsys.readouterr().err


def test_no_credentials(monkeypatch, tmp_path, capsys):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code, _, err = preflight(capsys)
    assert code == 2 and "no AWS credentials found: set AWS_PROFILE" in err


def test_no_network_is_told_apart_from_bad_credentials(monkeypatch, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    code, _, err = preflight(capsys)
    assert code == 2 and "cannot reach AWS" in err and "the credentials were not tried" in err


def test_bad_credentials_say_so(aws):
    clients = {**aws, "sts": stub_clients()["sts"]}
    with Stubber(clients["sts"]) as sts, pytest.raises(account.Unreachable) as stop:
        sts.add_client_error("get_caller_identity", service_error_code="InvalidClientTokenId")
        account.read_account(model_of(), clients, concurrent=False)
    assert stop.value.kind == "credentials" and "AWS refused the credentials (InvalidClientTokenId" in str(stop.value)


def test_up_reads_the_settings_pulumi_up_will_get(monkeypatch, tmp_path):
    from labtools import account_check
    args = account_check.argparse.Namespace(stack="ci-9", up=True, pulumi_args=[
        "-c", "lab:clusterName=lab-ci-9", "--config=aws:region=us-west-2", "--config",
        'lab:availabilityZones=["us-west-2a","us-west-2b"]', "--diff"])
    s = account_check.settings_for(args)  # no Pulumi.ci-9.yaml: from dev's, as ./lab up copies it
    assert (s.stack, s.cluster_name, s.region, s.availability_zones) == (
        "ci-9", "lab-ci-9", "us-west-2", ["us-west-2a", "us-west-2b"])
    with pytest.raises(account_check.UsageError):
        account_check.settings_for(account_check.argparse.Namespace(stack="ci-9", up=False, pulumi_args=[]))
