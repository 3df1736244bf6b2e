"""Sweeper and audit against moto: what gets deleted, in which order, and what
must survive. No test here reaches AWS."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timezone

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from labtools import audit, inventory, sweep
from labtools import aws as lab_aws
from labtools.__main__ import main

REGION = "us-east-1"
CLUSTER = "eks-test"
DECOY_CLUSTERS = ("eks-test-2", "other")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------
# Fixtures and the fake account


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    # A real profile or endpoint from the developer's shell must not leak in.
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        yield lab_aws.shared_session(REGION)


@pytest.fixture
def calls(aws, monkeypatch):
    """Every API call the lab tools make, in order, as (operation, params)."""
    recorded: list[tuple[str, dict]] = []

    def record(model, params, **_):
        recorded.append((model.name, params))

    session = lab_aws.shared_session(REGION)
    # before-parameter-build sees the API parameters (before-call sees the wire request).
    session.events.register("before-parameter-build", record)
    monkeypatch.setattr(lab_aws, "make_session", lambda region: session)
    return recorded


def _tags(**pairs: str) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in pairs.items()]


def _spec(resource_type: str, tags: dict[str, str]) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": _tags(**tags)}]


def lab_tags(cluster: str, stack: str = "dev", expires: str = "2099-01-01T00:00:00Z") -> dict[str, str]:
    return {
        "lab:project": "eks-networking-lab",
        "lab:stack": stack,
        "lab:cluster": cluster,
        "lab:owner": "tests",
        "lab:expires": expires,
    }


def elbv2_tags(cluster: str, stack_key: str = "ingress.k8s.aws/stack") -> dict[str, str]:
    # What the Load Balancer Controller puts on its resources, defaultTags included.
    return {"elbv2.k8s.aws/cluster": cluster, stack_key: "default/web", **lab_tags(cluster)}


def k8s_tags(cluster: str, value: str = "owned") -> dict[str, str]:
    return {f"kubernetes.io/cluster/{cluster}": value}


def cni_tags(cluster: str) -> dict[str, str]:
    # What the VPC CNI puts on the interfaces it attaches to a node.
    return {
        "cluster.k8s.amazonaws.com/name": cluster,
        "eks:eni:owner": "amazon-vpc-cni",
        "node.k8s.amazonaws.com/instance_id": "i-0123456789abcdef0",
    }


@dataclass
class World:
    vpc: str
    subnets: list[str]
    node_sg: str
    leftovers: dict[str, str] = field(default_factory=dict)  # role -> id/ARN
    decoys: dict[str, str] = field(default_factory=dict)
    in_use: dict[str, str] = field(default_factory=dict)


class Builder:
    def __init__(self, session: boto3.Session):
        self.ec2 = session.client("ec2")
        self.elbv2 = session.client("elbv2")
        vpc = self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"][
                "SubnetId"
            ]
            for i, az in enumerate("ab", start=1)
        ]
        self.world = World(vpc, subnets, self.security_group("node", {}))

    def security_group(self, name: str, tags: dict[str, str]) -> str:
        kwargs = {"TagSpecifications": _spec("security-group", tags)} if tags else {}
        return self.ec2.create_security_group(GroupName=name, Description=name, VpcId=self.vpc, **kwargs)["GroupId"]

    def target_group(self, name: str, tags: dict[str, str], protocol: str = "HTTP") -> str:
        kwargs = {"Tags": _tags(**tags)} if tags else {}
        return self.elbv2.create_target_group(
            Name=name, Protocol=protocol, Port=80, VpcId=self.world.vpc, TargetType="ip", **kwargs
        )["TargetGroups"][0]["TargetGroupArn"]

    def load_balancer(self, name: str, tags: dict[str, str], kind: str = "application", sgs: list[str] | None = None):
        """A load balancer with one listener forwarding to its own target group."""
        protocol = "HTTP" if kind == "application" else "TCP"
        kwargs = {"Tags": _tags(**tags)} if tags else {}
        if sgs:
            kwargs["SecurityGroups"] = sgs
        lb = self.elbv2.create_load_balancer(Name=name, Subnets=self.world.subnets, Type=kind, **kwargs)
        lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
        tg_arn = self.target_group(name, tags, protocol)
        listener = self.elbv2.create_listener(
            LoadBalancerArn=lb_arn,
            Protocol=protocol,
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
        )["Listeners"][0]["ListenerArn"]
        return lb_arn, listener, tg_arn

    def interface(self, tags: dict[str, str], groups: list[str] | None = None) -> str:
        kwargs = {"TagSpecifications": _spec("network-interface", tags)} if tags else {}
        if groups:
            kwargs["Groups"] = groups
        return self.ec2.create_network_interface(SubnetId=self.world.subnets[0], **kwargs)["NetworkInterface"][
            "NetworkInterfaceId"
        ]

    def allow_from(self, group: str, source: str, port: int) -> None:
        self.ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": source}]}],
        )

    def add_leftovers(self) -> None:
        w, left = self.world, self.world.leftovers
        left["backend_sg"] = self.security_group("k8s-traffic-eks-test", elbv2_tags(CLUSTER))
        left["frontend_sg"] = self.security_group("k8s-default-web", elbv2_tags(CLUSTER))
        # The controller opens the node group to its backend security group.
        self.allow_from(w.node_sg, left["backend_sg"], 8080)
        left["alb"], left["alb_listener"], left["alb_tg"] = self.load_balancer(
            "k8s-default-web", elbv2_tags(CLUSTER), sgs=[left["frontend_sg"], left["backend_sg"]]
        )
        left["nlb"], left["nlb_listener"], left["nlb_tg"] = self.load_balancer(
            "k8s-default-echo", elbv2_tags(CLUSTER, "service.k8s.aws/stack"), kind="network"
        )
        left["legacy_sg"] = self.security_group("k8s-elb-legacy", k8s_tags(CLUSTER))
        left["detached_eni"] = self.interface(k8s_tags(CLUSTER))
        left["cni_eni"] = self.interface(cni_tags(CLUSTER))

    def add_in_use(self) -> None:
        """A cluster-tagged group held by an attached, cluster-tagged interface."""
        sg = self.security_group("eks-test-in-use", k8s_tags(CLUSTER, "shared"))
        eni = self.interface(k8s_tags(CLUSTER, "shared"), groups=[sg])
        instance = self.ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, SubnetId=self.world.subnets[0])
        self.ec2.attach_network_interface(
            NetworkInterfaceId=eni, InstanceId=instance["Instances"][0]["InstanceId"], DeviceIndex=1
        )
        self.world.in_use.update(sg=sg, eni=eni)

    def add_decoys(self) -> None:
        d = self.world.decoys
        for cluster in DECOY_CLUSTERS:
            d[f"{cluster}_alb"], d[f"{cluster}_listener"], d[f"{cluster}_tg"] = self.load_balancer(
                f"k8s-{cluster}-web", elbv2_tags(cluster)
            )
            d[f"{cluster}_sg"] = self.security_group(f"k8s-traffic-{cluster}", elbv2_tags(cluster))
            d[f"{cluster}_k8s_sg"] = self.security_group(f"k8s-elb-{cluster}", k8s_tags(cluster))
            d[f"{cluster}_eni"] = self.interface(k8s_tags(cluster))
            d[f"{cluster}_cni_eni"] = self.interface(cni_tags(cluster))
            self.allow_from(self.world.node_sg, d[f"{cluster}_sg"], 9090)
        d["plain_alb"], d["plain_listener"], d["plain_tg"] = self.load_balancer("plain-web", {})
        d["plain_sg"] = self.security_group("plain", {})
        d["plain_eni"] = self.interface({})
        d["node_sg"] = self.world.node_sg
        self.ec2.authorize_security_group_ingress(
            GroupId=self.world.node_sg,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
        )


def build_world(session: boto3.Session, *, leftovers: bool = True, in_use: bool = True, decoys: bool = True) -> World:
    builder = Builder(session)
    if leftovers:
        builder.add_leftovers()
    if in_use:
        builder.add_in_use()
    if decoys:
        builder.add_decoys()
    return builder.world


# --------------------------------------------------------------------------
# Existence checks, straight from the fake AWS


@functools.lru_cache(maxsize=None)
def clients_of(session: boto3.Session) -> tuple:
    return session.client("ec2"), session.client("elbv2")  # each new client costs ~15 ms of CPU


def exists(session: boto3.Session, ident: str) -> bool:
    ec2, elbv2 = clients_of(session)
    if ident.startswith("sg-"):
        return any(g["GroupId"] == ident for g in ec2.describe_security_groups()["SecurityGroups"])
    if ident.startswith("eni-"):
        return any(e["NetworkInterfaceId"] == ident for e in ec2.describe_network_interfaces()["NetworkInterfaces"])
    if ":loadbalancer/" in ident:
        return any(lb["LoadBalancerArn"] == ident for lb in elbv2.describe_load_balancers()["LoadBalancers"])
    if ":targetgroup/" in ident:
        return any(tg["TargetGroupArn"] == ident for tg in elbv2.describe_target_groups()["TargetGroups"])
    if ":listener/" in ident:
        return any(
            ln["ListenerArn"] == ident
            for lb in elbv2.describe_load_balancers()["LoadBalancers"]
            for ln in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        )
    raise AssertionError(f"unknown resource {ident}")


def referenced_groups(session: boto3.Session, group: str) -> set[str]:
    sg = session.client("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    return {pair["GroupId"] for perm in sg["IpPermissions"] for pair in perm["UserIdGroupPairs"]}


def cidr_rules(session: boto3.Session, group: str) -> set[str]:
    sg = session.client("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
    return {r["CidrIp"] for perm in sg["IpPermissions"] for r in perm["IpRanges"]}


def ops(calls: list[tuple[str, dict]]) -> list[str]:
    return [name for name, _ in calls]


def first(calls, name: str, **params) -> int:
    return next(i for i, (n, p) in enumerate(calls) if n == name and all(p.get(k) == v for k, v in params.items()))


def sweep_cli(*extra: str) -> int:
    return main(["sweep", "--cluster", CLUSTER, "--region", REGION, "--wait-timeout", "5", *extra])


def audit_cli(*extra: str) -> int:
    return main(["audit", "--cluster", CLUSTER, "--region", REGION, *extra])


# --------------------------------------------------------------------------
# Tag matching


@pytest.mark.parametrize(
    "tags, expected",
    [
        ({"elbv2.k8s.aws/cluster": "eks-test"}, "elbv2.k8s.aws/cluster=eks-test"),
        ({"kubernetes.io/cluster/eks-test": "shared"}, "kubernetes.io/cluster/eks-test=shared"),
        ({"kubernetes.io/cluster/eks-test": ""}, "kubernetes.io/cluster/eks-test="),
        ({"cluster.k8s.amazonaws.com/name": "eks-test"}, "cluster.k8s.amazonaws.com/name=eks-test"),
        ({"cluster.k8s.amazonaws.com/name": "eks-test-2"}, None),
        ({"eks:eni:owner": "amazon-vpc-cni"}, None),
        ({"elbv2.k8s.aws/cluster": "eks-test-2"}, None),
        ({"elbv2.k8s.aws/cluster": "eks-tes"}, None),
        ({"kubernetes.io/cluster/eks-test-2": "owned"}, None),
        ({"kubernetes.io/cluster/other": "owned", "lab:cluster": "eks-test"}, None),
        ({}, None),
    ],
)
def test_cluster_tag_match_is_exact(tags, expected):
    assert lab_aws.cluster_tag_match(tags, CLUSTER) == expected


# --------------------------------------------------------------------------
# Sweep


def test_dry_run_lists_exactly_the_leftovers_and_deletes_nothing(aws, calls, capsys):
    world = build_world(aws)

    found = inventory.find_leftovers(lab_aws.Clients.for_region(REGION), CLUSTER)
    assert {item.ident for item in found.items()} == set(world.leftovers.values()) | set(world.in_use.values())

    calls.clear()
    assert sweep_cli() == 0
    out = capsys.readouterr().out
    assert "Dry run: nothing was deleted" in out
    assert [op for op in ops(calls) if not op.startswith("Describe")] == []
    for ident in [*world.leftovers.values(), *world.in_use.values()]:
        assert ident in out
        assert exists(aws, ident)
    for ident in world.decoys.values():
        assert ident not in out
    assert f"used by {world.in_use['eni']}" in out


def test_sweep_deletes_in_an_order_aws_accepts(aws, calls, capsys):
    world = build_world(aws)
    calls.clear()

    assert sweep_cli("--yes") == 1  # the in-use group is kept, so not all clean
    names = ops(calls)
    positions = {op: [i for i, n in enumerate(names) if n == op] for op in set(names)}
    assert len(positions["DeleteListener"]) == 2
    assert len(positions["DeleteLoadBalancer"]) == 2
    assert max(positions["DeleteListener"]) < min(positions["DeleteLoadBalancer"])
    assert max(positions["DeleteLoadBalancer"]) < min(positions["DeleteTargetGroup"])
    assert max(positions["DeleteTargetGroup"]) < min(positions["DeleteSecurityGroup"])
    # The node group's rule must go before the group it points at.
    revoke = first(calls, "RevokeSecurityGroupIngress", GroupId=world.node_sg)
    assert revoke < first(calls, "DeleteSecurityGroup", GroupId=world.leftovers["backend_sg"])

    for role, ident in world.leftovers.items():
        assert not exists(aws, ident), f"{role} {ident} survived the sweep"
    assert world.leftovers["backend_sg"] not in referenced_groups(aws, world.node_sg)
    out = capsys.readouterr().out
    assert "Sweep done: 11 deleted, 2 kept, 0 failed." in out


def test_sweep_keeps_every_decoy_and_unrelated_rule(aws, calls):
    world = build_world(aws)

    sweep_cli("--yes")

    for role, ident in world.decoys.items():
        assert exists(aws, ident), f"decoy {role} {ident} was deleted"
    touched = {str(p) for name, p in calls if not name.startswith("Describe")}
    for ident in world.decoys.values():
        if ident != world.node_sg:  # its rule to the doomed group is revoked
            assert not any(ident in t for t in touched), f"decoy {ident} was modified"
    assert referenced_groups(aws, world.node_sg) == {world.decoys[f"{c}_sg"] for c in DECOY_CLUSTERS}
    assert cidr_rules(aws, world.node_sg) == {"10.0.0.0/8"}


def test_sweep_reports_and_keeps_a_group_still_in_use(aws, calls, capsys):
    world = build_world(aws)

    sweep_cli("--yes")

    out = capsys.readouterr().out
    assert exists(aws, world.in_use["sg"]) and exists(aws, world.in_use["eni"])
    assert f"kept    security-group {world.in_use['sg']}" in out
    assert f"in use by {world.in_use['eni']} (in-use)" in out
    assert f"kept    network-interface {world.in_use['eni']}: status in-use" in out
    assert ("DeleteSecurityGroup", {"GroupId": world.in_use["sg"]}) not in calls
    assert not any(p.get("NetworkInterfaceId") == world.in_use["eni"] for n, p in calls if n.startswith("Delete"))


def test_sweep_of_a_clean_account_says_so(aws, calls, capsys):
    build_world(aws, leftovers=False, in_use=False)

    assert sweep_cli("--yes") == 0
    assert capsys.readouterr().out.startswith("clean:")
    assert [op for op in ops(calls) if not op.startswith("Describe")] == []


def test_sweep_is_complete_without_an_in_use_group(aws, calls, capsys):
    build_world(aws, in_use=False)

    assert sweep_cli("--yes") == 0
    assert sweep_cli("--yes") == 0
    assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("clean:")


def test_sweep_deletes_detached_cni_interfaces_and_audit_lists_them(aws, calls, capsys):
    world = build_world(aws, in_use=False)

    assert audit_cli() == 1
    assert world.leftovers["cni_eni"] in capsys.readouterr().out
    assert sweep_cli("--yes") == 0
    assert not exists(aws, world.leftovers["cni_eni"])
    assert exists(aws, world.decoys["eks-test-2_cni_eni"])


def eks_cluster(session: boto3.Session, name: str, world: World) -> None:
    session.client("eks").create_cluster(
        name=name,
        roleArn="arn:aws:iam::123456789012:role/eks",
        resourcesVpcConfig={"subnetIds": world.subnets},
    )


def test_sweep_refuses_while_eks_still_reports_the_cluster(aws, calls, capsys):
    world = build_world(aws, in_use=False)
    eks_cluster(aws, CLUSTER, world)
    calls.clear()

    assert sweep_cli("--yes") == 2
    out = capsys.readouterr().out
    assert f"refused: EKS still reports cluster {CLUSTER}" in out and "--force" in out
    assert [op for op in ops(calls) if not op.startswith("Describe")] == []
    assert all(exists(aws, ident) for ident in world.leftovers.values())

    assert sweep_cli() == 0  # a dry run still lists, deleting nothing
    out = capsys.readouterr().out
    assert "Dry run" in out and f"Note: EKS still reports cluster {CLUSTER} (ACTIVE)" in out
    assert sweep_cli("--yes", "--force") == 0
    assert not any(exists(aws, ident) for ident in world.leftovers.values())


def test_another_live_cluster_does_not_stop_the_sweep(aws, calls):
    world = build_world(aws, in_use=False)
    eks_cluster(aws, "eks-test-2", world)

    assert sweep_cli("--yes") == 0


def test_poll_gives_up_within_its_budget():
    clock = iter(range(0, 1000, 10))
    timing = sweep.Timing(budget_s=30, interval_s=10, sleep=lambda s: None, clock=lambda: next(clock))
    lines: list[str] = []

    class Out:
        def write(self, text):
            lines.append(text)

    left = sweep._poll("load balancer(s) to disappear", lambda: ["arn:lb"], timing, Out())

    assert left == ["arn:lb"]
    text = "".join(lines)
    assert "waiting for 1 load balancer(s) to disappear (10s of 30s)" in text
    assert "gave up waiting after 30s" in text


# --------------------------------------------------------------------------
# Audit of one cluster


def test_audit_fails_while_leftovers_exist_and_passes_after_sweep(aws, calls, capsys):
    world = build_world(aws, in_use=False)

    assert audit_cli() == 1
    out = capsys.readouterr().out
    assert out.startswith("LEAKS:")
    for ident in world.leftovers.values():
        assert ident in out
    for ident in world.decoys.values():
        assert ident not in out

    assert sweep_cli("--yes") == 0
    capsys.readouterr()
    assert audit_cli() == 0
    assert capsys.readouterr().out.strip() == f"clean: nothing of cluster {CLUSTER} left in {REGION}"


def test_audit_fails_when_one_more_leftover_appears(aws, calls, capsys):
    build_world(aws, leftovers=False, in_use=False)
    builder = Builder(aws)
    assert audit_cli() == 0

    late_tg = builder.target_group("k8s-late", {"elbv2.k8s.aws/cluster": CLUSTER})
    capsys.readouterr()
    assert audit_cli() == 1
    assert late_tg in capsys.readouterr().out


def gateway_tags(cluster: str, resource: str) -> dict[str, str]:
    # What the controller v3.5.0 puts on what it makes for a Gateway (pkg/deploy/tracking).
    return {"elbv2.k8s.aws/cluster": cluster, "gateway.k8s.aws.alb/stack": "default/lab-gateway",
            "gateway.k8s.aws.alb/resource": resource, **lab_tags(cluster)}


def test_what_a_gateway_leaves_is_found_swept_and_audited(aws, calls, capsys):
    """The Gateway's ALB, listener, target group and managed security group (and none of a
    decoy cluster's Gateway)."""
    builder = Builder(aws)
    sg = builder.security_group("k8s-default-labgatew-0123456789", gateway_tags(CLUSTER, "ManagedLBSecurityGroup"))
    alb, listener, tg = builder.load_balancer("eks-test-gateway", gateway_tags(CLUSTER, "LoadBalancer"), sgs=[sg])
    decoy = builder.load_balancer("eks-test-2-gateway", gateway_tags(DECOY_CLUSTERS[0], "LoadBalancer"))
    assert audit_cli() == 1
    out = capsys.readouterr().out
    assert all(ident in out for ident in (sg, alb, listener, tg)) and decoy[0] not in out

    assert sweep_cli("--yes") == 0
    assert not any(exists(aws, ident) for ident in (sg, alb, listener, tg))
    assert exists(aws, decoy[0])
    capsys.readouterr()
    assert audit_cli() == 0


