"""The class workflow (.github/workflows/class.yml), checked as the lab workflow is: the schema, the
pins, timeouts, credentials, the teardown; and its own steps run here: the plan job's matrix from a
roster, the account preflight's max-parallel (moto), a student's up, destroy and stack rm (the fake CLI).
Each check returns its problems, and a broken copy of the file shows it can fail."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Callable

import pytest
import yaml

from tests.test_lab_stacks import Project, moto_endpoint  # noqa: F401 (a fixture)
from tests.test_workflows import (PINNED, check_concurrency, check_job_timeouts, check_permissions, load,
                                  set_key, triggers, validate_schema)

ROOT = Path(__file__).resolve().parent.parent
CLASS = ROOT / ".github" / "workflows" / "class.yml"
PINS = {**PINNED, "actions/download-artifact": "v4"}
MATRIX = "${{ fromJSON(needs.plan.outputs.matrix) }}"
MAX_PARALLEL = "${{ fromJSON(needs.plan.outputs.max_parallel) }}"
ROSTER = """class: k8s-networking-fall-2026
students:
  - id: alice
    adminArn: arn:aws:iam::123456789012:role/alice
  - id: Élodie.Martin
    adminArn: arn:aws:iam::123456789012:role/elodie
"""


def jobs(wf: dict) -> dict:
    return wf.get("jobs", {})


def steps_of(job: dict) -> list[dict]:
    return job.get("steps", [])


def runs(step: dict) -> str:
    return str(step.get("run", ""))


def step(wf: dict, job: str, needle: str) -> dict:
    return next(s for s in steps_of(jobs(wf)[job]) if needle in runs(s) + str(s.get("uses", "")))


# --------------------------------------------------------------------------
# Checks


def check_pins(wf: dict) -> list[str]:
    return [f"job {name}: {s['uses']} is not pinned to {PINS.get(s['uses'].partition('@')[0], '<unknown>')}"
            for name, job in jobs(wf).items() for s in steps_of(job)
            if s.get("uses") and PINS.get(s["uses"].partition("@")[0]) != s["uses"].partition("@")[2]]


def check_triggers(wf: dict) -> list[str]:
    on = triggers(wf)
    inputs = (on.get("workflow_dispatch") or {}).get("inputs") or {}
    problems = [] if set(on) == {"workflow_dispatch"} else [f"triggers {sorted(on)}: only workflow_dispatch"]
    roster = inputs.get("roster") or {}
    if not (roster.get("required") and roster.get("type") == "string"):
        problems.append("no required string input roster (the roster's path)")
    action = inputs.get("action") or {}
    if action.get("type") != "choice" or set(action.get("options") or []) != {"up", "destroy"}:
        problems.append("no choice input action with up and destroy")
    return problems


def check_fan_out(wf: dict) -> list[str]:
    """One job per student, max-parallel from the plan, no student's failure cancelling another's."""
    problems = []
    outputs = jobs(wf).get("plan", {}).get("outputs") or {}
    if "steps.plan.outputs.matrix" not in str(outputs.get("matrix")):
        problems.append("the plan job's matrix output is not its plan step's")
    if "steps.preflight.outputs.max_parallel" not in str(outputs.get("max_parallel")):
        problems.append("max_parallel does not come from the account's preflight")
    for name in ("lab", "teardown"):
        job = jobs(wf).get(name, {})
        strategy = job.get("strategy") or {}
        if strategy.get("matrix") != MATRIX or strategy.get("max-parallel") != MAX_PARALLEL:
            problems.append(f"job {name}: matrix and max-parallel are not fromJSON of the plan's outputs")
        if strategy.get("fail-fast") is not False:
            problems.append(f"job {name}: fail-fast is not false (one student's failure would cancel the others)")
        if job.get("needs") not in ("plan", ["plan"]):
            problems.append(f"job {name} does not need plan")
    action = {"lab": "inputs.action == 'up'", "teardown": "inputs.action == 'destroy'"}
    problems += [f"job {n} runs without {cond}" for n, cond in action.items()
                 if cond not in str(jobs(wf).get(n, {}).get("if"))]
    return problems


AWS = ("./lab class up", "./lab class destroy", "labtools class preflight", "./lab sweep", "./lab audit",
       "pulumi stack")


def check_credentials(wf: dict) -> list[str]:
    """OIDC with vars.AWS_ROLE_ARN before anything that needs AWS, a session as long as the job, and the
    region from the stack settings first."""
    problems = []
    for name, job in jobs(wf).items():
        steps = steps_of(job)
        creds = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("aws-actions/configure-aws")]
        users = [i for i, s in enumerate(steps) if any(n in runs(s) for n in AWS)]
        region = [i for i, s in enumerate(steps) if "python -m labtools identity" in runs(s)]
        if not users:
            continue
        if not creds or min(creds) > min(users):
            problems.append(f"job {name}: AWS is used before (or without) OIDC credentials")
            continue
        c = steps[creds[0]]
        if "vars.AWS_ROLE_ARN" not in str((c.get("with") or {}).get("role-to-assume")):
            problems.append(f"job {name}: the role is not vars.AWS_ROLE_ARN")
        if int((c.get("with") or {}).get("role-duration-seconds", 3600)) < 60 * int(job.get("timeout-minutes", 0)):
            problems.append(f"job {name}: the role session is shorter than the job")
        if not region or min(region) > creds[0]:
            problems.append(f"job {name}: AWS_REGION is not set from the stack settings before the credentials")
    if "vars.AWS_REGION" in yaml.safe_dump(wf):
        problems.append("a second source of the region (vars.AWS_REGION)")
    return problems


def check_backend(wf: dict) -> list[str]:
    """The shared backend for every job; a run without it stops in the plan job, before anything."""
    env = wf.get("env") or {}
    problems = [] if "vars.PULUMI_BACKEND_URL" in str(env.get("PULUMI_BACKEND_URL")) else [
        "PULUMI_BACKEND_URL is not vars.PULUMI_BACKEND_URL"]
    if "secrets.PULUMI_CONFIG_PASSPHRASE" not in str(env.get("PULUMI_CONFIG_PASSPHRASE")):
        problems.append("PULUMI_CONFIG_PASSPHRASE does not come from secrets")
    plan = steps_of(jobs(wf).get("plan", {}))
    guard = [i for i, s in enumerate(plan) if '[ -n "$PULUMI_BACKEND_URL" ]' in runs(s)]
    first = [i for i, s in enumerate(plan) if "labtools class" in runs(s)]
    if not guard or (first and min(first) < guard[0]):
        problems.append("the plan job does not refuse an empty PULUMI_BACKEND_URL first")
    if "file://" in yaml.safe_dump(wf):
        problems.append("a local file backend: a class's labs outlive each job")
    return problems


def check_timeouts(wf: dict) -> list[str]:
    problems = check_job_timeouts(wf)
    for name, job in jobs(wf).items():
        for s in steps_of(job):
            if "./lab class" in runs(s) and not s.get("timeout-minutes"):
                problems.append(f"job {name}: step {s.get('name')!r} has no timeout-minutes")
        total = sum(s.get("timeout-minutes", 0) for s in steps_of(job))
        if total > job.get("timeout-minutes", 0):
            problems.append(f"job {name}: step timeouts add up to {total} min, more than the job's")
    return problems


def check_interrupt(wf: dict) -> list[str]:
    """up and destroy get SIGINT (Pulumi records its state) before the step's timeout."""
    problems = []
    for job, needle in (("lab", "./lab class up"), ("teardown", "./lab class destroy")):
        s = step(wf, job, needle) if any(needle in runs(x) for x in steps_of(jobs(wf).get(job, {}))) else {}
        m = re.search(r"timeout --signal=INT --kill-after=(\d+)m (\d+)m\s+" + re.escape(needle), runs(s))
        if not m:
            problems.append(f"{needle} is not run under timeout --signal=INT --kill-after")
        elif int(m.group(1)) + int(m.group(2)) >= int(s.get("timeout-minutes", 0)):
            problems.append(f"{needle}: SIGINT plus its grace does not end before the step's timeout")
    return problems


