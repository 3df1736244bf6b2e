"""Settings of what runs in the cluster: the test app, node ports, the optional modules."""

from __future__ import annotations

import json
from typing import Mapping

from stacks.config_reader import Reader
from stacks.settings.types import MODULE_KEYS, MODULE_NEEDS, Modules

def read_modules(reader: Reader) -> Modules:
    values = reader.obj("modules", {k: True for k in MODULE_KEYS},
                        {k: (lambda r, f: r.boolean(f, True)) for k in MODULE_KEYS})
    for module, needed in MODULE_NEEDS.items():
        if values[module] and not values[needed]:
            reader.problem(f"{reader.key('modules')}.{module}", True,
                           f"needs {reader.key('modules')}.{needed} true (or set {module} false)")
    return Modules(**{attr: values[k] for k, attr in MODULE_KEYS.items()})


def check_node_ports(reader: Reader, ports: Mapping[str, int]) -> None:
    """Every node port of the lab is one port on every node: no two may share it."""
    seen: dict[int, str] = {}
    for key, port in ports.items():
        if any(p.startswith(f"{reader.key(key)} ") for p in reader.problems):
            continue  # already reported; its default stands in and must not collide falsely
        if port in seen:
            # Name the key the user set: a default that it collides with was not their choice.
            ours, other = (seen[port], key) if set_by_user(reader, seen[port]) and not set_by_user(reader, key) \
                else (key, seen[port])
            default = "" if set_by_user(reader, other) else " (its default)"
            reader.problem(reader.key(ours), port, f"is already used by {reader.key(other)}{default}; "
                           "node ports must be distinct")
        seen.setdefault(port, key)


def set_by_user(reader: Reader, key: str) -> bool:
    """Whether `key` (`nodePort`, or `traefik.webNodePort` inside an object) is in the stack's config."""
    top, _, field = key.partition(".")
    value = reader.raw.get(top)
    if not field:
        return value is not None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    return isinstance(value, dict) and field in value


