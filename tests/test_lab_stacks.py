"""`./lab up`/`destroy` against a fake Pulumi CLI as strict as the real one, and AWS in moto.

Each test runs the real `./lab` script in a copy of the project (so no stack file
lands in the repository), with the fake CLI of tests/fake_pulumi first on PATH,
a fresh file backend, and a moto server standing in for STS, EC2, ELB and EKS.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import urllib.request
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parent.parent
FAKE = ROOT / "tests" / "fake_pulumi" / "pulumi"
STS_REPLY = '{"UserId": "AIDALAB", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/lab-tests"}'

pytestmark = pytest.mark.skipif(not (ROOT / "venv" / "bin" / "python").exists(),
                                reason="needs ./venv (made by ./lab test)")

# What ./lab did before: `--copy-config-from dev` in a backend without dev.
OLD_SELECT = '''select_stack() {
  if ! pulumi stack select "$STACK" >/dev/null 2>&1; then
    if [ "$STACK" = dev ] || [ -f "Pulumi.$STACK.yaml" ]; then
      pulumi stack init "$STACK" >/dev/null
    else
      pulumi stack init "$STACK" --copy-config-from dev >/dev/null 2>&1 \\
        || { pulumi stack init "$STACK" >/dev/null; cp Pulumi.dev.yaml "Pulumi.$STACK.yaml"; }
    fi
  fi
}
'''


@pytest.fixture(scope="module")
def moto_endpoint(moto_models):
    # werkzeug logs every request at INFO, and pytest's log capture formats each record: thousands
    # a module, and a failing test's report buried under "POST / HTTP/1.1" 200 lines.
    requests_log = logging.getLogger("werkzeug")
    level = requests_log.level
    requests_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # moto's backends are global to the process: an earlier module's server (or mock_aws) left
    # its VPCs and clusters there. A module starts from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
    yield endpoint
    server.stop()
    requests_log.setLevel(level)


class Project:
    """A copy of the project's front door with its own backend and a fake CLI."""

    def __init__(self, tmp: Path, endpoint: str):
        self.dir = tmp / "project"
        self.dir.mkdir()
        for name in ("lab", "Pulumi.yaml", "requirements.txt", "requirements-dev.txt"):
            shutil.copy2(ROOT / name, self.dir / name)
        shutil.copy2(ROOT / "tests" / "settings" / "Pulumi.dev.yaml", self.dir / "Pulumi.dev.yaml")
        for name in ("venv", "stacks", "components", "labtools", "testapp"):
            (self.dir / name).symlink_to(ROOT / name)
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "pulumi").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
        (bin_dir / "pulumi").chmod(0o755)
        # pulumi-eks's minimum is checked by ./lab; this one passes (tests/test_lab_script.py tries others),
        # and so do its credentials (`aws sts get-caller-identity`).
        (bin_dir / "aws").write_text(f"#!/bin/sh\n[ \"$1\" = sts ] && echo '{STS_REPLY}' && exit 0\n"
                                     "echo 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64'\n")
        (bin_dir / "aws").chmod(0o755)
        # The interpreter the virtualenv was made from, as python3: a version manager's shim (pyenv's
        # costs ~0.1 s of CPU a call) is this machine's, not the lab's.
        (bin_dir / "python3").symlink_to(Path(getattr(sys, "_base_executable", sys.executable)).resolve())
        self.log = tmp / "pulumi.log"
        self.backend = tmp / "backend"
        self.backend.mkdir()
        self.env = {
            "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")]),
            "HOME": str(tmp),
            "LAB_SETTINGS_DIR": str(self.dir),
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_CONFIG_PASSPHRASE": "lab-tests",
            "FAKE_PULUMI_LOG": str(self.log),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_CONFIG_FILE": str(tmp / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def lab(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(["./lab", *args], cwd=self.dir, env={**self.env, **env},
                              capture_output=True, text=True, timeout=300)

    def pulumi(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pulumi", *args], cwd=self.dir, env=self.env, capture_output=True, text=True,
                              timeout=60)

    def calls(self) -> list[list[str]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def settings(self, stack: str) -> dict:
        return yaml.safe_load((self.dir / f"Pulumi.{stack}.yaml").read_text())


@pytest.fixture
def project(tmp_path, moto_endpoint):
    return Project(tmp_path, moto_endpoint)


def ran_up(project: Project, stack: str) -> bool:
    return any(c[:3] == ["up", "--stack", stack] for c in project.calls())


# The account's preflight is the subject of the tests under "./lab up asks the account first", and
# runs in the first `up` below (a new stack, as a user's first `./lab up` makes it); where a test
# is about the stack or the teardown it is skipped (about a second of CPU for each `up`, moto's
# side included).
NO_PREFLIGHT = "--skip-preflight"


# --------------------------------------------------------------------------
# The fake CLI does what the real one does


def test_the_fake_cli_is_as_strict_as_pulumi(project):
    assert "no stack named 'ci-1' found" in project.pulumi("stack", "select", "ci-1").stderr
    copy = project.pulumi("stack", "init", "ci-1", "--copy-config-from", "dev")
    assert copy.returncode != 0 and "no stack named 'dev' found" in copy.stderr
    # ...but ci-1 was created first, as stack_init.go does:
    again = project.pulumi("stack", "init", "ci-1")
    assert again.returncode != 0 and "stack 'ci-1' already exists" in again.stderr
    assert project.pulumi("stack", "select", "ci-1").returncode == 0
    assert "does not have output property 'clusterName'" in project.pulumi(
        "stack", "output", "clusterName", "--stack", "ci-1").stderr
    assert "unknown flag: --bogus" in project.pulumi("up", "--bogus").stderr


def test_the_old_front_door_never_reached_up(project):
    script = (project.dir / "lab").read_text()
    start, end = script.index("select_stack() {"), script.index("parse_common() {")
    (project.dir / "lab").write_text(script[:start] + OLD_SELECT + "\n" + script[end:])

    result = project.lab("up", "--stack", "ci-1", "--yes", NO_PREFLIGHT)

    assert result.returncode != 0
    assert not ran_up(project, "ci-1")


# --------------------------------------------------------------------------
# ./lab up


def test_up_makes_a_new_stack_in_an_empty_backend(project):
    result = project.lab("up", "--stack", "ci-1", "--yes")

    assert result.returncode == 0, result.stderr
    assert ran_up(project, "ci-1")
    settings = project.settings("ci-1")
    dev = yaml.safe_load((project.dir / "Pulumi.dev.yaml").read_text())
    assert settings["config"] == dev["config"]
    assert settings["encryptionsalt"]
    assert "new stack ci-1: starting from the settings of Pulumi.dev.yaml" in result.stderr


def test_up_of_dev_in_an_empty_backend_and_then_again(project):
    assert project.lab("up", "--yes", NO_PREFLIGHT).returncode == 0
    assert project.lab("up", "--yes", NO_PREFLIGHT).returncode == 0
    inits = [c for c in project.calls() if c[:2] == ["stack", "init"]]
    assert inits == [["stack", "init", "dev"]]
    assert [c[:3] for c in project.calls() if c[0] == "up"] == [["up", "--stack", "dev"]] * 2


def test_another_stacks_encryption_salt_is_not_copied(project):
    dev = project.dir / "Pulumi.dev.yaml"
    dev.write_text("encryptionsalt: v1:0011223344556677:not-this-passphrase\n" + dev.read_text())

    result = project.lab("up", "--stack", "ci-2", "--yes", NO_PREFLIGHT)

    assert result.returncode == 0, result.stderr
    assert project.settings("ci-2")["encryptionsalt"] != "v1:0011223344556677:not-this-passphrase"


def test_secret_settings_are_not_copied_silently(project):
    dev = project.dir / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text() + "  lab:token:\n    secure: v1:abc\n")

    result = project.lab("up", "--stack", "ci-3", "--yes")

    assert result.returncode == 2
    assert "holds secret values" in result.stderr and not ran_up(project, "ci-3")