def check_teardown(wf: dict) -> list[str]:
    """The labs stay up after up; destroy, sweep, audit always run in the teardown; stack rm only after
    a successful destroy."""
    problems = []
    lab = " ".join(runs(s) for s in steps_of(jobs(wf).get("lab", {})))
    if "./lab class destroy" in lab or "pulumi stack rm" in lab:
        problems.append("the up job tears its lab down: the class needs it")
    job = jobs(wf).get("teardown", {})
    for needle in ("./lab class destroy", "./lab sweep", "./lab audit", "pulumi stack rm"):
        found = [s for s in steps_of(job) if needle in runs(s)]
        if not found:
            problems.append(f"teardown: no step runs {needle}")
        elif "always()" not in str(found[0].get("if")):
            problems.append(f"teardown: {needle} runs without always()")
    destroy = [s for s in steps_of(job) if "./lab class destroy" in runs(s)]
    if destroy and "--yes" not in runs(destroy[0]):
        problems.append("teardown: ./lab class destroy without --yes is only a dry run")
    rm = [s for s in steps_of(job) if "pulumi stack rm" in runs(s)]
    if rm and "steps.destroy.outcome == 'success'" not in str(rm[0].get("if")):
        problems.append("teardown: pulumi stack rm --force runs after a failed destroy")
    for needle in ("./lab sweep", "./lab audit"):
        for s in steps_of(job):
            if needle in runs(s) and '--cluster "$LAB_CLUSTER"' not in runs(s):
                problems.append(f"teardown: {needle} is not of the student's cluster")
    if "matrix.clusterName" not in str((job.get("env") or {}).get("LAB_CLUSTER")):
        problems.append("teardown: LAB_CLUSTER is not the matrix entry's cluster")
    return problems