def test_audit_reports_a_group_the_sweep_had_to_keep(aws, calls, capsys):
    world = build_world(aws)
    sweep_cli("--yes")
    capsys.readouterr()

    assert audit_cli() == 1
    out = capsys.readouterr().out
    assert world.in_use["sg"] in out and world.in_use["eni"] in out


def test_audit_reports_resources_with_the_lab_cluster_tag(aws, calls, capsys):
    build_world(aws, leftovers=False, in_use=False)
    ec2 = aws.client("ec2")
    mine = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=_spec("vpc", lab_tags(CLUSTER)))["Vpc"]["VpcId"]
    theirs = ec2.create_vpc(CidrBlock="10.2.0.0/16", TagSpecifications=_spec("vpc", lab_tags("eks-test-2")))["Vpc"][
        "VpcId"
    ]

    assert audit_cli() == 1
    out = capsys.readouterr().out
    assert f"Tagged lab:cluster={CLUSTER}" in out
    assert mine in out and theirs not in out


def test_audit_does_not_repeat_an_item_found_both_ways(aws, calls, capsys):
    world = build_world(aws, in_use=False, decoys=False)

    audit_cli()

    out = capsys.readouterr().out
    # The ALB carries both the controller's and the lab's tags: list it once.
    assert out.count(world.leftovers["alb"]) == 1
    assert out.count(world.leftovers["backend_sg"]) == 1


