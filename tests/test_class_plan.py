"""`./lab class plan`: 30 students planned offline, the class's numbers from the lab model, and
two students' labs, as the program registers them, closed to each other."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labtools import quotas
from labtools.class_plan import Row, labs_held, max_parallel, ready_minutes
from labtools.roster import lab_overrides, lab_settings, load_roster
from stacks import estimates, prices
from stacks.model import lab_model
from tests.programs import run_lab

ROOT = Path(__file__).resolve().parent.parent
ARN = "arn:aws:iam::123456789012:role/student-{:02d}"


@pytest.fixture(scope="module")
def roster30(tmp_path_factory):
    path = tmp_path_factory.mktemp("class") / "roster.yaml"
    students = "".join(f"  - id: Student.{i:02d}\n    adminArn: {ARN.format(i)}\n" for i in range(30))
    path.write_text(f"class: k8s-networking-fall-2026\nexpires: 8h\nstudents:\n{students}")
    return path


def plan_command(roster: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labtools", "class", "plan", "--roster", str(roster), *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_thirty_students_planned(roster30):
    done = plan_command(roster30, "--json", "--parallel", "10")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    roster = load_roster(roster30)
    one = lab_model(lab_settings(roster, roster.students[0]))

    assert [lab["id"] for lab in plan["labs"]] == [f"Student.{i:02d}" for i in range(30)]
    assert len({lab["clusterName"] for lab in plan["labs"]}) == 30
    for i, lab in enumerate(plan["labs"]):
        assert lab["stack"] == lab["clusterName"] and len(lab["clusterName"]) <= 43
        assert lab["adminPrincipalArns"] == [ARN.format(i)]
        assert lab["settings"]["lab:adminPrincipalArns"] == [ARN.format(i)]
        others = [ARN.format(j) for j in range(30) if j != i]
        assert not any(o in json.dumps(lab["settings"]) for o in others)
        assert lab["settings"]["lab:expires"] == "8h"
    # N x one lab, from the model: the cost, the account's needs, the time.
    assert plan["hourlyCostUsd"] == round(30 * prices.hourly_usd(one), 4)
    assert plan["dailyCostUsd"] == round(24 * 30 * prices.hourly_usd(one), 2)
    per_lab = {n.quota.key: n.amount for n in quotas.needs(one, 1)}
    assert plan["accountNeeds"] == {"vpcs": 30, "internetGateways": 30, "natGateways": 30, "elasticIps": 30,
                                    "vcpus": 30 * per_lab["vcpus"], "albs": 60, "nlbs": 60, "eksClusters": 30}
    assert plan["perLab"]["provisionMinutes"] == estimates.provision_minutes(one) == 19.5
    assert (plan["parallel"], plan["rounds"], plan["readyMinutes"]) == (10, 3, 58.5)
    assert plan["readyMinutesByParallel"]["30"] == 19.5 and plan["readyMinutesByParallel"]["1"] == 585.0
    # AWS's default quotas, said to be assumed: 5 vCPUs hold no lab of 6, 5 VPCs five.
    assert plan["accountHolds"]["assumed"] is True and plan["fits"] is False
    assert plan["accountHolds"]["labs"] == 0 and plan["maxParallel"] == 1
    vpcs = next(q for q in plan["quotas"] if q["quotaCode"] == "L-F678F1CE")
    assert (vpcs["perLab"], vpcs["class"], vpcs["awsDefault"], vpcs["labsAtDefault"]) == (1, 30, 5, 5)
    assert plan["matrix"]["include"][3] == {"id": "Student.03", "stack": plan["labs"][3]["stack"],
                                            "clusterName": plan["labs"][3]["clusterName"]}
    assert plan["teardownParallel"] == 10 and plan["workflowFits"] is True


def test_the_text_plan_is_the_same_every_time(roster30):
    first, second = plan_command(roster30), plan_command(roster30)
    assert first.returncode == 0 and first.stdout == second.stdout
    text = first.stdout
    assert "Cost: 30 x $0.3845 = $11.54 an hour, $276.84 a day" in text
    assert "it holds 0 lab(s) at once, bound by vCPUs of On-Demand Standard instances: the class does not fit" in text
    assert "Student.07" in text and "Traceback" not in first.stderr


def rows(**available: int) -> list[Row]:
    per_lab = {"vpcs": 1, "vcpus": 6, "albs": 2, "sg-inbound-rules": 5}
    return [Row(k, k, "L-X", None, n, 30, available.get(k)) for k, n in per_lab.items()]


@pytest.mark.parametrize("available, held, bound", [
    ({"vpcs": 40, "vcpus": 1000, "albs": 100, "sg-inbound-rules": 60}, 40, ["vpcs"]),
    ({"vpcs": 40, "vcpus": 60, "albs": 100, "sg-inbound-rules": 60}, 10, ["vcpus"]),
    ({"vpcs": 5, "vcpus": 30, "albs": 100}, 5, ["vpcs", "vcpus"]),
    ({"vpcs": 40, "vcpus": 1000, "albs": 100, "sg-inbound-rules": 4}, 0, ["sg-inbound-rules"]),  # per group
    ({}, None, []),  # nothing known: the students and the cap decide
])
def test_labs_held_is_the_scarcest_quota(available, held, bound):
    assert labs_held(rows(**available)) == (held, bound)


@pytest.mark.parametrize("students, held, expected", [
    (30, None, 10), (30, 40, 10), (30, 4, 4), (3, 40, 3), (30, 0, 1), (1, None, 1)])
def test_max_parallel(students, held, expected):
    assert max_parallel(students, held) == expected


def test_ready_minutes_are_rounds_of_the_lab_time():
    assert ready_minutes(30, 10, 18.5) == (3, 55.5)
    assert ready_minutes(30, 7, 18.5) == (5, 92.5)
    assert ready_minutes(3, 50, 19.5) == (1, 19.5)


# --------------------------------------------------------------------------
# Isolation: the registered graph of two students' labs


ENTRY_TYPES = ("eks:index:Cluster", "aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")


def test_two_students_labs_are_closed_to_each_other(tmp_path):
    path = tmp_path / "roster.yaml"
    path.write_text(f"class: k8s-networking-fall-2026\nstudents:\n  - id: alice\n    adminArn: {ARN.format(1)}\n"
                    f"  - id: bob\n    adminArn: {ARN.format(2)}\n")
    roster = load_roster(path)
    graphs = {s.id: run_lab(lab_overrides(roster, s)) for s in roster.students}
    arns = {"alice": ARN.format(1), "bob": ARN.format(2)}
    for me, other in (("alice", "bob"), ("bob", "alice")):
        graph = graphs[me]
        cluster = graph.one("eks:index:Cluster")
        # API mode: access entries are the only way in (no aws-auth ConfigMap mapping anyone).
        assert cluster.inputs["authenticationMode"] == "API"
        entries = cluster.inputs.get("accessEntries") or {}
        assert sorted(e["principalArn"] for e in entries.values()) == [arns[me]]
        # No other resource of the lab grants anything to the other student, or names them at all.
        assert not [r for r in graph.resources if r.type in ENTRY_TYPES[1:]]
        assert arns[other] not in json.dumps([r.inputs for r in graph.resources], default=str)
        assert cluster.inputs["name"] == roster.student(me).cluster_name
    # Nothing physical is shared: every named load balancer and the cluster differ.
    named = {me: {r.inputs.get("name") for r in g.resources if r.type in ("eks:index:Cluster",
                                                                         "aws:lb/loadBalancer:LoadBalancer")}
             for me, g in graphs.items()}
    assert not (named["alice"] & named["bob"]) - {None}
