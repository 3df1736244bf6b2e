"""Offline checks of the GitHub Actions workflows.

Schema validation uses check-jsonschema's vendored GitHub workflow schema (no
network). The structural checks encode what keeps the lab from leaking money:
teardown that always runs, timeouts that leave it room, one lab at a time.
Each check returns a list of problems so it can be shown to fail on a broken
copy of the real file.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[1] / ".github" / "workflows"
LAB = WORKFLOWS / "lab.yml"
TESTS = WORKFLOWS / "tests.yml"

PINNED = {
    "actions/checkout": "v4",
    "actions/setup-python": "v5",
    "actions/upload-artifact": "v4",
    "aws-actions/configure-aws-credentials": "v4",
    "pulumi/actions": "v6",
}

# Teardown steps, recognised by what they run or use.
TEARDOWN = {
    "destroy": "./lab destroy",
    "sweep": "./lab sweep",
    "audit": "./lab audit",
    "stack rm": "pulumi stack rm",
    "upload": "actions/upload-artifact",
}


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {name: None for name in on}
    return on or {}


def step_text(step: dict) -> str:
    return f"{step.get('run', '')} {step.get('uses', '')}"


def find_steps(job: dict, needle: str) -> list[int]:
    return [i for i, step in enumerate(job.get("steps", [])) if needle in step_text(step)]


# --------------------------------------------------------------------------
# Checks: each returns a list of problems, empty when all is well


def check_job_timeouts(workflow: dict) -> list[str]:
    return [
        f"job {name}: no timeout-minutes"
        for name, job in workflow.get("jobs", {}).items()
        if not isinstance(job.get("timeout-minutes"), int) or job["timeout-minutes"] <= 0
    ]


def check_step_budget(workflow: dict, job_name: str = "lab") -> list[str]:
    """Up and smoke have their own timeouts, and all step timeouts fit in the job's."""
    job = workflow.get("jobs", {}).get(job_name, {})
    problems = []
    for needle in ("./lab up", "./lab smoke"):
        for i in find_steps(job, needle):
            if not job["steps"][i].get("timeout-minutes"):
                problems.append(f"step '{needle}': no timeout-minutes")
    total = sum(step.get("timeout-minutes", 0) for step in job.get("steps", []))
    if total > job.get("timeout-minutes", 0):
        problems.append(f"step timeouts add up to {total} min, more than the job's {job.get('timeout-minutes')}")
    return problems


def check_teardown_always(workflow: dict, job_name: str = "lab") -> list[str]:
    job = workflow.get("jobs", {}).get(job_name, {})
    problems = []
    for label, needle in TEARDOWN.items():
        indexes = find_steps(job, needle)
        if not indexes:
            problems.append(f"{label}: no step runs {needle!r}")
        for i in indexes:
            condition = str(job["steps"][i].get("if", ""))
            if "always()" not in condition:
                problems.append(f"{label}: step {i} runs without always() (if: {condition or 'none'})")
    return problems


def check_order(workflow: dict, job_name: str = "lab") -> list[str]:
    job = workflow.get("jobs", {}).get(job_name, {})
    work = find_steps(job, "./lab up") + find_steps(job, "./lab smoke")
    if len(work) < 2:
        return ["up or smoke step missing"]
    teardown = [i for needle in TEARDOWN.values() for i in find_steps(job, needle)]
    if teardown and min(teardown) < max(work):
        return [f"teardown step {min(teardown)} comes before up/smoke step {max(work)}"]
    return []


def check_concurrency(workflow: dict) -> list[str]:
    conc = workflow.get("concurrency")
    if not isinstance(conc, dict) or not conc.get("group"):
        return ["no concurrency group"]
    if conc.get("cancel-in-progress") is not False:
        return ["cancel-in-progress must be false: a cancelled lab run may leak"]
    return []


def check_permissions(workflow: dict) -> list[str]:
    perms = workflow.get("permissions") or {}
    problems = []
    if perms.get("id-token") != "write":
        problems.append("permissions: id-token is not write (OIDC needs it)")
    if perms.get("contents") != "read":
        problems.append("permissions: contents is not read")
    return problems