def test_aws_errors_name_the_operation_without_a_traceback(aws, monkeypatch, capsys):
    def deny(model, **_):
        if model.name == "DescribeLoadBalancers":
            body = {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}
            return AWSResponse("https://example.invalid", 403, {}, None), body
        return None

    session = boto3.Session(region_name=REGION)
    session.events.register("before-call", deny)
    monkeypatch.setattr(lab_aws, "make_session", lambda region: session)

    assert audit_cli() == 2
    err = capsys.readouterr().err
    assert "DescribeLoadBalancers: AccessDenied: not allowed" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------
# Expiry


def tag_expiring(session: boto3.Session, stack: str, expires: str | None, project: str = "eks-networking-lab") -> str:
    tags = lab_tags("eks-" + stack, stack=stack, expires=expires or "")
    tags["lab:project"] = project
    if expires is None:
        del tags["lab:expires"]
    vpc = session.client("ec2").create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=_spec("vpc", tags))
    return vpc["Vpc"]["VpcId"]


@pytest.fixture
def expiring(aws, calls, monkeypatch):
    monkeypatch.setattr(audit, "utc_now", lambda: NOW)
    return {
        "past": tag_expiring(aws, "ci-old", "2026-05-31T18:00:00Z"),
        "future": tag_expiring(aws, "ci-new", "2026-06-02T00:00:00Z"),
        "malformed": tag_expiring(aws, "ci-bad", "next tuesday"),
        "naive": tag_expiring(aws, "ci-naive", "2026-01-01T00:00:00"),
        "missing": tag_expiring(aws, "ci-none", None),
        "other_project": tag_expiring(aws, "ci-foreign", "2020-01-01T00:00:00Z", project="something-else"),
    }


