"""`./lab kubeconfig`, `./lab env` and `./lab tour --stack` against the strict fake Pulumi CLI:
the secret kubeconfig lands in a file of mode 600 and is never printed, plain `pulumi` after
`eval "$(./lab env)"` works on the lab's own state and passphrase, and the tour reads the
outputs without secrets."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from labtools import reach
from tests.test_lab_stacks import ROOT, Project

SECRET = "token-that-must-never-be-printed"
KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [
    {"name": "eks-test", "cluster": {"server": "https://eks.invalid"}}], "users": [{"name": "u", "user": {"token": SECRET}}]})


def lab_project(tmp: Path) -> Project:
    p = Project(tmp, "http://127.0.0.1:9")  # no AWS call on these paths
    (p.dir / "smoke_tests").symlink_to(ROOT / "smoke_tests")  # the tour reuses the smoke tests' code
    return p


@pytest.fixture
def project(tmp_path):
    return lab_project(tmp_path)


def built(project: Project, stack: str, outputs: dict, secrets: str = "kubeconfig", env: dict | None = None) -> None:
    """A stack whose `up` exported `outputs`, those named in `secrets` as secrets."""
    env = {**project.env, **(env or {}), "FAKE_PULUMI_UP_OUTPUTS": json.dumps(outputs), "FAKE_PULUMI_UP_SECRETS": secrets}
    for args in (["stack", "init", stack], ["up", "--yes", "--stack", stack]):
        done = subprocess.run(["pulumi", *args], cwd=project.dir, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


def shell(project: Project, script: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", script], cwd=project.dir, env={**project.env, **env},
                          capture_output=True, text=True, timeout=300)


def test_the_fake_cli_blinds_secrets_as_pulumi_does(project):
    built(project, "s1", {"kubeconfig": KUBECONFIG, "clusterName": "eks-test"})
    assert project.pulumi("stack", "output", "kubeconfig", "--stack", "s1").stdout == "[secret]\n"
    assert json.loads(project.pulumi("stack", "output", "--json", "--stack", "s1").stdout) == {
        "kubeconfig": "[secret]", "clusterName": "eks-test"}
    assert project.pulumi("stack", "output", "kubeconfig", "--show-secrets", "--stack", "s1").stdout == KUBECONFIG + "\n"
    no_phrase = shell(project, "unset PULUMI_CONFIG_PASSPHRASE; pulumi stack output kubeconfig --show-secrets --stack s1")
    assert no_phrase.returncode != 0 and "passphrase must be set" in no_phrase.stderr


def test_kubeconfig_is_written_with_mode_600_and_never_printed(project):
    built(project, "s1", {"kubeconfig": KUBECONFIG})
    path = project.dir / ".lab-state" / "s1.kubeconfig"
    path.parent.mkdir()
    path.write_text("an older, world-readable file")
    path.chmod(0o644)

    done = shell(project, "umask 000; ./lab kubeconfig --stack s1")  # a umask that narrows nothing

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"export KUBECONFIG={shlex.quote(str(path))}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == KUBECONFIG + "\n"
    assert SECRET not in done.stdout + done.stderr
    assert ["stack", "output", "kubeconfig", "--show-secrets", "--stack", "s1"] in project.calls()
    used = shell(project, 'eval "$(./lab kubeconfig --stack s1 2>/dev/null)"; cat "$KUBECONFIG"')
    assert used.stdout == KUBECONFIG + "\n"


def test_the_file_is_private_from_its_creation(tmp_path, monkeypatch):
    """No moment with a wider mode: created by os.open with 600 under a umask of 0."""
    created = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, flags, mode=0o777, **kw: (
        created.append((Path(p).parent, flags & os.O_CREAT and mode)), real_open(p, flags, mode, **kw))[1])
    old = os.umask(0)
    try:
        reach.write_private(tmp_path / "state" / "dev.kubeconfig", "secret\n")
    finally:
        os.umask(old)
    assert [mode for parent, mode in created if parent == tmp_path / "state"] == [0o600]
    assert stat.S_IMODE((tmp_path / "state" / "dev.kubeconfig").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["dev.kubeconfig"]  # no temporary file left


def test_kubeconfig_says_what_to_do_without_a_stack_or_its_output(project):
    built(project, "half", {"clusterName": "eks-test"}, secrets="")
    missing = project.lab("kubeconfig", "--stack", "nope")
    assert missing.returncode == 2 and "--stack nope: no such stack" in missing.stderr
    assert "./lab up --stack nope" in missing.stderr
    half = project.lab("kubeconfig", "--stack", "half")
    assert half.returncode == 2 and "has no kubeconfig output yet" in half.stderr and half.stdout == ""
    assert not (project.dir / ".lab-state" / "half.kubeconfig").exists()


def test_env_points_plain_pulumi_at_the_labs_state_and_passphrase(tmp_path):
    (tmp_path / "a folder with spaces").mkdir()  # the exports must survive the shell's word splitting
    project = lab_project(tmp_path / "a folder with spaces")
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE"):  # ./lab's own defaults
        project.env.pop(name)
    state = project.dir / ".lab-state"
    printed = project.lab("env")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.splitlines() == [
        f"export PULUMI_BACKEND_URL={shlex.quote(f'file://{state}')}",
        f"export PULUMI_CONFIG_PASSPHRASE_FILE={shlex.quote(str(state / 'passphrase'))}"]
    assert (state / "passphrase").read_text().strip() not in printed.stdout + printed.stderr
    plain = "pulumi stack init s3 && pulumi up --yes --stack s3"
    outputs = {"FAKE_PULUMI_UP_OUTPUTS": json.dumps({"kubeconfig": KUBECONFIG}), "FAKE_PULUMI_UP_SECRETS": "kubeconfig"}
    assert shell(project, plain, **outputs).returncode != 0  # without the exports: not the lab's state
    done = shell(project, f'eval "$(./lab env)" && {plain}', **outputs)
    assert done.returncode == 0, done.stderr
    # ./lab reads what plain pulumi wrote: the same backend, the same passphrase (its salt).
    assert project.lab("kubeconfig", "--stack", "s3").returncode == 0


def test_env_with_a_passphrase_in_the_environment_prints_no_passphrase(project):
    done = project.lab("env")  # the Project sets PULUMI_CONFIG_PASSPHRASE
    assert done.returncode == 0 and done.stdout == f"export PULUMI_BACKEND_URL=file://{project.backend}\n"
    assert "lab-tests" not in done.stdout and "PULUMI_CONFIG_PASSPHRASE is set" in done.stderr


def test_tour_reads_the_stacks_outputs_without_secrets(project):
    golden = json.loads((ROOT / "tests" / "golden" / "outputs.json").read_text())["dev"]
    built(project, "s1", {**golden, "kubeconfig": KUBECONFIG})
    done = project.lab("tour", "--stack", "s1", "--json", "--node-address", "203.0.113.10")
    assert done.returncode == 0, done.stderr
    assert ["stack", "output", "--json", "--stack", "s1"] in project.calls()
    assert not [c for c in project.calls() if "--show-secrets" in c] and SECRET not in done.stdout
    report = json.loads(done.stdout)
    assert report["source"] == "--stack s1" and report["caFiles"] == {
        "traefik": str(Path(".lab-state") / "s1-traefik-ca.pem")}
    assert (project.dir / ".lab-state" / "s1-traefik-ca.pem").read_text() == golden["entrypoints"]["traefik"]["caCertificate"]
