"""One student's lab: up and its outputs through the Pulumi Automation API, the smoke suite and the
teardown as the commands `./lab smoke` and `./lab destroy` run.

Every lab is its own stack of the project, in the backend `./lab` sets (PULUMI_BACKEND_URL and
the passphrase reach the CLI through the workspace's env_vars). Destroy goes through
`python -m labtools teardown`, the very command `./lab destroy` runs (destroy, sweep, a retry
after a refusal, audit), as a process of its own: it traps Ctrl-C for Pulumi, which only a
main thread can.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from pulumi import automation as auto

from labtools.class_report import folder, iso, record
from labtools.roster import Roster, Student, lab_config, lab_settings
from labtools.stack_file import ROOT

# A stack file's keys that belong to its own secrets, never copied from or over another's.
OWN_KEYS = ("encryptionsalt", "encryptedkey", "secretsprovider")
# Handed to each workspace by name. PULUMI_CONFIG_PASSPHRASE is not among them: a workspace's repr
# shows its env_vars, and the CLI inherits it from this process anyway.
BACKEND_VARS = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE_FILE")


@dataclass
class Context:
    roster: Roster
    project: Path
    """Where Pulumi.yaml is: the workspace's work_dir, where each lab's Pulumi.<stack>.yaml goes."""
    out: Path
    """The class's results: <out>/<stack>/ per student."""
    command: Any = None
    """One pulumi_command for every workspace (its `pulumi version` check runs once)."""
    admit: tuple[str, ...] = ()
    smoke_args: tuple[str, ...] = ()
    stop: threading.Event = field(default_factory=threading.Event)
    # `stack select` and `stack init` also select the stack in the project's workspace file,
    # which concurrent CLIs would write at once; every later command names its --stack.
    select_lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self) -> dict[str, str]:
        return {k: os.environ[k] for k in BACKEND_VARS if os.environ.get(k)}


@dataclass(frozen=True)
class Outcome:
    state: str
    minutes: float
    detail: str = ""
    log: str | None = None


