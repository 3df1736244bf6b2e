"""An existing lab survives an upgrade of this program: under the posts' settings and a
three-zone, NAT-per-zone variant, the VPC, subnets, internet and NAT gateways, EIPs, route
tables, the EKS cluster, its node groups and the node role keep their URNs and every input whose
change would replace them (tests/replacements.py lists those, and where they were read), as
recorded in tests/golden/upgrade.json. A change of that record is made on purpose: regenerate
with `LAB_UPDATE_GOLDEN=1 ./lab test tests/test_upgrade.py`, review the diff, and say in the
README's Upgrade notes why, and what a user with a running lab loses or must do."""

import copy
import datetime as dt
import json
import os
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_eks
import pytest

from labtools import simulate
from tests.programs import run_lab
from tests.replacements import LAUNCH_TEMPLATE, WATCHED, Finding, aliases, findings, record

GOLDEN = Path(__file__).resolve().parent / "golden" / "upgrade.json"
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
CASES = {
    "dev": {},
    "perAz-3-zones": {"lab:natGateways": "perAz",
                      "lab:availabilityZones": ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]},
}
HOW = ("If that is meant: regenerate with `LAB_UPDATE_GOLDEN=1 ./lab test tests/test_upgrade.py`, "
       "commit tests/golden/upgrade.json with the change, and say in the README's Upgrade notes "
       "why, and what a user with a running lab loses or must do. Otherwise keep the old name "
       "(or add `aliases=[pulumi.Alias(name=OLD)]`) and the old input.")
NETWORK = "urn:pulumi:dev::eks-networking-lab::lab:index:LabNetwork$"
SUBNET = NETWORK + "aws:ec2/subnet:Subnet::"
NODE_GROUP = "urn:pulumi:dev::eks-networking-lab::lab:index:LabCluster$eks:index:ManagedNodeGroup::"


def observed(overrides: dict, run=run_lab) -> tuple[dict, dict]:
    graph = run(overrides, now=NOW)
    return record(graph), aliases(graph)


@pytest.fixture(scope="module")
def labs() -> dict[str, tuple[dict, dict]]:
    return {case: observed(overrides) for case, overrides in CASES.items()}


def recorded(case: str = "dev") -> dict:
    return json.loads(GOLDEN.read_text())[case]


@pytest.mark.parametrize("case", CASES)
def test_an_existing_lab_keeps_its_network_cluster_and_nodes(labs, case):
    got, aliased = labs[case]
    if os.environ.get("LAB_UPDATE_GOLDEN"):
        whole = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        GOLDEN.write_text(json.dumps({**whole, case: got}, indent=1, sort_keys=True) + "\n")
    found = findings(recorded(case), got, aliased)
    assert not found, (f"`./lab up` after this change would replace, delete or fail to change "
                       f"these in a running lab ({case}):\n  " + "\n  ".join(f.line for f in found)
                       + f"\n{HOW}")


def changed(found: list[Finding], *changes: str) -> set[tuple[str, str]]:
    """(resource name, change) of each finding, or of those with one of `changes`."""
    return {(f.urn.rsplit("::", 1)[1], f.change) for f in found if not changes or f.change in changes}


def sdk_args(type_: str) -> type:
    package, module, name = type_.split(":")
    return getattr(pulumi_eks if package == "eks" else getattr(aws, module.split("/")[0]), f"{name}Args")


def test_the_record_covers_every_watched_type_and_only_real_inputs(labs):
    got, _ = labs["dev"]
    assert {r["type"] for r in got.values()} == set(WATCHED)
    for type_, keys in WATCHED.items():
        props = [p for p in vars(sdk_args(type_)).values() if isinstance(p, property)]
        names = {getattr(p.fget, "_pulumi_name", None) for p in props}
        assert set(keys) - {LAUNCH_TEMPLATE} <= names, (type_, sorted(set(keys) - names))