def test_expired_audit_lists_past_and_malformed_by_stack(expiring, capsys):
    assert main(["audit", "--expired", "--region", REGION]) == 1

    out = capsys.readouterr().out
    assert "stack ci-old:" in out and expiring["past"] in out
    assert "./lab destroy --stack ci-old --yes" in out
    assert "malformed lab:expires='next tuesday'" in out and expiring["malformed"] in out
    assert "malformed lab:expires='2026-01-01T00:00:00'" in out  # no time zone
    assert "malformed: no lab:expires tag" in out and expiring["missing"] in out
    assert expiring["future"] not in out and "ci-new" not in out
    assert expiring["other_project"] not in out


def test_expiry_follows_the_injected_now(expiring, aws):
    tagging = aws.client("resourcegroupstaggingapi")

    before = audit.find_expired(tagging, now=datetime(2026, 5, 1, tzinfo=timezone.utc))
    later = audit.find_expired(tagging, now=datetime(2027, 1, 1, tzinfo=timezone.utc))

    assert {f.stack for f in before if f.problem == "expired"} == set()
    assert {f.stack for f in later if f.problem == "expired"} == {"ci-old", "ci-new"}
    assert {f.stack for f in later if f.problem == "malformed"} == {"ci-bad", "ci-naive", "ci-none"}