def check_untrusted_text(wf: dict) -> list[str]:
    """A roster's ids and the dispatch's inputs reach scripts through env, never pasted into them."""
    return [f"job {name}: step {s.get('name')!r} expands {m} inside its script"
            for name, job in jobs(wf).items() for s in steps_of(job)
            for m in re.findall(r"\$\{\{\s*(?:inputs|matrix)\.[^}]*\}\}", runs(s))]


def check_results(wf: dict) -> list[str]:
    """Each student's results (smoke reports, kubeconfig) uploaded whatever happened; one report job."""
    problems = []
    up = step(wf, "lab", "./lab class up") if jobs(wf).get("lab") else {}
    if '--admit "$LAB_SOURCE_CIDR"' not in runs(up) or '--only "$STUDENT"' not in runs(up):
        problems.append("the up step is not the matrix student's, admitting its runner")
    for name in ("lab", "teardown"):
        uploads = [s for s in steps_of(jobs(wf).get(name, {})) if "upload-artifact" in str(s.get("uses"))]
        if not uploads or "always()" not in str(uploads[0].get("if")) or \
                "matrix.stack" not in str((uploads[0].get("with") or {}).get("name")):
            problems.append(f"job {name}: the student's results are not uploaded under always()")
    report = jobs(wf).get("report", {})
    if set(report.get("needs") or []) != {"plan", "lab", "teardown"} or "always()" not in str(report.get("if")):
        problems.append("the report job does not follow every job, whatever their outcome")
    text = " ".join(runs(s) + str(s.get("with", "")) for s in steps_of(report))
    for needle in ("lab-*", "labtools class report", "class-report"):
        if needle not in text:
            problems.append(f"the report job lacks {needle}")
    return problems


