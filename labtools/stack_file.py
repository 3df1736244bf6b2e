"""A stack's settings file, read as the Pulumi CLI hands it to the program, without Pulumi.

The plan, the simulated cloud and the account preflight all start here; this module
imports neither Pulumi nor boto3, so a command that needs only the settings stays quick.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from labtools.stack_yaml import read_config
from stacks.config_reader import NAMESPACE
from stacks.settings import LabSettings, load

ROOT = Path(__file__).resolve().parent.parent


def settings_dir() -> Path:
    """Where the Pulumi.<stack>.yaml files are: the project, or LAB_SETTINGS_DIR (the tests
    point it at their own copy, so that they never read a user's changed settings)."""
    return Path(os.environ.get("LAB_SETTINGS_DIR") or ROOT)


def known_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in settings_dir().glob("Pulumi.*.yaml"))


def stack_config(stack: str = "dev") -> dict[str, Any]:
    """The stack file's config, keys as written (`lab:clusterName`), values as the CLI passes them;
    raises StackFileError for a file the CLI would not read."""
    return read_config(settings_dir() / f"Pulumi.{stack}.yaml")


def as_pulumi_passes(config: dict[str, Any]) -> dict[str, str]:
    """The CLI hands every value to the program as a string; objects and lists as JSON."""
    def text(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v)
    return {k: text(v) for k, v in config.items()}


def stack_settings(stack: str = "dev", now: dt.datetime | None = None,
                   overrides: dict[str, Any] | None = None, file_of: str | None = None,
                   secrets: bool = True) -> LabSettings:
    """The settings as the program reads them from Pulumi.<stack>.yaml (or from the file of
    stack `file_of`, as a new stack starts), plus overrides as run_program takes them; raises
    SettingsError for bad ones. `secrets=False` leaves out `secure:` values, which only Pulumi
    can decrypt (the lab has no secret setting: the program refuses them at `up`)."""
    config = stack_config(file_of or stack)
    if not secrets:
        config = {k: v for k, v in config.items() if not (isinstance(v, dict) and "secure" in v)}
    config = as_pulumi_passes({**config, **(overrides or {})})
    prefix = f"{NAMESPACE}:"
    raw = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    return load(raw, config.get("aws:region"), stack, now)
