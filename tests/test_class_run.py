"""`./lab class up|smoke|destroy` against the strict fake Pulumi CLI (driven by the Automation API)
and AWS in moto: three students, two at a time, one of whose `up` fails; the smoke suite for real
against the local replica; the class torn down through ./lab destroy's own teardown."""

from __future__ import annotations

import json
import re
import stat
import time
from pathlib import Path

import pytest

from tests.local_replica.replica import Replica
from tests.test_lab_stacks import Project, moto_endpoint  # noqa: F401 (a fixture)

ROSTER = """class: k8s-networking-fall-2026
expires: 8h
students:
  - id: alice
    adminArn: arn:aws:iam::123456789012:role/alice
  - id: bob
    adminArn: arn:aws:iam::123456789012:user/bob
  - id: Élodie.Martin
    adminArn: arn:aws:iam::123456789012:role/elodie
"""
ALICE, BOB = "k8s-networking-fall-2026-alice", "k8s-networking-fall-2026-bob"
ELODIE = "k8s-networking-fall-20-elodie-martin-1756f4"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n# secret-marker-5f1c\n"
FAST = ["--node-address", "127.0.0.1", "--deadline", "20", "--backoff-initial", "0.05", "--backoff-cap", "0.5",
        "--request-timeout", "2", "--only", "nodeport"]