def test_expired_audit_is_clean_when_every_lab_is_in_date(aws, calls, monkeypatch, capsys):
    monkeypatch.setattr(audit, "utc_now", lambda: NOW)
    tag_expiring(aws, "ci-new", "2026-06-02T00:00:00Z")

    assert main(["audit", "--expired", "--region", REGION]) == 0
    assert capsys.readouterr().out.startswith("clean:")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-11-21T18:00:00Z", datetime(2026, 11, 21, 18, tzinfo=timezone.utc)),
        ("2026-11-22T03:00:00+09:00", datetime(2026, 11, 21, 18, tzinfo=timezone.utc)),
        ("2026-11-21T18:00:00", None),
        ("2026-11-21", None),
        ("", None),
        ("soon", None),
    ],
)
def test_parse_expires(raw, expected):
    assert audit.parse_expires(raw) == expected


# --------------------------------------------------------------------------
# Arguments


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["sweep", "--region", REGION], "--cluster"),
        (["sweep", "--cluster", "", "--region", REGION], "--cluster"),
        (["sweep", "--cluster", "eks test", "--region", REGION], "--cluster"),
        (["sweep", "--cluster", CLUSTER], "--region"),
        (["sweep", "--cluster", CLUSTER, "--region", "Seoul"], "--region"),
        (["sweep", "--cluster", CLUSTER, "--region", ""], "--region"),
        (["sweep", "--cluster", CLUSTER, "--region", REGION, "--wait-timeout", "-1"], "--wait-timeout"),
        (["audit", "--region", REGION], "--cluster"),
        (["audit", "--cluster", CLUSTER, "--region", "us_east_1"], "--region"),
        (["audit", "--expired", "--cluster", CLUSTER, "--region", REGION], "--cluster"),
        (["audit", "--expired"], "--region"),
    ],
)
def test_bad_arguments_fail_early_naming_the_flag(argv, flag, capsys, monkeypatch):
    monkeypatch.setattr(lab_aws, "make_session", lambda region: pytest.fail("reached AWS"))

    with pytest.raises(SystemExit) as exc:
        main(argv)

    assert exc.value.code == 2
    assert flag in capsys.readouterr().err