def check_pins(workflow: dict) -> list[str]:
    problems = []
    for name, job in workflow.get("jobs", {}).items():
        for step in job.get("steps", []):
            uses = step.get("uses")
            if not uses:
                continue
            action, _, ref = uses.partition("@")
            if PINNED.get(action) != ref:
                problems.append(f"job {name}: {uses} is not pinned to {action}@{PINNED.get(action, '<unknown action>')}")
    return problems


def check_lab_triggers(workflow: dict) -> list[str]:
    on = triggers(workflow)
    problems = []
    if "workflow_dispatch" not in on:
        problems.append("no workflow_dispatch trigger")
    if not (on.get("schedule") or []):
        problems.append("no schedule trigger")
    if set(on) - {"workflow_dispatch", "schedule"}:
        problems.append(f"unexpected triggers {sorted(set(on) - {'workflow_dispatch', 'schedule'})}")
    return problems


def check_lab_setup(workflow: dict) -> list[str]:
    job = workflow.get("jobs", {}).get("lab", {})
    steps = job.get("steps", [])
    problems = []
    creds = [s for s in steps if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
    if not creds or "vars.AWS_ROLE_ARN" not in str(creds[0].get("with", {}).get("role-to-assume")):
        problems.append("AWS credentials must come from OIDC with role vars.AWS_ROLE_ARN")
    if any("command" in (s.get("with") or {}) for s in steps if str(s.get("uses", "")).startswith("pulumi/actions")):
        problems.append("pulumi/actions should only install the CLI")
    env = {**workflow.get("env", {}), **job.get("env", {})}
    if "github.run_id" not in str(env.get("STACK")):
        problems.append("STACK is not unique to the run")
    if "secrets.PULUMI_CONFIG_PASSPHRASE" not in str(env.get("PULUMI_CONFIG_PASSPHRASE")):
        problems.append("PULUMI_CONFIG_PASSPHRASE does not come from secrets")
    text = yaml.safe_dump(workflow)
    for needle in ("vars.PULUMI_BACKEND_URL", "pulumi-state", "include-hidden-files"):
        if needle not in text:
            problems.append(f"backend fallback incomplete: {needle} missing")
    return problems


def check_guard(workflow: dict) -> list[str]:
    guard = workflow.get("jobs", {}).get("teardown-guard")
    if guard is None:
        return ["no teardown-guard job"]
    problems = []
    if guard.get("needs") not in ("lab", ["lab"]):
        problems.append("teardown-guard does not need lab")
    condition = str(guard.get("if", ""))
    for needle in ("always()", "needs.lab.result != 'success'", "vars.PULUMI_BACKEND_URL != ''"):
        if needle not in condition:
            problems.append(f"teardown-guard if lacks {needle}")
    return problems


def check_tests_workflow(workflow: dict) -> list[str]:
    on = triggers(workflow)
    problems = []
    if "pull_request" not in on:
        problems.append("no pull_request trigger")
    if "main" not in ((on.get("push") or {}).get("branches") or []):
        problems.append("no push trigger on main")
    steps = [s for job in workflow.get("jobs", {}).values() for s in job.get("steps", [])]
    pythons = [str((s.get("with") or {}).get("python-version")) for s in steps if "setup-python" in str(s.get("uses"))]
    if pythons != ["3.11"]:
        problems.append(f"expected one setup-python with 3.11, got {pythons}")
    if not any(str(s.get("run", "")).strip() == "./lab test" for s in steps):
        problems.append("no step runs ./lab test")
    return problems


def check_reports(workflow: dict) -> list[str]:
    """Both smoke reports reach the run's artifacts, whatever the outcome."""
    job = workflow.get("jobs", {}).get("lab", {})
    uploads = [st for st in job.get("steps", []) if "upload-artifact" in str(st.get("uses"))
               and "smoke" in str((st.get("with") or {}).get("path"))]
    paths = " ".join(str((st.get("with") or {}).get("path")) for st in uploads)
    return [f"no upload of {name}" for name in ("smoke.junit.xml", "smoke-report.html") if name not in paths]


def check_isolation(workflow: dict) -> list[str]:
    """A CI lab has a cluster of its own (not Pulumi.dev.yaml's) and admits the runner."""
    job = workflow.get("jobs", {}).get("lab", {})
    env = {**workflow.get("env", {}), **job.get("env", {})}
    problems = []
    if "github.run_id" not in str(env.get("LAB_CLUSTER")):
        problems.append("LAB_CLUSTER is not unique to the run")
    up = " ".join(str(job["steps"][i].get("run")) for i in find_steps(job, "./lab up"))
    for needle in ("lab:clusterName=$LAB_CLUSTER", r'lab:clientCidrs=[\"$LAB_SOURCE_CIDR\"]'):
        if needle not in up:
            problems.append(f"the up step does not set {needle.split('=')[0]} for this run")
    if not any("LAB_SOURCE_CIDR=" in str(st.get("run")) for st in job.get("steps", [])):
        problems.append("no step learns the runner's address (LAB_SOURCE_CIDR)")
    for needle in ("./lab sweep", "./lab audit"):
        for i in find_steps(job, needle):
            run = str(job["steps"][i].get("run"))
            if '--cluster "$LAB_CLUSTER"' not in run or '--region "$AWS_REGION"' not in run:
                problems.append(f"step {i} ({needle}) does not use the run's cluster and the lab's region")
    return problems


def check_one_region(workflow: dict) -> list[str]:
    """Every job takes the region from the stack settings (Pulumi.dev.yaml, which CI stacks copy)."""
    problems = []
    if "AWS_REGION" in str(workflow.get("env", {})) or "vars.AWS_REGION" in yaml.safe_dump(workflow):
        problems.append("a second source of the region (vars.AWS_REGION / a fixed AWS_REGION)")
    for name, job in workflow.get("jobs", {}).items():
        steps = job.get("steps", [])
        setter = [i for i, st in enumerate(steps)
                  if "python -m labtools identity" in str(st.get("run")) and "AWS_REGION=" in str(st.get("run"))]
        users = [i for i, st in enumerate(steps) if "AWS_REGION" in str(st.get("with", "")) + str(st.get("run", ""))
                 and i not in setter]
        if not setter or (users and min(users) < setter[0]):
            problems.append(f"job {name}: AWS_REGION is not set from the stack settings before it is used")
    return problems


def check_interrupt(workflow: dict) -> list[str]:
    """up and destroy get SIGINT, with time to record their state, before the step's timeout."""
    job = workflow.get("jobs", {}).get("lab", {})
    problems = []
    for needle in ("./lab up", "./lab destroy"):
        for i in find_steps(job, needle):
            step = job["steps"][i]
            m = re.search(r"timeout --signal=INT --kill-after=(\d+)m (\d+)m " + re.escape(needle), str(step.get("run")))
            if not m:
                problems.append(f"step '{needle}' is not run under timeout --signal=INT --kill-after")
            elif int(m.group(1)) + int(m.group(2)) >= int(step.get("timeout-minutes", 0)):
                problems.append(f"step '{needle}': SIGINT after {m.group(2)} + {m.group(1)} min grace does not "
                                f"end before the step's {step.get('timeout-minutes')} min")
    return problems


def check_session(workflow: dict) -> list[str]:
    """The role session covers the job, and a refused session says why."""
    job = workflow.get("jobs", {}).get("lab", {})
    steps = job.get("steps", [])
    creds = [st for st in steps if str(st.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
    problems = []
    seconds = int((creds[0].get("with") or {}).get("role-duration-seconds", 3600)) if creds else 0
    if seconds < 60 * int(job.get("timeout-minutes", 0)):
        problems.append(f"role-duration-seconds {seconds} is shorter than the job's {job.get('timeout-minutes')} min")
    step_id = creds[0].get("id") if creds else None
    explained = [st for st in steps if step_id and f"steps.{step_id}.outcome == 'failure'" in str(st.get("if"))
                 and "MaxSessionDuration" in str(st.get("run"))]
    if not explained:
        problems.append("no step explains a session refused for MaxSessionDuration")
    return problems


LAB_CHECKS = [
    check_job_timeouts,
    check_step_budget,
    check_teardown_always,
    check_order,
    check_concurrency,
    check_permissions,
    check_pins,
    check_lab_triggers,
    check_lab_setup,
    check_guard,
    check_isolation,
    check_reports,
    check_one_region,
    check_interrupt,
    check_session,
]
TESTS_CHECKS = [check_job_timeouts, check_pins, check_tests_workflow]


# --------------------------------------------------------------------------
# The real files


def validate_schema(path: Path) -> subprocess.CompletedProcess:
    # The venv's own executable: the test must not depend on PATH.
    exe = Path(sys.executable).with_name("check-jsonschema")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "check_jsonschema"]
    return subprocess.run(
        [*command, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("path", [LAB, TESTS], ids=lambda p: p.name)
def test_schema(path):
    result = validate_schema(path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("check", LAB_CHECKS, ids=lambda c: c.__name__)
def test_lab_workflow(check):
    assert check(load(LAB)) == []


@pytest.mark.parametrize("check", TESTS_CHECKS, ids=lambda c: c.__name__)
def test_tests_workflow(check):
    assert check(load(TESTS)) == []


def test_on_key_is_read_despite_yaml_booleans():
    assert "schedule" in triggers(load(LAB))
    assert "pull_request" in triggers(load(TESTS))


# --------------------------------------------------------------------------
# Broken copies: each check must catch what it is there for


def lab_step(workflow: dict, needle: str) -> dict:
    job = workflow["jobs"]["lab"]
    return job["steps"][find_steps(job, needle)[0]]


def drop_if(needle: str) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        lab_step(wf, needle).pop("if")

    return mutate


def move_first_to_front(needle: str) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        steps = wf["jobs"]["lab"]["steps"]
        steps.insert(0, steps.pop(find_steps(wf["jobs"]["lab"], needle)[0]))

    return mutate


def set_key(path: list, value) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        node = wf
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            node.pop(path[-1])
        else:
            node[path[-1]] = value

    return mutate


def step_key(needle: str, key: str, value) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        step = lab_step(wf, needle)
        if value is KeyError:
            step.pop(key)
        else:
            step[key] = value

    return mutate


BROKEN = {
    "destroy without always": (drop_if("./lab destroy"), check_teardown_always, "destroy: step"),
    "sweep without always": (step_key("./lab sweep", "if", "env.CLUSTER != ''"), check_teardown_always, "sweep:"),
    "audit without always": (drop_if("./lab audit"), check_teardown_always, "audit:"),
    "stack rm without always": (
        step_key("pulumi stack rm", "if", "success()"),
        check_teardown_always,
        "stack rm:",
    ),
    "upload without always": (drop_if("actions/upload-artifact"), check_teardown_always, "upload:"),
    "no sweep at all": (
        lambda wf: wf["jobs"]["lab"]["steps"].pop(find_steps(wf["jobs"]["lab"], "./lab sweep")[0]),
        check_teardown_always,
        "sweep: no step",
    ),
    "job without timeout": (set_key(["jobs", "lab", "timeout-minutes"], KeyError), check_job_timeouts, "job lab"),
    "guard without timeout": (
        set_key(["jobs", "teardown-guard", "timeout-minutes"], KeyError),
        check_job_timeouts,
        "job teardown-guard",
    ),
    "up without timeout": (step_key("./lab up", "timeout-minutes", KeyError), check_step_budget, "'./lab up'"),
    "smoke eats the job": (step_key("./lab smoke", "timeout-minutes", 100), check_step_budget, "add up to"),
    "teardown before smoke": (move_first_to_front("./lab destroy"), check_order, "comes before"),
    "no concurrency": (set_key(["concurrency"], KeyError), check_concurrency, "no concurrency"),
    "cancel in progress": (
        set_key(["concurrency", "cancel-in-progress"], True),
        check_concurrency,
        "cancel-in-progress",
    ),
    "no id-token": (set_key(["permissions", "id-token"], "read"), check_permissions, "id-token"),
    "unpinned action": (step_key("pulumi/actions", "uses", "pulumi/actions@main"), check_pins, "pulumi/actions@main"),
    "no schedule": (lambda wf: triggers(wf).pop("schedule"), check_lab_triggers, "no schedule"),
    "pulumi command": (step_key("pulumi/actions", "with", {"command": "up"}), check_lab_setup, "only install"),
    "static stack name": (set_key(["env", "STACK"], "ci"), check_lab_setup, "STACK"),
    "dev's cluster name": (set_key(["env", "LAB_CLUSTER"], "eks-test"), check_isolation, "LAB_CLUSTER"),
    "up keeps dev's name": (
        step_key("./lab up", "run", './lab up --stack "$STACK" --yes'),
        check_isolation,
        "lab:clusterName",
    ),
    "runner under the renamed key": (
        lambda wf: lab_step(wf, "./lab up").update(
            run=lab_step(wf, "./lab up")["run"].replace("lab:clientCidrs=", "lab:nodePortSourceCidrs=")),
        check_isolation,
        "lab:clientCidrs",
    ),
    "sweep of dev's cluster": (
        step_key("./lab sweep", "run", './lab sweep --cluster eks-test --region "$AWS_REGION" --yes'),
        check_isolation,
        "./lab sweep",
    ),
    "no html report": (
        lambda wf: [st["with"].update(path="smoke.junit.xml") for st in wf["jobs"]["lab"]["steps"]
                    if "smoke-report" in str((st.get("with") or {}).get("name"))],
        check_reports,
        "smoke-report.html",
    ),
    "region from a variable": (
        set_key(["env", "AWS_REGION"], "${{ vars.AWS_REGION || 'ap-northeast-2' }}"),
        check_one_region,
        "second source",
    ),
    "guard without the region": (
        lambda wf: wf["jobs"]["teardown-guard"]["steps"].pop(
            find_steps(wf["jobs"]["teardown-guard"], "labtools identity")[0]),
        check_one_region,
        "job teardown-guard",
    ),
    "up killed, not interrupted": (
        step_key("./lab up", "run", './lab up --stack "$STACK" --yes'),
        check_interrupt,
        "not run under timeout",
    ),
    "grace longer than the step": (
        step_key("./lab destroy", "run", 'timeout --signal=INT --kill-after=10m 24m ./lab destroy --stack "$STACK"'),
        check_interrupt,
        "does not end before",
    ),
    "one-hour session": (
        lambda wf: wf["jobs"]["lab"]["steps"][find_steps(wf["jobs"]["lab"], "configure-aws-credentials")[0]]["with"]
        .update({"role-duration-seconds": 3600}),
        check_session,
        "shorter than the job",
    ),
    "refusal unexplained": (
        lambda wf: wf["jobs"]["lab"]["steps"].pop(find_steps(wf["jobs"]["lab"], "MaxSessionDuration")[0]),
        check_session,
        "MaxSessionDuration",
    ),
    "guard always": (
        set_key(["jobs", "teardown-guard", "if"], "needs.lab.result != 'success'"),
        check_guard,
        "always()",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_checks_catch_a_broken_lab_workflow(name):
    mutate, check, expected = BROKEN[name]
    broken = copy.deepcopy(load(LAB))
    mutate(broken)

    problems = check(broken)

    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda wf: triggers(wf).pop("pull_request"), "pull_request"),
        (lambda wf: triggers(wf)["push"].update(branches=["dev"]), "main"),
        (lambda wf: wf["jobs"]["offline"]["steps"][-1].update(run="pytest"), "./lab test"),
        (lambda wf: wf["jobs"]["offline"]["steps"][1]["with"].update({"python-version": "3.12"}), "3.11"),
    ],
    ids=["no-pr", "push-dev", "no-lab-test", "python-3.12"],
)
def test_checks_catch_a_broken_tests_workflow(mutate, expected):
    broken = copy.deepcopy(load(TESTS))
    mutate(broken)

    assert any(expected in p for p in check_tests_workflow(broken))


def test_schema_rejects_a_broken_workflow(tmp_path):
    # Proves the schema step can fail: `runs-on` is required of every job.
    broken = load(LAB)
    broken["jobs"]["lab"].pop("runs-on")
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({("on" if k is True else k): v for k, v in broken.items()}))
    result = validate_schema(path)
    assert result.returncode != 0
    assert "runs-on" in result.stdout + result.stderr