def test_config_given_to_up_is_saved_with_the_stack(project):
    result = project.lab("up", "--stack", "ci-4", "--yes", NO_PREFLIGHT, "-c", "lab:clusterName=lab-ci-4",
                         "-c", 'lab:clientCidrs=["203.0.113.7/32"]')

    assert result.returncode == 0, result.stderr
    config = project.settings("ci-4")["config"]
    assert config["lab:clusterName"] == "lab-ci-4"
    assert json.loads(config["lab:clientCidrs"]) == ["203.0.113.7/32"]


# --------------------------------------------------------------------------
# ./lab up asks the account first


@pytest.fixture
def full_region(moto_endpoint):
    """us-west-2 with its 5 VPCs used (moto's default one and 4 more); the other tests use ap-northeast-2."""
    ec2 = boto3.client("ec2", region_name="us-west-2", endpoint_url=moto_endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    made = [ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16")["Vpc"]["VpcId"] for i in range(4)]
    yield ["-c", "aws:region=us-west-2", "-c", 'lab:availabilityZones=["us-west-2a","us-west-2b"]']
    for vpc in made:
        ec2.delete_vpc(VpcId=vpc)


def test_up_stops_before_pulumi_when_the_account_is_full(project, full_region):
    result = project.lab("up", "--stack", "ci-pf", "--yes", *full_region)

    assert result.returncode == 1, result.stderr
    assert "VPCs (vpc L-F678F1CE, VPCs per Region): 5 of 5 used" in " ".join(result.stdout.split())
    assert "--quota-code L-F678F1CE --desired-value 6 --region us-west-2" in result.stdout
    assert not ran_up(project, "ci-pf")
    assert not [c for c in project.calls() if c[:2] == ["stack", "init"]]  # nothing made, not even the stack


def test_preflight_through_the_front_door(project):
    result = project.lab("preflight", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["holds"] is True and not project.calls()  # no Pulumi CLI asked
    bad = project.lab("preflight", "--labs", "0")
    assert bad.returncode == 2 and "expected a whole number of labs, 1 or more" in bad.stderr


def test_skip_preflight_says_so_and_is_not_passed_to_pulumi(project, full_region):
    result = project.lab("up", "--stack", "ci-pf", "--yes", "--skip-preflight", *full_region)

    assert result.returncode == 0, result.stderr  # the strict fake CLI refuses a flag it does not know
    assert "--skip-preflight: the account's quotas, offerings and the cluster name are NOT checked" in result.stderr
    (up,) = [c for c in project.calls() if c[0] == "up"]
    assert "--skip-preflight" not in up


# --------------------------------------------------------------------------
# ./lab destroy


def test_destroy_after_a_failed_up_sweeps_the_cluster_its_settings_name(project):
    up = project.lab("up", "--stack", "ci-5", "--yes", NO_PREFLIGHT, "-c", "lab:clusterName=lab-ci-5",
                     FAKE_PULUMI_UP_FAIL="1")
    assert up.returncode != 0

    result = project.lab("destroy", "--stack", "ci-5", "--yes")

    assert result.returncode == 0, result.stderr
    assert "sweeping what the controllers left for cluster lab-ci-5 in ap-northeast-2" in result.stderr
    assert "clean: nothing of cluster lab-ci-5 left in ap-northeast-2" in result.stdout


def test_destroy_uses_the_outputs_when_up_finished(project):
    outputs = json.dumps({"clusterName": "from-outputs", "region": "us-east-1"})
    assert project.lab("up", "--stack", "ci-6", "--yes", NO_PREFLIGHT, FAKE_PULUMI_UP_OUTPUTS=outputs).returncode == 0

    result = project.lab("destroy", "--stack", "ci-6", "--yes")

    assert "cluster from-outputs in us-east-1" in result.stderr


def test_smoke_before_up_says_to_run_up_first(project):
    result = project.lab("smoke", "--stack", "never")
    assert result.returncode == 2
    assert "no stack 'never'" in result.stderr and "build the lab first with ./lab up --stack never" in result.stderr


def test_destroy_of_a_missing_stack_says_so(project):
    result = project.lab("destroy", "--stack", "nope", "--yes")
    assert result.returncode == 2 and "no stack 'nope'" in result.stderr


def test_the_ci_workflows_up_command_gives_the_run_its_own_lab(project):
    """The lab workflow's own `up` line, run as Actions runs it (bash -e), in an empty backend."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "lab.yml").read_text())
    (up,) = [s["run"] for s in workflow["jobs"]["lab"]["steps"] if "./lab up" in str(s.get("run"))]
    env = {"STACK": "ci-77-1", "LAB_CLUSTER": "lab-ci-77-1", "LAB_SOURCE_CIDR": "203.0.113.9/32"}

    result = subprocess.run(["bash", "-e", "-c", up], cwd=project.dir, env={**project.env, **env},
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr
    assert ran_up(project, "ci-77-1")
    config = project.settings("ci-77-1")["config"]
    assert config["lab:clusterName"] == "lab-ci-77-1" and config["aws:region"] == "ap-northeast-2"
    assert json.loads(config["lab:clientCidrs"]) == ["203.0.113.9/32"]
    # ...and the program reads them back as the lab's settings:
    from labtools.identity import identity
    assert identity("ci-77-1", project.dir) == ("lab-ci-77-1", "ap-northeast-2")


# --------------------------------------------------------------------------
# ./lab reaches every tool without an activated virtualenv


def test_audit_and_sweep_through_the_front_door(project):
    audit = project.lab("audit", "--cluster", "lab-x", "--region", "us-east-1")
    assert audit.returncode == 0, audit.stderr
    assert "clean: nothing of cluster lab-x left in us-east-1" in audit.stdout
    sweep = project.lab("sweep", "--cluster", "lab-x", "--region", "us-east-1", "--yes")
    assert sweep.returncode == 0 and sweep.stdout.startswith("clean:"), sweep.stderr
    assert "usage:" in project.lab("sweep", "--help").stdout  # help needs no credentials


def test_plan_through_the_front_door(project, tmp_path):
    """As a user runs it: text on stdout, progress on stderr, the manifests written."""
    result = project.lab("plan", "--manifests", str(tmp_path / "m"))
    assert result.returncode == 0, result.stderr
    assert "Estimated cost in ap-northeast-2" in result.stdout and "Packet paths" in result.stdout
    assert "writing" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "m" / "service-app-nodeport-svc.yaml").exists()
