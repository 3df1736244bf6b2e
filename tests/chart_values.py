"""Helm values against the key list of the pinned chart version (tests/chart_keys).

Helm silently ignores a key the chart does not read, so a key renamed between
chart majors fails nowhere but here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

KEYS_DIR = Path(__file__).resolve().parent / "chart_keys"


def chart_keys(chart: str, version: str) -> set[str]:
    return set((KEYS_DIR / f"{chart}-{version}.keys").read_text().split())


def value_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every leaf (and every empty map) the program sets."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from value_paths(value, f"{path}.")
        else:
            yield path


def _matches(parts: list[str], key: str) -> bool:
    pattern = key.split(".")
    return len(parts) == len(pattern) and all(k in ("*", p) for p, k in zip(parts, pattern))


def unknown_keys(values: dict[str, Any], keys: set[str]) -> list[str]:
    """Paths that are neither chart keys nor inside one of the chart's free-form maps.

    A `*` segment in a key matches any one key; `KEY.**` marks KEY as a free-form map.
    """
    free_maps = [k[:-3] for k in keys if k.endswith(".**")]
    problems = []
    for path in value_paths(values):
        parts = path.split(".")
        known = any(_matches(parts, k) for k in keys if not k.endswith(".**"))
        inside_free_map = any(_matches(parts[:i], m) for m in free_maps for i in range(1, len(parts)))
        if not known and not inside_free_map:
            problems.append(path)
    return problems


def feature_gates_arg(values: dict[str, Any]) -> str | None:
    """The `--feature-gates` argument the controller chart (3.5.0) gives its pods, rendered as its
    templates/deployment.yaml does: only when controllerConfig.featureGates is non-empty, its
    entries as `key=value` in key order (Go templates range over a map sorted), comma-joined."""
    gates = (values.get("controllerConfig") or {}).get("featureGates") or {}
    if not gates:
        return None
    return "--feature-gates=" + ",".join(f"{k}={str(v).lower()}" for k, v in sorted(gates.items()))
