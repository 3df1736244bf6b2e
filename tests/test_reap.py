"""`./lab reap` (labtools/reap.py): the backend's labs judged by their expiresAt output, the
expired ones destroyed one at a time with --yes, and the notice every ./lab command gives
with the local backend. As functions with scripted tools, then once through the real
./lab with the strict fake CLI and moto."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess

import pytest
import yaml

from labtools.reap import (EXPIRED, EXPIRING, LIVE, NO_EXPIRY, UNREAD, UNREADABLE, Destroyed, Tools, as_data,
                           judge, listing_lines, notice_lines, parse_window, reap, summary_lines)
from labtools.reap_tools import markdown, run, run_summary
from labtools import UsageError
from tests.test_lab_destroy import REGION, ec2, lab_network, vpc_exists
from tests.test_lab_stacks import ROOT, Project, moto_endpoint  # noqa: F401 (a fixture)

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
PAST, SOON, LATER = "2026-11-21T11:00:00Z", "2026-11-21T12:30:00Z", "2026-11-22T00:00:00Z"


class Backend:
    """Scripted stacks, their outputs, and destroys that answer from a script."""

    def __init__(self, outputs: dict, fails=(), listing_error: str = ""):
        self.outputs, self.fails, self.listing_error = outputs, set(fails), listing_error
        self.destroyed: list[str] = []

    def tools(self) -> Tools:
        def stacks():
            if self.listing_error:
                return None, self.listing_error
            return [{"name": name, "current": False} for name in reversed(list(self.outputs))], ""

        def outputs(stack):
            value = self.outputs[stack]
            return (None, value) if isinstance(value, str) else (value, "")

        def destroy(stack):
            self.destroyed.append(stack)
            failed = stack in self.fails
            return Destroyed(stack, 1 if failed else 0, ("pulumi destroy failed twice",) if failed else ())

        return Tools(stacks, outputs, destroy)


TWO = {"old": {"expiresAt": PAST, "clusterName": "lab-old"}, "new": {"expiresAt": LATER}}


def test_a_dry_run_destroys_nothing_and_names_the_expired_lab():
    backend = Backend(TWO)

    result = reap(False, "1h", backend.tools(), NOW)

    assert backend.destroyed == [] and result.exit_status == 0
    assert listing_lines(result) == ["2 stacks in the backend:",
                                     f"  new  live (expiresAt {LATER})",
                                     f"  old  expired (expiresAt {PAST})"]
    assert summary_lines(result) == ["Dry run: nothing was destroyed. To destroy the 1 expired lab (old): "
                                     "./lab reap --yes"]


def test_yes_destroys_only_the_expired_lab():
    backend = Backend(TWO)

    result = reap(True, "1h", backend.tools(), NOW)

    assert backend.destroyed == ["old"] and result.exit_status == 0
    assert summary_lines(result) == ["Destroyed 1: old. Failed 0: -."]


def test_a_destroy_that_fails_does_not_stop_the_next_and_fails_the_reap():
    backend = Backend({"a": {"expiresAt": PAST}, "b": {"expiresAt": PAST}, "c": {"expiresAt": LATER}}, fails={"a"})

    result = reap(True, "1h", backend.tools(), NOW)

    assert backend.destroyed == ["a", "b"] and result.exit_status == 1
    assert summary_lines(result)[0].startswith("Destroyed 1: b. Failed 1: a (exit 1)")
    assert as_data(result)["failed"] == [{"stack": "a", "exit_status": 1, "problems": ["pulumi destroy failed twice"]}]


def test_what_cannot_be_shown_to_be_an_expired_lab_is_kept():
    backend = Backend({"plain": {"url": "x"}, "typo": {"expiresAt": "tomorrow"}, "local": {"expiresAt": "2026-01-01"},
                       "number": {"expiresAt": 1767225600}, "locked": "exit 1: incorrect passphrase"})

    result = reap(True, "1h", backend.tools(), NOW)

    assert backend.destroyed == []
    assert [(lab.stack, lab.verdict) for lab in result.labs] == [
        ("local", UNREADABLE), ("locked", UNREAD), ("number", UNREADABLE), ("plain", NO_EXPIRY), ("typo", UNREADABLE)]
    lines = listing_lines(result)
    assert "  typo    kept: unreadable expiresAt 'tomorrow' (expected an ISO 8601 UTC time such as " \
           "2026-11-21T18:00:00Z)" in lines
    assert "  plain   kept: no expiresAt output (not a lab, or made before the output existed)" in lines
    assert "  locked  kept: its outputs could not be read (exit 1: incorrect passphrase)" in lines
    assert result.exit_status == 1  # an unread stack may be an expired lab
    assert reap(True, "1h", Backend({"typo": {"expiresAt": "x"}}).tools(), NOW).exit_status == 0


@pytest.mark.parametrize("raw, verdict", [
    ("2026-11-21T12:00:00Z", EXPIRED), ("2026-11-21T12:00:01Z", EXPIRING), ("2026-11-21T13:00:00Z", EXPIRING),
    ("2026-11-21T13:00:01Z", LIVE), ("2026-11-21T21:00:00+09:00", EXPIRED)])
def test_expired_at_the_instant_and_warned_within_the_window(raw, verdict):
    assert judge("s", {"expiresAt": raw}, "", NOW, parse_window("1h")).verdict == verdict


def test_the_warning_window():
    assert parse_window("90m") == parse_window("1h30m") == dt.timedelta(minutes=90)
    assert parse_window("2d") == dt.timedelta(days=2) and parse_window("0m") == dt.timedelta(0)
    for bad in ("", "1x", "h", "1.5h", "-1h"):
        with pytest.raises(UsageError, match="expected a duration such as 30m, 1h, 1h30m or 2d"):
            parse_window(bad)
    result = reap(False, "2h", Backend({"soon": {"expiresAt": SOON}}).tools(), NOW)
    assert summary_lines(result)[-1].startswith("Expires within 2h: soon")


def test_an_empty_backend_says_so_and_a_listing_that_fails_stops():
    empty = reap(True, "1h", Backend({}).tools(), NOW)
    assert empty.exit_status == 0 and listing_lines(empty) == ["no stacks in the backend: nothing to reap"]
    broken = reap(True, "1h", Backend({}, listing_error="exit 1: access denied").tools(), NOW)
    assert broken.exit_status == 2
    assert listing_lines(broken) == ["could not list the stacks of the backend (pulumi stack ls --json: exit 1: "
                                     "access denied)"]


def test_the_notice_names_only_what_needs_doing():
    result = reap(False, "1h", Backend({**TWO, "soon": {"expiresAt": SOON}}).tools(), NOW)
    assert notice_lines(result) == [
        f"lab old in this backend expired (expiresAt {PAST}): destroy it with ./lab reap --yes (every expired lab) "
        "or ./lab destroy --stack old --yes",
        f"lab soon in this backend expires within 1h (expiresAt {SOON})"]
    assert notice_lines(reap(False, "1h", Backend({"new": TWO["new"]}).tools(), NOW)) == []


def args(*argv: str) -> argparse.Namespace:
    from labtools.__main__ import build_parser
    return build_parser("reap").parse_args(["reap", *argv])


def test_the_command_keeps_stdout_for_json_and_a_notice_never_fails(capsys):
    status = run(args("--yes", "--json"), Backend(TWO).tools(), NOW)
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert status == 0 and data["destroyed"] == ["old"] and data["exit_status"] == 0
    assert [lab["stack"] for lab in data["labs"]] == ["new", "old"]
    assert "2 stacks in the backend:" in err and "==> destroying expired lab old (1 of 1)" in err

    broken = Backend(TWO)
    broken.tools = lambda: Tools(lambda: 1 / 0, None, None)
    assert run(args("--notice"), broken.tools(), NOW) == 0
    assert "could not check the backend for expired labs: division by zero" in capsys.readouterr().err


def test_the_job_summary(tmp_path, capsys):
    backend = Backend({"a": {"expiresAt": PAST}, "b": {"expiresAt": PAST}, "s": {"expiresAt": SOON}, "x": {}},
                      fails={"a"})
    text = markdown(json.loads(json.dumps(as_data(reap(True, "1h", backend.tools(), NOW)))))
    assert "| a | **destroy failed** (exit 1): pulumi destroy failed twice |" in text
    assert "| b | destroyed |" in text and f"| s | expires within 1h (expiresAt {SOON}) |" in text
    assert "- destroyed: b\n- failed: a\n- expired: a, b\n- expires within 1h: s" in text
    assert run_summary(argparse.Namespace(report=str(tmp_path / "missing.json"))) == 0
    assert "The reaper left no readable report" in capsys.readouterr().out


# --------------------------------------------------------------------------
# Through ./lab, with the default local backend


@pytest.fixture
def project(tmp_path, moto_endpoint):  # noqa: F811
    project = Project(tmp_path, moto_endpoint)
    del project.env["PULUMI_BACKEND_URL"]  # ./lab's own default, .lab-state beside it
    return project


def pulumi(project: Project, *argv: str, **env: str) -> subprocess.CompletedProcess:
    backend = f"file://{project.dir.resolve()}/.lab-state"
    (project.dir / ".lab-state").mkdir(exist_ok=True)
    return subprocess.run(["pulumi", *argv], cwd=project.dir, capture_output=True, text=True, timeout=60,
                          env={**project.env, "PULUMI_BACKEND_URL": backend, **env})


def a_lab(project: Project, stack: str, expires_at: str | None) -> dict:
    shutil.copy2(project.dir / "Pulumi.dev.yaml", project.dir / f"Pulumi.{stack}.yaml")
    assert pulumi(project, "stack", "init", stack).returncode == 0
    if expires_at is None:
        return {}
    net = lab_network(project, f"lab-{stack}")
    outputs = {"clusterName": f"lab-{stack}", "region": REGION, "vpcId": net["vpc"], "expiresAt": expires_at}
    assert pulumi(project, "up", "--stack", stack, "--yes", FAKE_PULUMI_UP_OUTPUTS=json.dumps(outputs)).returncode == 0
    return net


def test_reap_through_the_front_door(project):
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    nets = {stack: a_lab(project, stack, when) for stack, when in
            [("old-1", "2020-01-01T00:00:00Z"), ("old-2", "2020-01-02T00:00:00Z"), ("soon", soon), ("plain", None)]}
    # A group made by hand in old-1's VPC: its destroy is refused twice, and old-2's still runs.
    ec2(project).create_security_group(GroupName="by-hand", Description="by hand", VpcId=nets["old-1"]["vpc"])

    dry = project.lab("reap")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[:5] == [
        "4 stacks in the backend:", "  old-1  expired (expiresAt 2020-01-01T00:00:00Z)",
        "  old-2  expired (expiresAt 2020-01-02T00:00:00Z)",
        "  plain  kept: no expiresAt output (not a lab, or made before the output existed)",
        f"  soon   expires within 1h (expiresAt {soon})"]
    assert not any(c[0] == "destroy" for c in project.calls())
    assert "in this backend expired" not in dry.stderr  # the list says it once

    notice = project.lab("smoke", "--stack", "never")  # any command that uses the backend
    assert "==> lab old-1 in this backend expired (expiresAt 2020-01-01T00:00:00Z): destroy it with " \
           "./lab reap --yes" in notice.stderr
    assert f"==> lab soon in this backend expires within 1h (expiresAt {soon})" in notice.stderr

    # The reaper workflow's own two steps, as Actions runs them (bash -e), on this backend.
    result, summary = reaper_steps(project)

    assert result.returncode == 1
    assert [c[:3] for c in project.calls() if c[0] == "destroy"] == [["destroy", "--stack", "old-1"]] * 2 + [
        ["destroy", "--stack", "old-2"]]
    report = json.loads((project.dir / "reap.json").read_text())
    assert report["destroyed"] == ["old-2"] and [f["stack"] for f in report["failed"]] == ["old-1"]
    assert "Destroyed 1: old-2. Failed 1: old-1 (exit 1)." in result.stderr
    assert "| old-2 | destroyed |" in summary and "- expires within 1h: soon" in summary
    assert vpc_exists(project, nets["old-1"]["vpc"]) and not vpc_exists(project, nets["old-2"]["vpc"])
    assert vpc_exists(project, nets["soon"]["vpc"])
    assert json.loads(pulumi(project, "stack", "output", "--json", "--stack", "soon").stdout)["expiresAt"] == soon


def reaper_steps(project: Project) -> tuple[subprocess.CompletedProcess, str]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "reaper.yml").read_text())
    steps = [s["run"] for s in workflow["jobs"]["reap"]["steps"] if "reap" in str(s.get("run"))]
    summary = project.dir / "summary.md"
    env = {**project.env, "GITHUB_STEP_SUMMARY": str(summary), "PATH": f"{ROOT / 'venv' / 'bin'}:{project.env['PATH']}",
           "PULUMI_BACKEND_URL": f"file://{project.dir.resolve()}/.lab-state"}
    result = subprocess.run(["bash", "-e", "-c", steps[0]], cwd=project.dir, env=env, capture_output=True, text=True,
                            timeout=300)
    subprocess.run(["bash", "-e", "-c", steps[1]], cwd=project.dir, env=env, check=True, timeout=60)
    return result, summary.read_text()
