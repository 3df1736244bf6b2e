"""`./lab kubeconfig` and `./lab env`: kubectl and plain `pulumi` against the lab.

kubeconfig: the stack's `kubeconfig` output (a secret) goes into
./.lab-state/<stack>.kubeconfig, created with mode 600 (never readable by others, not even
while it is written) and never printed; what is printed is the `export KUBECONFIG=...`
line, so `eval "$(./lab kubeconfig)"` points kubectl at the lab. The kubeconfig runs
`aws eks get-token`, so kubectl needs the AWS CLI and credentials that EKS admits.

env: the exports the `lab` script makes before it runs pulumi (use_backend): the state
backend and the passphrase *file*; the passphrase itself is never printed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Mapping, TextIO

import yaml

from smoke_tests.cluster import kubeconfig_dict

STATE_DIR = Path(".lab-state")


class ReachError(Exception):
    """Why the kubeconfig or the exports cannot be given; the message says what to do."""


def kubeconfig_path(stack: str, state_dir: Path = STATE_DIR) -> Path:
    return state_dir / f"{stack}.kubeconfig"


def fetch_kubeconfig(stack: str, runner=subprocess.run) -> str:
    """The stack's kubeconfig output, in plain text (it is a secret: never print it)."""
    if shutil.which("pulumi") is None:
        raise ReachError("the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/iac/download-install/)")
    cmd = ["pulumi", "stack", "output", "kubeconfig", "--show-secrets", "--stack", stack]
    done = runner(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        why = done.stderr.strip()
        if "no stack named" in why:
            raise ReachError(f"--stack {stack}: no such stack in {os.environ.get('PULUMI_BACKEND_URL', 'the backend')}; "
                             f"build the lab first with ./lab up --stack {stack}")
        if "does not have output property" in why:
            raise ReachError(f"--stack {stack}: the stack has no kubeconfig output yet (its `up` has not "
                             f"finished); run ./lab up --stack {stack}")
        raise ReachError(f"--stack {stack}: `{' '.join(cmd)}` failed: {why}")
    try:
        kubeconfig_dict(done.stdout)
    except (ValueError, yaml.YAMLError):
        raise ReachError(f"--stack {stack}: the kubeconfig output is not a kubeconfig (no clusters)") from None
    return done.stdout if done.stdout.endswith("\n") else done.stdout + "\n"


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 600 from its creation: a new file, renamed over the old
    one, so a wider mode of an earlier file is not kept either."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), 0o600)  # a umask can only have narrowed it; make it exactly 600
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_line(name: str, value: str) -> str:
    return f"export {name}={shlex.quote(value)}"


def env_lines(environ: Mapping[str, str]) -> list[str]:
    """The exports that point plain `pulumi` where `./lab` points it."""
    url = environ.get("PULUMI_BACKEND_URL")
    if not url:
        raise ReachError("PULUMI_BACKEND_URL is not set: run this as ./lab env, which sets it")
    lines = [export_line("PULUMI_BACKEND_URL", url)]
    if environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        lines.append(export_line("PULUMI_CONFIG_PASSPHRASE_FILE", os.path.abspath(environ["PULUMI_CONFIG_PASSPHRASE_FILE"])))
    return lines


# ---- the commands ------------------------------------------------------------

def add_kubeconfig_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", metavar="NAME", help="the stack (default dev)")


def run_kubeconfig(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Write the stack's kubeconfig to .lab-state/NAME.kubeconfig (mode 600); print the export line."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        text = fetch_kubeconfig(args.stack)
    except ReachError as error:
        print(f"lab kubeconfig: {error}", file=err)
        return 2
    path = kubeconfig_path(args.stack).resolve()
    write_private(path, text)
    print(f"lab kubeconfig: wrote {path} (mode 600); kubectl also needs the AWS CLI and your AWS credentials",
          file=err)
    print(export_line("KUBECONFIG", str(path)), file=out)
    return 0


def add_env_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run_env(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the exports for plain pulumi: eval "$(./lab env)"."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        lines = env_lines(os.environ)
    except ReachError as error:
        print(f"lab env: {error}", file=err)
        return 2
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") and not os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        print("lab env: PULUMI_CONFIG_PASSPHRASE is set in this environment; plain pulumi uses it", file=err)
    print("\n".join(lines), file=out)
    return 0