@pytest.fixture
def project(tmp_path, moto_endpoint):  # noqa: F811
    p = Project(tmp_path, moto_endpoint)
    (p.dir / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    with Replica(tmp_path_factory.mktemp("replica")) as r:
        yield r


def calls(project: Project, word: str) -> list[list[str]]:
    """The fake CLI's calls of one command, without the Automation API's leading --non-interactive."""
    found = [[a for a in c if a != "--non-interactive"] for c in project.calls()]
    return [c for c in found if c and c[0] == word]


def results(project: Project) -> Path:
    return project.dir / ".lab-state" / "class" / "k8s-networking-fall-2026"


def overlap(times: Path) -> int:
    """The most `up`s that ran at once."""
    spans = [json.loads(line) for line in times.read_text().splitlines()]
    return max(sum(s["start"] <= t["start"] < s["end"] for s in spans) for t in spans)


def test_three_students_two_at_a_time_one_fails_then_smoke_and_destroy(project, replica, tmp_path):
    # The replica's entry points for every lab; its cluster and region ("local") are no lab's, so the
    # teardown reads each lab's from its settings, as after an up that stopped midway.
    outputs = {k: v for k, v in replica.outputs().items() if k not in ("clusterName", "region")}
    outputs.update(kubeconfig=KUBECONFIG, estimatedHourlyCostUsd=0.3845)
    times = tmp_path / "times.jsonl"
    started = time.monotonic()
    up = project.lab("class", "up", "--roster", "roster.yaml", "--parallel", "2", "--yes",
                     FAKE_PULUMI_UP_FAIL_STACKS=BOB, FAKE_PULUMI_UP_OUTPUTS=json.dumps(outputs),
                     FAKE_PULUMI_UP_SECRETS="kubeconfig", FAKE_PULUMI_UP_SECONDS="0.3", FAKE_PULUMI_TIMES=str(times))
    elapsed = time.monotonic() - started

    # One failed lab: the others finish, the exit says not all went well.
    assert up.returncode == 1, up.stderr
    report = {r["id"]: r for r in json.loads((results(project) / "report.json").read_text())["labs"]}
    assert {k: r["state"] for k, r in report.items()} == {"alice": "ready", "bob": "failed", "Élodie.Martin": "ready"}
    assert report["bob"]["error"] == "error: update failed" and report["bob"]["log"] == f"{BOB}/up.log"
    assert "[bob] failed after" in up.stderr and "[alice] ready after" in up.stderr
    assert "[Élodie.Martin] building" in up.stderr and "The account holds the class" in up.stderr
    assert "bob: error: update failed" in up.stdout and "Class k8s-networking-fall-2026: 1 failed, 2 ready" in up.stdout
    # Two at a time, as asked: two labs start before either ends, and never three `up`s at once (the
    # third starts after one has ended, so this holds whatever the machine's load).
    live = [line for line in up.stderr.splitlines() if line.startswith("==> [")]
    first_end = next(i for i, line in enumerate(live) if " after " in line)
    assert sum(" building (" in line for line in live[:first_end]) == 2, live
    assert overlap(times) <= 2 and len(calls(project, "up")) == 3
    assert elapsed < 30, elapsed
    # The Automation API's own calls, one stack each, each as strict as the CLI.
    assert ["up", "--yes", "--skip-preview", "--color", "never", "--exec-kind", "auto.local", "--stack", ALICE] \
        in calls(project, "up")
    assert sorted(c[2] for c in calls(project, "stack") if c[1] == "init") == sorted([ALICE, BOB, ELODIE])
    # Each lab's settings: Pulumi.dev.yaml's, its own cluster and only its own student.
    for stack, arn in ((ALICE, "role/alice"), (BOB, "user/bob"), (ELODIE, "role/elodie")):
        config = project.settings(stack)["config"]
        assert config["lab:clusterName"] == stack and config["lab:expires"] == "8h"
        assert config["lab:adminPrincipalArns"] == [f"arn:aws:iam::123456789012:{arn}"]
    # The kubeconfig, a secret: mode 600 for each lab that is up, and nowhere in the reports.
    kube = results(project) / ALICE / "kubeconfig"
    assert kube.read_text() == KUBECONFIG and stat.S_IMODE(kube.stat().st_mode) == 0o600
    assert not (results(project) / BOB / "kubeconfig").exists()
    for text in (up.stdout, up.stderr, *(p.read_text() for p in results(project).rglob("*.json")),
                 (results(project) / "report.html").read_text()):
        assert "secret-marker-5f1c" not in text
    assert report["alice"]["hoursLeft"] == pytest.approx(8.0, abs=0.1)

    # The smoke tests, for real against the replica: alice passes, bob has no lab to test.
    smoke = project.lab("class", "smoke", "--roster", "roster.yaml", "--only", "alice", "--only", "bob", "--", *FAST)
    assert smoke.returncode == 1, smoke.stderr
    report = {r["id"]: r for r in json.loads((results(project) / "report.json").read_text())["labs"]}
    assert report["alice"]["smoke"] == {"verdict": "passed", "report": f"{ALICE}/smoke-report.html"}
    assert report["bob"]["smoke"]["verdict"] == "no lab" and report["Élodie.Martin"]["smoke"]["verdict"] == "not run"
    assert "smoke_tests/test_entrypoints.py" in (results(project) / ALICE / "smoke-report.html").read_text()
    assert not (results(project) / ALICE / "outputs.json").exists()  # it held the kubeconfig

    # Without --yes, class destroy deletes nothing.
    dry = project.lab("class", "destroy", "--roster", "roster.yaml")
    assert dry.returncode == 0 and "Nothing was deleted." in dry.stdout and not calls(project, "destroy")

    # With it, every lab goes through ./lab destroy's teardown: destroy, sweep, audit; AWS refusing
    # bob's (twice: the teardown retries once after its sweep) stops no other.
    down = project.lab("class", "destroy", "--roster", "roster.yaml", "--yes", FAKE_PULUMI_DESTROY_FAIL_STACKS=BOB)
    assert down.returncode == 1, down.stderr + down.stdout
    assert sorted(c[2] for c in calls(project, "destroy")) == sorted([ALICE, BOB, BOB, ELODIE])
    for stack in (ALICE, ELODIE):
        log = (results(project) / stack / "destroy.log").read_text()
        assert f"sweeping what the controllers left for cluster {stack} in ap-northeast-2" in log
        assert f"teardown of stack {stack} complete" in log
    report = {r["id"]: r for r in json.loads((results(project) / "report.json").read_text())["labs"]}
    assert report["bob"]["state"] == "destroy failed" and "pulumi destroy failed twice" in report["bob"]["error"]
    assert "DependencyViolation" in (results(project) / BOB / "destroy.log").read_text()
    # Once AWS lets go, that student alone.
    again = project.lab("class", "destroy", "--roster", "roster.yaml", "--yes", "--only", "bob")
    assert again.returncode == 0, again.stderr + again.stdout
    final = json.loads((results(project) / "report.json").read_text())
    assert final["counts"] == {"destroyed": 3} and not (results(project) / ALICE / "kubeconfig").exists()
    html = (results(project) / "report.html").read_text()
    assert html.count('<td><span class="state destroyed">destroyed</span>') == 3
    assert f'href="{ALICE}/smoke-report.html"' in html and "Élodie.Martin" in html


def test_a_bad_roster_stops_before_pulumi_and_aws(project):
    (project.dir / "bad.yaml").write_text("class: c\nstudents:\n  - id: alice\n", encoding="utf-8")
    result = project.lab("class", "up", "--roster", "bad.yaml", "--yes")
    assert result.returncode == 2
    assert "students[0] (alice): adminArn is missing" in result.stderr
    assert not any(c != ["version"] for c in project.calls())  # no stack touched
    assert not any(project.dir.glob("Pulumi.c-*.yaml"))


def test_class_takes_no_stack_and_up_wants_a_yes(project):
    assert "takes no --stack" in project.lab("class", "plan", "--roster", "roster.yaml", "--stack", "x").stderr
    asked = project.lab("class", "up", "--roster", "roster.yaml", "--skip-preflight")
    assert asked.returncode == 2 and "class up builds 3 lab(s), each billed by the hour: pass --yes" in asked.stderr
    assert not calls(project, "up")


def test_a_second_up_takes_the_class_labs_as_its_own(project):
    """After an up, the labs' VPCs are the class's own: the preflight does not count them twice."""
    import boto3

    ec2 = boto3.client("ec2", region_name="ap-northeast-2", endpoint_url=project.env["AWS_ENDPOINT_URL"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    made = []
    for stack in (ALICE, BOB, ELODIE):  # what the three labs made: a VPC each, tagged as the lab tags it
        tags = [{"Key": "lab:project", "Value": "eks-networking-lab"}, {"Key": "lab:stack", "Value": stack},
                {"Key": "lab:cluster", "Value": stack}]
        made.append(ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": tags}])["Vpc"]["VpcId"])
    try:
        result = project.lab("class", "preflight", "--roster", "roster.yaml", "--json")
        doc = json.loads(result.stdout)
        vpcs = next(c for c in doc["checks"] if c["quotaCode"] == "L-F678F1CE")
        assert result.returncode == 0 and vpcs["used"] == 1 and vpcs["needed"] == 3, vpcs  # moto's default VPC
        assert doc["accountHolds"]["labs"] == 4 and doc["maxParallel"] == 3
    finally:
        for vpc in made:
            ec2.delete_vpc(VpcId=vpc)


def test_the_fake_cli_answers_the_automation_api_as_the_cli_does(project):
    assert project.pulumi("version").stdout.strip() == "v3.259.0"
    bad = project.pulumi("--color", "sometimes", "version")
    assert bad.returncode == 255 and "unsupported --color option: 'sometimes'" in bad.stderr
    assert project.pulumi("--non-interactive", "stack", "init", "s1").returncode == 0
    history = ["stack", "history", "--json", "--show-secrets", "--stack", "s1"]
    assert json.loads(project.pulumi(*history).stdout) == []  # no update yet
    assert project.pulumi("up", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", "s1").returncode == 0
    (update,) = json.loads(project.pulumi(*history).stdout)
    assert (update["kind"], update["result"], update["resourceChanges"]) == ("update", "succeeded", {"create": 3})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", update["startTime"])
    assert json.loads(project.pulumi(*history, "--page-size", "1", "--page", "2").stdout) == []
    assert "unknown flag: --all" in project.pulumi(*history, "--all").stderr
    # --event-log exists only with PULUMI_DEBUG_COMMANDS (up.go), which the Automation API sets.
    assert "unknown flag: --event-log" in project.pulumi("up", "--yes", "--stack", "s1", "--event-log", "x").stderr