def write_settings(ctx: Context, student: Student) -> Path:
    """Pulumi.<stack>.yaml from the roster and Pulumi.dev.yaml, each run (a change of either reaches
    every lab at its next up); an existing file keeps its own encryption salt."""
    path = ctx.project / f"Pulumi.{student.stack}.yaml"
    kept = {}
    if path.exists():
        old = yaml.safe_load(path.read_text()) or {}
        kept = {k: old[k] for k in OWN_KEYS if k in old}
    data = {**kept, "config": lab_config(ctx.roster, student, ctx.admit)}
    path.write_text("# Written by ./lab class from the roster and Pulumi.dev.yaml; edits are overwritten.\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def workspace(ctx: Context) -> auto.LocalWorkspaceOptions:
    return auto.LocalWorkspaceOptions(pulumi_command=ctx.command, env_vars=ctx.env())


def error_line(err: auto.CommandError) -> str:
    """What Pulumi said went wrong: its first `error:` line other than the closing "update failed"
    (a resource's error comes first, in its diagnostics), else its last line."""
    lines = [ln.strip().removeprefix("stdout:").removeprefix("stderr:").strip() for ln in str(err).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("code:")]
    errors = [ln for ln in lines if "error:" in ln]
    specific = [ln for ln in errors if not ln.endswith("error: update failed")]
    return ((specific or errors or lines or [type(err).__name__])[0])[:300]


def minutes_since(start: float) -> float:
    return round((time.monotonic() - start) / 60, 1)


def up_lab(ctx: Context, student: Student) -> Outcome:
    start, where = time.monotonic(), folder(ctx.out, student)
    write_settings(ctx, student)
    with ctx.select_lock:
        stack = auto.create_or_select_stack(student.stack, work_dir=str(ctx.project), opts=workspace(ctx))
    try:
        with open(where / "up.log", "w") as fh:  # Pulumi's own lines: K labs at once would interleave
            def log(line: str) -> None:
                fh.write(line + "\n")
                fh.flush()
            result = stack.up(color="never", on_output=log, on_error=log)
    except auto.CommandError as err:
        state = "interrupted" if ctx.stop.is_set() else "failed"
        outcome = Outcome(state, minutes_since(start), error_line(err))
        record(ctx.out, student, "up", {"state": state, "minutes": outcome.minutes, "error": outcome.detail,
                                        "log": "up.log", "finishedAt": iso(now())})
        return outcome
    outputs = {k: v.value for k, v in result.outputs.items()}
    write_kubeconfig(folder(ctx.out, student), outputs.get("kubeconfig"))
    started = result.summary.start_time.replace(tzinfo=dt.timezone.utc)
    expires = outputs.get("expiresAt") or iso(lab_settings(ctx.roster, student, now=started,
                                                           admit=ctx.admit).expires_at)
    outcome = Outcome("ready", minutes_since(start))
    record(ctx.out, student, "up", {"state": "ready", "minutes": outcome.minutes, "error": None, "log": "up.log",
                                    "finishedAt": iso(now())},
           createdAt=iso(created_at(stack, started)), expiresAt=expires,
           hourlyCostUsd=outputs.get("estimatedHourlyCostUsd"), region=outputs.get("region"),
           entrypoints=entry_summary(outputs.get("entrypoints")))
    return outcome


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


HISTORY_PAGE = 10  # the CLI's own page size (stack_history.go)


def created_at(stack: auto.Stack, fallback: dt.datetime) -> dt.datetime:
    """When the lab was made: its first update since its last destroy (the stack's history, newest
    first, a page at a time)."""
    first, page = fallback, 1
    while True:
        updates = stack.history(page_size=HISTORY_PAGE, page=page, show_secrets=False)
        for update in updates:
            if update.kind == "destroy" and update.result == "succeeded":
                return first
            if update.kind == "update":
                first = update.start_time.replace(tzinfo=dt.timezone.utc)
        if len(updates) < HISTORY_PAGE:
            return first
        page += 1


def entry_summary(entrypoints: Any) -> dict[str, dict[str, Any]]:
    """Where each entry point is, for people (no CA certificate, no routes)."""
    if not isinstance(entrypoints, dict):
        return {}
    return {name: {k: e[k] for k in ("url", "nodePort", "layer") if k in e}
            for name, e in sorted(entrypoints.items()) if isinstance(e, dict)}


def write_kubeconfig(where: Path, kubeconfig: Any) -> None:
    """Mode 600 from the moment it exists, as ./lab kubeconfig writes it."""
    if not kubeconfig:
        return
    text = kubeconfig if isinstance(kubeconfig, str) else json.dumps(kubeconfig)
    path = where / "kubeconfig"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def smoke_lab(ctx: Context, student: Student) -> Outcome:
    start, where = time.monotonic(), folder(ctx.out, student)
    try:
        with ctx.select_lock:
            stack = auto.select_stack(student.stack, work_dir=str(ctx.project), opts=workspace(ctx))
        outputs = {k: v.value for k, v in stack.outputs().items()}
    except auto.StackNotFoundError:
        outputs = {}
    if not outputs.get("entrypoints"):
        outcome = Outcome("no lab", minutes_since(start), "no outputs: the lab is not up (./lab class up first)")
        record(ctx.out, student, "smoke", {"verdict": "no lab", "minutes": outcome.minutes, "report": None})
        return outcome
    secret = where / "outputs.json"  # the kubeconfig is in it: mode 600, removed after the run
    secret.unlink(missing_ok=True)
    with os.fdopen(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
        json.dump(outputs, fh)
    argv = [sys.executable, "-m", "pytest", "smoke_tests", "--outputs", str(secret), "-p", "no:cacheprovider",
            f"--html={where / 'smoke-report.html'}", "--self-contained-html",
            f"--junitxml={where / 'smoke.junit.xml'}", f"--report-json={where / 'smoke-summary.json'}",
            *ctx.smoke_args]
    try:
        with open(where / "smoke.log", "w") as fh:
            status = subprocess.run(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    check=False).returncode
    finally:
        secret.unlink(missing_ok=True)
    verdict = {0: "passed", 1: "failed"}.get(status, "error")
    outcome = Outcome(verdict, minutes_since(start), "" if status == 0 else f"pytest exit {status}", "smoke.log")
    record(ctx.out, student, "smoke", {"verdict": verdict, "minutes": outcome.minutes, "log": "smoke.log",
                                       "report": "smoke-report.html" if (where / "smoke-report.html").exists()
                                       else None})
    return outcome


def destroy_lab(ctx: Context, student: Student) -> Outcome:
    start, where = time.monotonic(), folder(ctx.out, student)
    try:
        with ctx.select_lock:
            auto.select_stack(student.stack, work_dir=str(ctx.project), opts=workspace(ctx))
    except auto.StackNotFoundError:
        outcome = Outcome("no stack", minutes_since(start), f"no stack {student.stack} in the backend: nothing to "
                          f"destroy (./lab audit --cluster {student.cluster_name} --region R checks AWS)")
        record(ctx.out, student, "destroy", {"state": "no stack", "minutes": outcome.minutes,
                                             "error": outcome.detail, "finishedAt": iso(now())})
        return outcome
    write_settings(ctx, student)  # after an up that stopped midway, teardown reads the cluster from it
    argv = [sys.executable, "-m", "labtools", "teardown", "--stack", student.stack, "--json", "--yes"]
    with open(where / "destroy.log", "w") as fh:
        done = subprocess.run(argv, cwd=ctx.project, stdout=subprocess.PIPE, stderr=fh, stdin=subprocess.DEVNULL,
                              text=True, check=False)
    try:
        problems = json.loads(done.stdout)["problems"]
    except (ValueError, KeyError, TypeError):
        problems = [f"the teardown ended with exit {done.returncode} before its report (destroy.log)"]
    state = "destroyed" if done.returncode == 0 and not problems else "destroy failed"
    if state == "destroyed":
        (where / "kubeconfig").unlink(missing_ok=True)  # its cluster is gone
    outcome = Outcome(state, minutes_since(start), "; ".join(problems), "destroy.log")
    record(ctx.out, student, "destroy", {"state": state, "minutes": outcome.minutes,
                                         "error": outcome.detail or None, "log": "destroy.log",
                                         "finishedAt": iso(now())})
    return outcome


OPERATIONS: dict[str, Callable[[Context, Student], Outcome]] = {
    "up": up_lab, "smoke": smoke_lab, "destroy": destroy_lab}
# What a step that broke before its end leaves in the student's result file.
FAILED = {"up": ("up", "state", "failed"), "smoke": ("smoke", "verdict", "error"),
          "destroy": ("destroy", "state", "destroy failed")}


def record_failure(ctx: Context, student: Student, command: str, outcome: Outcome) -> None:
    step, key, value = FAILED[command]
    record(ctx.out, student, step, {key: value, "minutes": outcome.minutes, "error": outcome.detail,
                                    "finishedAt": iso(now())})
