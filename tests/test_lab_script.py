"""The front door's early failures: clear messages, before anything is created."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"


def run(args, path, extra_env=None):
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **(extra_env or {})}
    return subprocess.run([str(LAB), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def system_path_without_pulumi(tmp_path) -> str:
    """PATH with python3 and the usual tools, and no pulumi."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not (Path(d) / "pulumi").exists()]
    return os.pathsep.join(dirs)


def test_up_without_the_pulumi_cli_says_what_to_install(tmp_path):
    result = run(["up"], system_path_without_pulumi(tmp_path))
    assert result.returncode == 2
    assert "the Pulumi CLI is not installed" in result.stderr
    assert "get.pulumi.com" in result.stderr


@pytest.mark.skipif(not (ROOT / "venv" / "bin" / "python").exists(), reason="needs ./venv (made by ./lab test)")
def test_up_without_aws_credentials_says_what_to_set(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "pulumi").write_text("#!/bin/sh\necho 'fake pulumi must not be reached' >&2; exit 99\n")
    (fake / "pulumi").chmod(0o755)
    path = os.pathsep.join([str(fake), system_path_without_pulumi(tmp_path)])
    result = run(["up"], path, {"AWS_CONFIG_FILE": str(tmp_path / "none"),
                                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                                "AWS_EC2_METADATA_DISABLED": "true"})
    assert result.returncode == 2, result.stderr
    assert "no AWS credentials found" in result.stderr
    assert "fake pulumi must not be reached" not in result.stderr


def test_unknown_command_and_bad_stack_name():
    path = os.environ.get("PATH", "")
    result = run(["deploy"], path)
    assert result.returncode == 2 and "unknown command 'deploy'" in result.stderr
    result = run(["up", "--stack", "a b"], path)
    assert result.returncode == 2 and "--stack 'a b'" in result.stderr
