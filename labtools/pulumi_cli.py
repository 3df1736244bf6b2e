"""The Pulumi CLI's stack and state commands that the teardown and the reaper use, as functions.

Each runs `pulumi` with stdin closed (no prompt can wait for an answer) and returns data,
or the CLI's own error. What they rely on was read from pulumi/pulumi v3.259.0:
`stack ls --json` lists the current project's stacks sorted by name (stack_list.go);
`stack output --json` prints every output, secrets masked (stack_output.go);
`stack export` prints the deployment (stack_export.go); `state delete` takes several URNs
since v3.228.0 and saves nothing unless every one can go (state_delete.go, io.go).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Sequence, TextIO

from labtools.gone_cluster import Exported, state_resources
from labtools.teardown import Ran

NOT_FOUND = 127  # POSIX's "command not found", for a pulumi that is not on PATH


def _run(args: Sequence[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(["pulumi", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              check=False)
    except FileNotFoundError:
        return NOT_FOUND, "", "the Pulumi CLI (pulumi) is not on PATH"
    return done.returncode, done.stdout, done.stderr


def _error(code: int, stderr: str) -> str:
    said = " ".join(line.strip() for line in stderr.strip().splitlines() if line.strip())
    return f"exit {code}: {said.removeprefix('error: ')}" if said else f"exit {code}"


def _json(args: Sequence[str]) -> tuple[Any, str]:
    """(the parsed JSON it printed, or None; why not)."""
    code, out, err = _run(args)
    if code != 0:
        return None, _error(code, err)
    try:
        return json.loads(out), ""
    except json.JSONDecodeError as bad:
        return None, f"its output is not JSON ({bad.msg} at line {bad.lineno})"


def export(stack: str) -> Exported:
    data, why = _json(["stack", "export", "--stack", stack])
    if data is None:
        return Exported(None, why)
    try:
        return Exported(state_resources(data))
    except ValueError as err:
        return Exported(None, str(err))


def state_delete(stack: str, urns: list[str], out: TextIO) -> Ran:
    """One edit of the state: all of `urns` go, or none. Its words go to `out` and stderr."""
    sys.stdout.flush()
    try:
        done = subprocess.run(["pulumi", "state", "delete", "--stack", stack, "--yes", *urns],
                              stdin=subprocess.DEVNULL, stdout=None if out is sys.stdout else out, check=False)
    except FileNotFoundError:
        print("error: the Pulumi CLI (pulumi) is not on PATH", file=sys.stderr)
        return Ran(NOT_FOUND)
    return Ran(done.returncode)


def stacks() -> tuple[list[dict] | None, str]:
    """The backend's stacks of this project, each {"name", ...}, or (None, why not)."""
    data, why = _json(["stack", "ls", "--json"])
    if data is None:
        return None, why
    if not isinstance(data, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in data):
        return None, "pulumi stack ls --json printed no list of stacks"
    return data, ""


def outputs(stack: str) -> tuple[dict | None, str]:
    """A stack's outputs, secrets masked, or (None, why not)."""
    data, why = _json(["stack", "output", "--json", "--stack", stack])
    if data is None:
        return None, why
    return (data, "") if isinstance(data, dict) else (None, "pulumi stack output --json printed no object")