def _renamed_subnet(monkeypatch, old: str, new: str) -> None:
    """The network component as a version that renamed one subnet and aliased its old name."""
    real = aws.ec2.Subnet

    def subnet(name, *args, opts=None, **kwargs):
        if name == old:
            name, alias = new, pulumi.ResourceOptions(aliases=[pulumi.Alias(name=old)])
            opts = pulumi.ResourceOptions.merge(opts, alias)
        return real(name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(aws.ec2, "Subnet", subnet)


def test_a_subnet_renamed_under_an_alias_is_the_same_subnet_and_without_one_it_is_caught(monkeypatch):
    _renamed_subnet(monkeypatch, "lab-public-ap-northeast-2a", "lab-public-a")
    got, aliased = observed({}, simulate.run_lab)  # the patched program, not the kept run
    old, new = SUBNET + "lab-public-ap-northeast-2a", SUBNET + "lab-public-a"
    assert aliased == {new: [old]}  # the SDK's alias URN is the recorded, engine-form one
    assert findings(recorded(), got, aliased) == []
    without = findings(recorded(), got, {})
    assert Finding(old, "gone", f"{old}: gone (renamed without an alias to this URN, or removed): "
                                "`up` deletes it") in without
    assert changed(without, "new") == {("lab-public-a", "new")}
    # What took the subnet's id now takes one the running lab does not have.
    assert changed(without, "publicSubnetIds", "subnetIds", "subnetId") == {
        ("eks-test", "publicSubnetIds"), ("ng-public", "subnetIds"),
        ("lab-nat-ap-northeast-2a", "subnetId"),  # the NAT gateway
        ("lab-public-ap-northeast-2a", "subnetId")}  # the subnet's route table association


def test_a_changed_instance_type_subnet_source_cluster_name_or_new_forcenew_input_is_caught():
    was = recorded()
    now = copy.deepcopy(was)
    private, public = NODE_GROUP + "ng-private", NODE_GROUP + "ng-public"
    now[private]["inputs"]["instanceTypes"] = ["t3.medium"]
    now[public]["inputs"]["subnetIds"] = now[private]["inputs"]["subnetIds"]  # public nodes in private subnets
    now[public]["inputs"]["capacityType"] = "SPOT"
    cluster = next(u for u, r in now.items() if r["type"] == "eks:index:Cluster")
    now[cluster]["inputs"]["name"] = "eks-test-2"
    found = findings(was, now, {})
    assert changed(found) == {("eks-test", "name"), ("ng-private", "instanceTypes"),
                              ("ng-public", "capacityType"), ("ng-public", "subnetIds")}
    lines = [f.line for f in found]
    assert f'{private}: instanceTypes: ["t3.small"] -> ["t3.medium"] (instance_types (ForceNew), ' \
        "and the AMI's architecture)" in lines
    assert f"{public}: subnetIds: from Subnet lab-public-ap-northeast-2a, Subnet lab-public-ap-northeast-2c " \
        "-> from Subnet lab-private-ap-northeast-2a, Subnet lab-private-ap-northeast-2c " \
        "(subnet_ids (ForceNew; a set: which subnets, not their order))" in lines


def test_reordered_zones_are_caught_by_the_subnets_ranges_and_the_nat_gateway():
    # Subnets are named by zone, so a new order keeps their URNs but swaps their ranges, and
    # the single NAT gateway (and its EIP) follows the first zone.
    got, aliased = observed({"lab:availabilityZones": ["ap-northeast-2c", "ap-northeast-2a"]})
    found = findings(recorded(), got, aliased)
    assert changed(found) == {*((f"lab-{side}-ap-northeast-2{zone}", "cidrBlock")
                                for side in ("public", "private") for zone in "ac"),
                              ("lab-nat-ap-northeast-2a", "gone"), ("lab-nat-ap-northeast-2c", "new")}
    assert f'{SUBNET}lab-public-ap-northeast-2a: cidrBlock: "10.0.0.0/20" -> "10.0.16.0/20" ' \
        "(the address range (ForceNew))" in [f.line for f in found]
    nat = [NETWORK + f"aws:ec2/{t}::lab-nat-ap-northeast-2" for t in ("eip:Eip", "natGateway:NatGateway")]
    assert {f.urn for f in found if f.change == "gone"} == {u + "a" for u in nat}
    assert {f.urn for f in found if f.change == "new"} == {u + "c" for u in nat}


def test_in_place_changes_are_not_reported():
    # Node counts and tags update in place: the guard stays quiet about them.
    got, aliased = observed({"lab:owner": "someone-else",
                             "lab:privateNodeGroup": {"instanceType": "t3.small", "desiredSize": 3,
                                                      "minSize": 2, "maxSize": 4}})
    assert findings(recorded(), got, aliased) == []
