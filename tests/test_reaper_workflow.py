"""Offline checks of .github/workflows/reaper.yml, as tests/test_workflows.py checks the lab
workflow: the vendored GitHub workflow schema, one region from the stack settings, pinned
actions, and what keeps the reaper safe and useful: hourly and by hand, one at a time, the
lab workflow's OIDC role for long enough, `./lab reap --yes` interrupted before it is
killed, and a job summary whatever happened. Each check is shown to fail on a broken copy."""

from __future__ import annotations

import copy
import re
from typing import Callable

import pytest
import yaml

from tests.test_workflows import (LAB, WORKFLOWS, check_job_timeouts, check_one_region, check_permissions,
                                  check_pins, find_steps, load, set_key, triggers, validate_schema)

REAPER = WORKFLOWS / "reaper.yml"
JOB = "reap"


def job(workflow: dict) -> dict:
    return workflow.get("jobs", {}).get(JOB, {})


def step(workflow: dict, needle: str) -> dict:
    found = find_steps(job(workflow), needle)
    return job(workflow)["steps"][found[0]] if found else {}


def check_triggers(workflow: dict) -> list[str]:
    on = triggers(workflow)
    problems = [] if "workflow_dispatch" in on else ["no workflow_dispatch trigger"]
    crons = [entry.get("cron", "") for entry in on.get("schedule") or []]
    if not any(re.fullmatch(r"([0-5]?\d) \* \* \* \*", c) for c in crons):
        problems.append(f"no hourly schedule (cron 'M * * * *'), got {crons}")
    if set(on) - {"workflow_dispatch", "schedule"}:
        problems.append(f"unexpected triggers {sorted(set(on) - {'workflow_dispatch', 'schedule'})}")
    return problems


def check_one_reaper(workflow: dict) -> list[str]:
    conc = workflow.get("concurrency")
    if not isinstance(conc, dict) or not conc.get("group"):
        return ["no concurrency group: two reapers could destroy one lab at once"]
    problems = []
    if conc.get("cancel-in-progress") is not False:
        problems.append("cancel-in-progress must be false: a cancelled reaper may stop mid-destroy")
    if conc["group"] == load(LAB).get("concurrency", {}).get("group"):
        problems.append("the lab workflow's concurrency group: a pending reaper would cancel a pending lab run")
    return problems


def check_credentials(workflow: dict) -> list[str]:
    """The lab workflow's role by OIDC, for the whole job; the shared backend; its passphrase."""
    reap, problems = job(workflow), []
    creds = step(workflow, "aws-actions/configure-aws-credentials")
    if "vars.AWS_ROLE_ARN" not in str((creds.get("with") or {}).get("role-to-assume")):
        problems.append("AWS credentials must come from OIDC with role vars.AWS_ROLE_ARN")
    seconds = int((creds.get("with") or {}).get("role-duration-seconds", 3600))
    if seconds < 60 * int(reap.get("timeout-minutes", 0)):
        problems.append(f"role-duration-seconds {seconds} is shorter than the job's {reap.get('timeout-minutes')} min")
    creds_id = creds.get("id")
    if not any(creds_id and f"steps.{creds_id}.outcome == 'failure'" in str(s.get("if"))
               and "MaxSessionDuration" in str(s.get("run")) for s in reap.get("steps", [])):
        problems.append("no step explains a session refused for MaxSessionDuration")
    env = {**workflow.get("env", {}), **reap.get("env", {})}
    if "vars.PULUMI_BACKEND_URL" not in str(env.get("PULUMI_BACKEND_URL")):
        problems.append("PULUMI_BACKEND_URL does not come from vars.PULUMI_BACKEND_URL (the shared backend)")
    if "vars.PULUMI_BACKEND_URL != ''" not in str(reap.get("if")):
        problems.append("the job runs without a shared backend (a runner's own is empty)")
    if "secrets.PULUMI_CONFIG_PASSPHRASE" not in str(env.get("PULUMI_CONFIG_PASSPHRASE")):
        problems.append("PULUMI_CONFIG_PASSPHRASE does not come from secrets")
    if not step(workflow, "pulumi/actions"):
        problems.append("no step installs the Pulumi CLI")
    return problems