CHECKS = [check_pins, check_triggers, check_fan_out, check_credentials, check_backend, check_timeouts,
          check_interrupt, check_teardown, check_untrusted_text, check_results, check_permissions, check_concurrency]


def test_schema():
    result = validate_schema(CLASS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_class_workflow(check):
    assert check(load(CLASS)) == []


def edit(job: str, needle: str, key: str, value) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        s = step(wf, job, needle)
        s.pop(key) if value is KeyError else s.__setitem__(key, value)
    return mutate


BROKEN = {
    "download unpinned": (lambda wf: step(wf, "report", "download-artifact").update(uses="actions/download-artifact@main"),
                          check_pins, "download-artifact@main"),
    "a push trigger": (lambda wf: triggers(wf).update(push=None), check_triggers, "only workflow_dispatch"),
    "no action input": (lambda wf: triggers(wf)["workflow_dispatch"]["inputs"].pop("action"), check_triggers,
                        "action"),
    "fail fast": (set_key(["jobs", "lab", "strategy", "fail-fast"], True), check_fan_out, "fail-fast"),
    "fixed max-parallel": (set_key(["jobs", "lab", "strategy", "max-parallel"], 30), check_fan_out, "max-parallel"),
    "parallel not from the account": (set_key(["jobs", "plan", "outputs", "max_parallel"],
                                               "${{ steps.plan.outputs.max_parallel }}"), check_fan_out, "preflight"),
    "destroy on up": (set_key(["jobs", "teardown", "if"], "always()"), check_fan_out, "inputs.action == 'destroy'"),
    "no credentials": (lambda wf: jobs(wf)["teardown"]["steps"].pop(
        next(i for i, s in enumerate(steps_of(jobs(wf)["teardown"])) if "configure-aws" in str(s.get("uses")))),
        check_credentials, "job teardown: AWS is used before"),
    "short session": (lambda wf: step(wf, "lab", "configure-aws").setdefault("with", {}).update(
        {"role-duration-seconds": 3600}), check_credentials, "job lab: the role session"),
    "local backend": (set_key(["env", "PULUMI_BACKEND_URL"], "file:///tmp/state"), check_backend, "vars."),
    "no backend guard": (lambda wf: jobs(wf)["plan"]["steps"].pop(
        next(i for i, s in enumerate(steps_of(jobs(wf)["plan"])) if "PULUMI_BACKEND_URL" in runs(s))),
        check_backend, "refuse an empty"),
    "smoke without timeout": (edit("lab", "./lab class smoke", "timeout-minutes", KeyError), check_timeouts,
                              "Smoke tests"),
    "up killed": (edit("lab", "./lab class up", "run", './lab class up --roster "$ROSTER" --only "$STUDENT" --yes'),
                  check_interrupt, "./lab class up is not run under timeout"),
    "up tears down": (lambda wf: jobs(wf)["lab"]["steps"].append({"run": "./lab class destroy --roster r --yes"}),
                      check_teardown, "the up job tears"),
    "destroy without always": (edit("teardown", "./lab class destroy", "if", "success()"), check_teardown,
                               "./lab class destroy runs without always()"),
    "rm after a failure": (edit("teardown", "pulumi stack rm", "if", "always()"), check_teardown, "stack rm --force"),
    "dry-run destroy": (lambda wf: step(wf, "teardown", "./lab class destroy").update(
        run=runs(step(wf, "teardown", "./lab class destroy")).replace(" --yes", "")), check_teardown, "dry run"),
    "id in a script": (lambda wf: step(wf, "lab", "./lab class smoke").update(
        run='./lab class smoke --roster "$ROSTER" --only "${{ matrix.id }}"'), check_untrusted_text, "matrix.id"),
    "results lost on failure": (edit("lab", "upload-artifact", "if", "success()"), check_results, "job lab"),
    "report only on success": (set_key(["jobs", "report", "if"], "needs.plan.result == 'success'"), check_results,
                               "report job"),
    "runner not admitted": (lambda wf: step(wf, "lab", "./lab class up").update(
        run=runs(step(wf, "lab", "./lab class up")).replace('--admit "$LAB_SOURCE_CIDR"', "")), check_results,
        "admitting its runner"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_checks_catch_a_broken_class_workflow(name):
    mutate, check, expected = BROKEN[name]
    broken = copy.deepcopy(load(CLASS))
    mutate(broken)
    problems = check(broken)
    assert any(expected in p for p in problems), problems


# --------------------------------------------------------------------------
# The workflow's own steps, run here


def github_outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_plan_job_builds_the_matrix_from_a_roster(tmp_path, moto_endpoint):  # noqa: F811
    wf = load(CLASS)
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER, encoding="utf-8")
    out = tmp_path / "github_output"
    env = {**os.environ, "ROSTER": str(roster), "GITHUB_OUTPUT": str(out),
           "PATH": f"{ROOT / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    done = bash(runs(step(wf, "plan", "labtools class plan")), tmp_path, {**env, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    matrix = json.loads(github_outputs(out)["matrix"])  # what fromJSON gives the jobs
    assert [e["id"] for e in matrix["include"]] == ["alice", "Élodie.Martin"]
    assert matrix["include"][1] == {"id": "Élodie.Martin", "stack": "k8s-networking-fall-20-elodie-martin-1756f4",
                                    "clusterName": "k8s-networking-fall-20-elodie-martin-1756f4"}
    assert int(github_outputs(out)["max_parallel"]) == 2  # destroy's: no quota taken
    # The preflight step, against the account (moto): its maxParallel is what the matrix runs.
    out.write_text("")
    aws = {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "ap-northeast-2", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    done = bash(runs(step(wf, "plan", "labtools class preflight")), tmp_path,
                {**env, **aws, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr + done.stdout
    assert int(github_outputs(out)["max_parallel"]) == 2
    assert "::warning::" in done.stdout  # the assumed quotas, said in the run's annotations


def test_a_students_job_ups_then_the_teardown_job_destroys_it(tmp_path, moto_endpoint):  # noqa: F811
    """The up, destroy and stack rm lines as Actions runs them (bash -e), against the fake CLI."""
    wf = load(CLASS)
    project = Project(tmp_path, moto_endpoint)
    (project.dir / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    env = {**project.env, "ROSTER": "roster.yaml", "STUDENT": "Élodie.Martin", "RESULTS": "class-results",
           "LAB_SOURCE_CIDR": "203.0.113.9/32", "STUDENT_STACK": "k8s-networking-fall-20-elodie-martin-1756f4"}
    up = bash(runs(step(wf, "lab", "./lab class up")), project.dir, env)
    assert up.returncode == 0, up.stderr + up.stdout
    stack = env["STUDENT_STACK"]
    assert [c for c in project.calls() if "up" in c] == [
        ["--non-interactive", "up", "--yes", "--skip-preview", "--color", "never", "--exec-kind", "auto.local",
         "--stack", stack]]  # that student only
    config = project.settings(stack)["config"]
    assert config["lab:clientCidrs"] == ["0.0.0.0/0", "203.0.113.9/32"]  # Pulumi.dev.yaml's, and the runner
    assert (project.dir / "class-results" / stack / "result.json").exists()
    down = bash(runs(step(wf, "teardown", "./lab class destroy")), project.dir, env)
    assert down.returncode == 0, down.stderr + down.stdout
    rm = bash(runs(step(wf, "teardown", "pulumi stack rm")), project.dir, env)
    assert rm.returncode == 0, rm.stderr
    assert ["stack", "rm", stack, "--yes", "--force"] in project.calls()
    again = bash(runs(step(wf, "teardown", "pulumi stack rm")), project.dir, env)
    assert again.returncode == 0  # no stack left: nothing to remove, no failure
