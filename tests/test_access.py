"""Who can reach the cluster (and so destroy the lab), and the nodes' pinned AMI family."""

import pytest

from stacks import lab as program
from tests.programs import run_lab, run_program

ADMIN = "arn:aws:iam::123456789012:role/lab-admin"
CALLER = "arn:aws:iam::123456789012:user/lab"  # what the mocks answer for getCallerIdentity
POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def entries(graph) -> dict:
    return graph.one("eks:index:Cluster").inputs.get("accessEntries") or {}


def test_only_the_creator_by_default():
    assert entries(run_lab()) == {}


def test_admin_principals_get_cluster_admin_entries():
    found = entries(run_lab({"lab:adminPrincipalArns": [ADMIN, "arn:aws:iam::123456789012:user/alice"]}))
    assert sorted(e["principalArn"] for e in found.values()) == [
        ADMIN, "arn:aws:iam::123456789012:user/alice"]
    for entry in found.values():
        assert entry["accessPolicies"] == {"cluster-admin": {"policyArn": POLICY, "accessScope": {"type": "cluster"}}}


def test_the_creator_is_not_entered_twice():
    found = entries(run_lab({"lab:adminPrincipalArns": [ADMIN, CALLER]}))
    assert [e["principalArn"] for e in found.values()] == [ADMIN]


def test_entry_names_do_not_depend_on_the_order():
    other = "arn:aws:iam::123456789012:role/other"
    first = entries(run_lab({"lab:adminPrincipalArns": [ADMIN, other]}))
    second = entries(run_lab({"lab:adminPrincipalArns": [other, ADMIN]}))
    assert first == second


@pytest.mark.parametrize("caller, arn, same", [
    ("arn:aws:sts::123456789012:assumed-role/lab-admin/ci-42", ADMIN, True),
    ("arn:aws:sts::123456789012:assumed-role/lab-admin/ci-42", "arn:aws:iam::123456789012:role/path/lab-admin", True),
    ("arn:aws:sts::210987654321:assumed-role/lab-admin/ci-42", ADMIN, False),
    ("arn:aws:iam::123456789012:user/lab-admin", ADMIN, False),
    (CALLER, CALLER, True),
])
def test_a_session_is_its_role(caller, arn, same):
    assert (program.principal(caller) == program.principal(arn)) is same


@pytest.mark.parametrize("value, fragment", [
    (["arn:aws:sts::123456789012:assumed-role/lab-admin/me"], "an access entry names the role, not a session"),
    (["lab-admin"], "expected an IAM role or user ARN"),
    (["arn:aws:iam::12345:role/x"], "expected an IAM role or user ARN"),
    ([ADMIN, ADMIN], "ARNs must be distinct"),
])
def test_bad_principals_are_refused_before_anything_is_registered(value, fragment):
    graph, error = run_program({"lab:adminPrincipalArns": value})
    assert error is not None and "lab:adminPrincipalArns" in str(error) and fragment in str(error), error
    assert graph.resources == []


def test_node_groups_pin_al2023():
    groups = run_lab().of_type("eks:index:ManagedNodeGroup")
    assert {g.inputs["nodeGroupName"]: g.inputs.get("operatingSystem") for g in groups} == {
        "ng-private": "AL2023", "ng-public": "AL2023"}
