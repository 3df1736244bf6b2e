"""Config keys outside `lab:` that are mistakes: typos of the AWS provider's keys, and lab
settings that landed in the project's namespace (`pulumi config set owner me` stores
`eks-networking-lab:owner`, which the lab never reads).

Values are never shown: an `aws:` key may hold a secret (aws:secretKey, aws:token).
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.util
from pathlib import Path
from typing import Iterable

from stacks.settings.types import PROJECT


@functools.lru_cache(maxsize=1)
def aws_config_keys() -> frozenset[str]:
    """Every config key of the installed pulumi-aws: the names its config/vars.py reads
    (`__config__.get('region')`...), found without importing the provider."""
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        return frozenset()
    tree = ast.parse((Path(spec.origin).parent / "config" / "vars.py").read_text())
    return frozenset(
        node.args[0].value for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name) and node.func.value.id == "__config__"
        and node.args and isinstance(node.args[0], ast.Constant))


def namespace_problems(keys: Iterable[str], lab_keys: Iterable[str]) -> list[str]:
    """One message per `aws:` key pulumi-aws does not know, and per key in the project's namespace."""
    problems = []
    aws_keys = aws_config_keys()
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        if namespace == "aws" and aws_keys and name not in aws_keys:
            close = difflib.get_close_matches(name, sorted(aws_keys), n=1, cutoff=0.75)
            hint = f"did you mean aws:{close[0]}?" if close else f"known keys are {', '.join(sorted(aws_keys))}"
            problems.append(f"{key}: not a setting of the pulumi-aws provider; {hint}")
        elif namespace == PROJECT:
            close = difflib.get_close_matches(name, sorted(lab_keys), n=1, cutoff=0.75)
            hint = f": did you mean lab:{close[0]}?" if close else " (the README's Settings table)"
            problems.append(f"{key}: the lab reads its settings from lab: keys only{hint}")
    return problems
