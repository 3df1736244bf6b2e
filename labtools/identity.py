"""`python -m labtools identity --stack NAME`: the cluster and region a stack's settings give.

`./lab destroy` sweeps what the controllers left for the lab's cluster. After an
`up` that stopped midway the stack has no outputs yet, but its settings file
(where `pulumi up -c` saves its values too) still names the cluster and region:
read as the program reads them, with the same defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from labtools.stack_yaml import read_config
from stacks.config_reader import SettingsError
from stacks.settings import load

def identity(stack: str, project: Path | None = None) -> tuple[str, str]:
    """From the project folder's stack file, as the Pulumi CLI finds it (the current one)."""
    path = (project or Path.cwd()) / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{path.name} does not exist: no settings for stack {stack!r}")
    config = read_config(path)
    lab = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("lab:")}
    settings = load(lab, config.get("aws:region"), stack)
    return settings.cluster_name, settings.region


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="stack name (Pulumi.<stack>.yaml)")


def run(args: argparse.Namespace) -> int:
    """Print the cluster name and region of a stack's settings."""
    try:
        cluster, region = identity(args.stack)
    except (FileNotFoundError, SettingsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(cluster, region)
    return 0
