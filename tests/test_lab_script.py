"""The front door's early failures: clear messages, before anything is created."""

import argparse
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from labtools.__main__ import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "lab"


def run(args, path, extra_env=None):
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **(extra_env or {})}
    return subprocess.run([str(LAB), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def system_path_without_pulumi(tmp_path) -> str:
    """PATH with python3 and the usual tools, and neither pulumi nor aws."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep)
            if d and not (Path(d) / "pulumi").exists() and not (Path(d) / "aws").exists()]
    return os.pathsep.join(dirs)


# What the AWS CLI prints for `sts get-caller-identity` (botocore's messages), and its exit code.
STS = {
    "ok": ('echo \'{"UserId": "AIDALAB", "Account": "123456789012", '
           '"Arn": "arn:aws:iam::123456789012:user/lab"}\''),
    "none": "echo 'Unable to locate credentials. You can configure credentials by running \"aws configure\".' >&2; "
            "exit 255",
    "network": "echo 'Could not connect to the endpoint URL: \"https://sts.amazonaws.com/\"' >&2; exit 255",
    "refused": "echo 'An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: "
               "The security token included in the request is invalid.' >&2; exit 254",
}


def fake_tools(tmp_path, aws_version="2.15.0", python_ok=True, sts="none") -> str:
    """A folder with a pulumi that must not be reached, an `aws` of the given version whose
    `sts get-caller-identity` answers as STS[sts] and, if asked, a python3 that says it is
    too old; first on PATH."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    scripts = {"pulumi": "echo 'fake pulumi must not be reached' >&2; exit 99",
               "aws": f"if [ \"$1\" = sts ]; then {STS[sts]}; exit 0; fi\n"
                      f"echo 'aws-cli/{aws_version} Python/3.11.6 Linux/6.1 exe/x86_64'"}
    if not python_ok:
        scripts["python3"] = "[ \"$1\" = --version ] && echo 'Python 3.9.2'; exit 1"
    for name, body in scripts.items():
        (fake / name).write_text(f"#!/bin/sh\n{body}\n")
        (fake / name).chmod(0o755)
    return os.pathsep.join([str(fake), system_path_without_pulumi(tmp_path)])


def test_up_without_the_pulumi_cli_and_the_aws_cli_says_both(tmp_path):
    result = run(["up"], system_path_without_pulumi(tmp_path))
    assert result.returncode == 2
    assert "./lab up needs:" in result.stderr
    assert "the Pulumi CLI is not installed" in result.stderr and "get.pulumi.com" in result.stderr
    assert "the AWS CLI is not installed (pulumi-eks needs it)" in result.stderr
    assert "creating the virtualenv" not in result.stderr  # nothing done before the report


@pytest.mark.parametrize("version, ok", [("1.23.9", False), ("1.24.0", True), ("2.6.4", False), ("2.7.0", True),
                                         ("2.31.1", True)])
def test_an_aws_cli_pulumi_eks_refuses_is_named(tmp_path, version, ok):
    result = run(["destroy"], fake_tools(tmp_path, aws_version=version),
                 {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")})
    assert (f"the AWS CLI is {version}; pulumi-eks needs at least" in result.stderr) is not ok, result.stderr


def test_an_old_python_is_named_with_the_rest(tmp_path):
    result = run(["smoke"], fake_tools(tmp_path, python_ok=False))
    assert result.returncode == 2
    assert "Python 3.11 or newer is needed as python3 (found: Python 3.9.2)" in result.stderr


def without_venv(tmp_path) -> Path:
    """The front door in a folder with no virtualenv: one made there would show."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(LAB, project / "lab")
    for name in ("labtools", "stacks"):
        (project / name).symlink_to(ROOT / name)
    return project


@pytest.mark.parametrize("sts, message", [
    ("none", "no AWS credentials found (Unable to locate credentials. You can configure credentials by running "
             '"aws configure".): set AWS_PROFILE'),
    ("network", 'could not reach AWS to check the credentials (Could not connect to the endpoint URL: '
                '"https://sts.amazonaws.com/"): check the network'),
    ("refused", "AWS refused the credentials (An error occurred (InvalidClientTokenId)"),
])
def test_credentials_are_a_prerequisite_told_apart_before_the_virtualenv(tmp_path, sts, message):
    project = without_venv(tmp_path)
    path = fake_tools(tmp_path, sts=sts)
    os.remove(tmp_path / "bin" / "pulumi")  # one more problem, reported in the same list
    result = subprocess.run([str(project / "lab"), "up"], env={"PATH": path, "HOME": str(tmp_path)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "lab: ./lab up needs:" and lines[1].startswith("  - the Pulumi CLI is not installed")
    assert lines[2].startswith(f"  - {message}"), result.stderr
    assert len(lines) == 3 and not (project / "venv").exists()


def test_working_credentials_name_the_account(tmp_path):
    script = f"source {LAB}; cd {ROOT}; export PATH={fake_tools(tmp_path, sts='ok')}; need_local destroy"
    result = subprocess.run([shutil.which("bash"), "-c", script], capture_output=True, text=True, timeout=60,
                            env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stderr == "==> AWS account 123456789012 as arn:aws:iam::123456789012:user/lab\n"


def test_smoke_needs_no_credentials_check(tmp_path):
    script = f"source {LAB}; cd {ROOT}; export PATH={fake_tools(tmp_path, sts='none')}; need_local smoke"
    result = subprocess.run([shutil.which("bash"), "-c", script], capture_output=True, text=True, timeout=60,
                            env={"HOME": str(tmp_path)})
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.skipif(not (ROOT / "venv" / "bin" / "python").exists(), reason="needs ./venv (made by ./lab test)")
def test_sweep_names_a_missing_argument_before_asking_for_credentials(tmp_path):
    result = run(["sweep", "--region", "us-east-1"], os.environ.get("PATH", ""),
                 {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                  "AWS_EC2_METADATA_DISABLED": "true"})
    assert result.returncode == 2
    assert "the following arguments are required: --cluster" in result.stderr
    assert "credentials" not in result.stderr


def help_sections() -> dict[str, str]:
    """`./lab --help`, cut into each command's lines."""
    text = run(["--help"], os.environ.get("PATH", "")).stdout
    return {m.group(1): m.group(0) for m in re.finditer(r"^  \./lab (\S+).*(?:\n {30,}.*)*", text, re.M)}


def test_help_lists_every_command_and_flag():
    script = LAB.read_text()
    cases = script[script.index('case "$cmd" in'):script.index("esac", script.index('case "$cmd" in'))]
    commands = {c for m in re.finditer(r"^\s+([a-z|-]+)\)", cases, re.M) for c in m.group(1).split("|")}
    commands -= {"-h", "--help"}
    sections = help_sections()
    assert commands == set(sections), "a command of main() is missing from the usage at the top of ./lab"
    for command, (_module, *_rest) in COMMANDS.items():
        if command in sections:  # the labtools commands ./lab hands over to
            parser = build_parser(command)._subparsers._group_actions[0].choices[command]
            # Hidden flags (argparse.SUPPRESS) are the lab script's own, not the user's.
            flags = {o for a in parser._actions if a.help != argparse.SUPPRESS
                     for o in a.option_strings if o.startswith("--") and o != "--help"}
            assert {f for f in flags if f not in sections[command]} == set(), command
    for command in ("up", "destroy", "smoke", "plan"):
        assert "--stack NAME" in sections[command]


def in_lab(script: str) -> subprocess.CompletedProcess:
    """`script` run in bash with ./lab sourced (its functions, not its main), in the project root."""
    return subprocess.run([shutil.which("bash"), "-c", f"source {LAB}; cd {ROOT}; {script}"], capture_output=True,
                          text=True, timeout=30, env={"PATH": os.environ.get("PATH", "")})


@pytest.mark.parametrize("given, expected", [("1", f"{ROOT}/.cache/pycache unset"), ("", " unset")])
def test_bytecode_goes_to_the_cache_when_python_may_not_write_it(given, expected):
    result = in_lab(f"PYTHONDONTWRITEBYTECODE={given}; bytecode_cache; "
                    'echo "${PYTHONPYCACHEPREFIX:-} ${PYTHONDONTWRITEBYTECODE:-unset}"')
    assert result.stdout.strip() == expected.strip()


def test_the_suite_runs_a_worker_per_core_and_one_more_and_the_callers_n_wins(tmp_path):
    fake = tmp_path / "venv" / "bin"
    fake.mkdir(parents=True)
    (fake / "python").write_text('#!/bin/sh\necho "$@"\n')  # prints what ./lab test runs
    (fake / "python").chmod(0o755)
    result = in_lab(f"VENV={tmp_path}/venv; ensure_venv() {{ :; }}; nproc() {{ echo 2; }}; REST=(-x -n 1); cmd_test")
    assert result.stdout.strip() == "-m pytest -n 3 --dist loadfile --no-loadscope-reorder -x -n 1", result.stderr


def test_unknown_command_and_bad_stack_name():
    path = os.environ.get("PATH", "")
    result = run(["deploy"], path)
    assert result.returncode == 2 and "unknown command 'deploy'" in result.stderr
    result = run(["up", "--stack", "a b"], path)
    assert result.returncode == 2 and "--stack 'a b'" in result.stderr