def check_reap(workflow: dict) -> list[str]:
    """./lab reap --yes --json into a file, under SIGINT before the step's timeout; the summary
    from that file whatever happened; the step timeouts within the job's."""
    reap, problems = job(workflow), []
    run_step = step(workflow, "./lab reap")
    run = str(run_step.get("run", ""))
    m = re.search(r"timeout --signal=INT --kill-after=(\d+)m (\d+)m \./lab reap --yes --json > (\S+)", run)
    if not m:
        return ["no step runs timeout --signal=INT --kill-after=Nm Mm ./lab reap --yes --json > FILE"]
    if int(m.group(1)) + int(m.group(2)) >= int(run_step.get("timeout-minutes", 0)):
        problems.append(f"SIGINT after {m.group(2)} + {m.group(1)} min grace does not end before the step's "
                        f"{run_step.get('timeout-minutes')} min")
    summary = step(workflow, "labtools reap-summary")
    if f"reap-summary {m.group(3)} >> \"$GITHUB_STEP_SUMMARY\"" not in str(summary.get("run")):
        problems.append(f"no step renders {m.group(3)} into $GITHUB_STEP_SUMMARY")
    elif "always()" not in str(summary.get("if")):
        problems.append("the job summary step runs without always() (a failed reap is when it matters)")
    total = sum(s.get("timeout-minutes", 0) for s in reap.get("steps", []))
    if total > reap.get("timeout-minutes", 0):
        problems.append(f"step timeouts add up to {total} min, more than the job's {reap.get('timeout-minutes')}")
    return problems


CHECKS = [check_job_timeouts, check_permissions, check_pins, check_one_region, check_triggers, check_one_reaper,
          check_credentials, check_reap]


def test_schema():
    result = validate_schema(REAPER)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_reaper_workflow(check):
    assert check(load(REAPER)) == []


def set_step(needle: str, key: str, value) -> Callable[[dict], None]:
    def mutate(wf: dict) -> None:
        if value is KeyError:
            step(wf, needle).pop(key)
        else:
            step(wf, needle)[key] = value
    return mutate


BROKEN = {
    "daily": (lambda wf: triggers(wf).update(schedule=[{"cron": "17 3 * * *"}]), check_triggers, "hourly"),
    "not by hand": (lambda wf: triggers(wf).pop("workflow_dispatch"), check_triggers, "workflow_dispatch"),
    "no group": (set_key(["concurrency"], KeyError), check_one_reaper, "no concurrency group"),
    "the lab's group": (set_key(["concurrency", "group"], "eks-networking-lab"), check_one_reaper, "pending lab run"),
    "cancelled": (set_key(["concurrency", "cancel-in-progress"], True), check_one_reaper, "cancel-in-progress"),
    "no id-token": (set_key(["permissions", "id-token"], "read"), check_permissions, "id-token"),
    "static keys": (lambda wf: step(wf, "configure-aws-credentials")["with"].pop("role-to-assume"),
                    check_credentials, "vars.AWS_ROLE_ARN"),
    "one-hour session": (lambda wf: step(wf, "configure-aws-credentials")["with"].update(
        {"role-duration-seconds": 3600}), check_credentials, "shorter than the job"),
    "local backend": (set_key(["env", "PULUMI_BACKEND_URL"], "file://./state"), check_credentials, "shared backend"),
    "always runs": (set_key(["jobs", JOB, "if"], "always()"), check_credentials, "without a shared backend"),
    "region from a variable": (set_key(["env", "AWS_REGION"], "${{ vars.AWS_REGION }}"), check_one_region,
                               "second source"),
    "killed, not interrupted": (set_step("./lab reap", "run", "./lab reap --yes --json > reap.json"), check_reap,
                                "no step runs timeout"),
    "a dry run": (set_step("./lab reap", "run", "timeout --signal=INT --kill-after=5m 100m ./lab reap --json > r"),
                  check_reap, "no step runs timeout"),
    "grace past the step": (set_step("./lab reap", "timeout-minutes", 104), check_reap, "does not end before"),
    "summary only on success": (set_step("reap-summary", "if", "success()"), check_reap, "without always()"),
    "summary of another file": (set_step("reap-summary", "run", "python -m labtools reap-summary x.json"),
                                check_reap, "no step renders reap.json"),
    "no job timeout": (set_key(["jobs", JOB, "timeout-minutes"], KeyError), check_job_timeouts, "job reap"),
    "unpinned": (set_step("pulumi/actions", "uses", "pulumi/actions@main"), check_pins, "pulumi/actions@main"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_checks_catch_a_broken_reaper_workflow(name):
    mutate, check, expected = BROKEN[name]
    broken = copy.deepcopy(load(REAPER))
    mutate(broken)

    assert any(expected in p for p in check(broken)), check(broken)


def test_schema_rejects_a_broken_reaper(tmp_path):
    broken = load(REAPER)
    broken["jobs"][JOB].pop("runs-on")
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump({("on" if k is True else k): v for k, v in broken.items()}))
    assert validate_schema(path).returncode != 0
