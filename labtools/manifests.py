"""The plan's files: every Kubernetes object as YAML, and each Helm release's values.

Secrets never reach a file. Files the plan wrote before carry MARKER on their
first line; only those are replaced or removed.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from labtools import UsageError
from labtools.simulate import Graph, Resource, plain, secret_value

RELEASE = "kubernetes:helm.sh/v3:Release"
REDACTED = "<redacted: a Pulumi secret>"
MARKER = "# Written by `./lab plan`"  # first line of every file we own (and may replace)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None  # the app's source stays readable
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def redact(value: Any) -> Any:
    """Every Pulumi secret replaced by a marker; nothing secret reaches a file."""
    if secret_value(value) is not None:
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def manifest(r: Resource) -> dict[str, Any]:
    keys = ("apiVersion", "kind", "metadata", "spec", "data", "stringData", "type")
    obj = {k: r.inputs[k] for k in keys if k in r.inputs}
    if obj.get("kind") == "Secret":  # every value, secret-marked or not: keys only
        for k in ("data", "stringData"):
            if k in obj:
                inner = secret_value(obj[k])
                obj[k] = {name: REDACTED for name in (inner if inner is not None else obj[k])}
    return plain(redact(obj))


def manifest_names(objs: list[dict[str, Any]]) -> list[str]:
    """kind-name.yaml, as the posts name things; kind-namespace-name.yaml when two collide."""
    def short(o: dict) -> str:
        return f"{o['kind'].lower()}-{o['metadata']['name']}"
    seen = Counter(short(o) for o in objs)
    return [f"{o['kind'].lower()}-{o['metadata'].get('namespace', 'cluster')}-{o['metadata']['name']}.yaml"
            if seen[short(o)] > 1 else f"{short(o)}.yaml" for o in objs]


def _ours(path: Path) -> bool:
    with path.open() as f:
        return f.readline().startswith(MARKER)


def write_manifests(graph: Graph, folder: Path, stack: str) -> list[Path]:
    """Write every file, after making sure none would replace a file the plan did not write."""
    header = f"{MARKER} for stack {stack}, from the simulated cloud (nothing created).\n"
    objs = [manifest(r) for r in graph.k8s_objects()]
    files = {folder / name: (header, obj) for name, obj in zip(manifest_names(objs), objs)}
    for r in graph.of_type(RELEASE):
        i = r.inputs
        repo = (i.get("repositoryOpts") or {}).get("repo", "?")
        head = header + f"# chart {i.get('chart')}, version {i.get('version')}, repo {repo}\n"
        files[folder / f"helm-{i.get('name', r.name)}-values.yaml"] = (head, plain(redact(i.get("values") or {})))
    theirs = sorted(p.name for p in files if p.exists() and not _ours(p))
    if theirs:
        raise UsageError(f"argument --manifests: {folder} holds files the plan did not write and would replace "
                         f"({', '.join(theirs)}); choose another folder")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):  # a module turned off must not leave its files behind
        if _ours(old):
            old.unlink()
    return [_write(path, head, obj) for path, (head, obj) in files.items()]


def _write(path: Path, header: str, obj: Any) -> Path:
    path.write_text(header + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False))
    return path
