"""Reading raw Pulumi config values into typed ones, collecting every error.

Pulumi hands a program its config as strings (`"3"`, `"true"`, a JSON text for
lists and objects). Tests may pass Python values directly. A `Reader` accepts
both, and records one message per bad value naming the key, the value and what
is allowed, so that a user sees every mistake at once.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

NAMESPACE = "lab"


class SettingsError(ValueError):
    """Raised before any resource is registered; lists every bad setting."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid lab settings ({len(self.problems)}):\n{lines}")


_MISSING = object()


def _show(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else repr(value)


class Reader:
    """Typed access to one config namespace; remembers which keys were read."""

    def __init__(self, raw: Mapping[str, Any], prefix: str = f"{NAMESPACE}:"):
        self.prefix = prefix
        self.raw = dict(raw)
        self.read: set[str] = set()
        self.problems: list[str] = []

    # -- plumbing -----------------------------------------------------------
    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def problem(self, key: str, value: Any, allowed: str) -> None:
        self.problems.append(f"{key} = {_show(value)}: {allowed}")

    def _get(self, name: str) -> Any:
        self.read.add(name)
        return self.raw.get(name, _MISSING)

    def _decode(self, name: str, value: Any, want: type) -> Any:
        """Turn Pulumi's string form into `want`, or record a problem."""
        if isinstance(value, str) and want is not str:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        if want is int and isinstance(value, bool):
            value = None  # bool is an int in Python; refuse `true` for a number
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want):
            return _MISSING
        return value

    def unknown_keys(self, extra_known: Iterable[str] = (), renamed: Mapping[str, str] | None = None) -> None:
        """Refuse every key not read; `renamed` (old name -> new name) says where an old key went."""
        known = self.read | set(extra_known)
        renamed = renamed or {}
        for name in sorted(set(self.raw) - known):
            if name in renamed:
                self.problem(self.key(name), self.raw[name],
                             f"renamed to {self.key(renamed[name])}: set {self.key(renamed[name])} to this "
                             f"value and remove {self.key(name)} (README, \"Upgrade notes\")")
            else:
                self.problem(self.key(name), self.raw[name], unknown_key(name, known, self.prefix))

    # -- typed getters ------------------------------------------------------
    def typed(self, name: str, want: type, default: Any, what: str) -> Any:
        value = self._get(name)
        if value is _MISSING:
            return default
        decoded = self._decode(name, value, want)
        if decoded is _MISSING:
            self.problem(self.key(name), value, f"expected {what}")
            return default
        return decoded

    def string(self, name: str, default: str, pattern: str | None = None,
               allowed: str = "a string") -> str:
        # A number here came unquoted through YAML: 1.30 became 1.3 (the CLI itself keeps the
        # text of a top-level value, but nested values and callers in Python do not).
        raw = self.raw.get(name)
        number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
        value = self.typed(name, str, default, 'a string: write it in quotes, as "1.30" (unquoted, YAML '
                           "reads 1.30 as the number 1.3)" if number else "a string")
        if pattern and not re.fullmatch(pattern, value):
            self.problem(self.key(name), value, allowed)
        return value

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        value = self.typed(name, str, default, f"one of {', '.join(choices)}")
        if value not in choices:
            self.problem(self.key(name), value, f"expected one of {', '.join(choices)}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        return self.typed(name, bool, default, "true or false")

    def integer(self, name: str, default: int, low: int, high: int, why: str = "") -> int:
        allowed = f"a whole number from {low} to {high}" + (f" ({why})" if why else "")
        value = self.typed(name, int, default, allowed)
        if not low <= value <= high:
            self.problem(self.key(name), value, f"expected {allowed}")
            return default
        return value

    def string_list(self, name: str, default: list[str], min_items: int = 0) -> list[str]:
        value = self.typed(name, list, default, "a list of strings")
        if not all(isinstance(v, str) for v in value):
            self.problem(self.key(name), value, "expected a list of strings")
            return default
        if len(value) < min_items:
            self.problem(self.key(name), value, f"expected at least {min_items} item(s)")
        return value

    def cidr_list(self, name: str, default: list[str], min_items: int = 0,
                  ) -> list[ipaddress.IPv4Network]:
        values = self.string_list(name, default, min_items)
        nets = []
        for i, text in enumerate(values):
            net = parse_cidr(text)
            if net is None and (net := network_of(text)) is not None:
                # The later checks (inside the VPC, no overlap) speak of the suggested block.
                self.problem(f"{self.key(name)}[{i}]", text, host_bits(net))
            elif net is None:
                self.problem(f"{self.key(name)}[{i}]", text, "expected an IPv4 CIDR block such as 10.0.0.0/16")
            if net is not None:
                nets.append(net)
        return nets

    def obj(self, name: str, default: Mapping[str, Any],
            fields: Mapping[str, Callable[["Reader", str], Any]]) -> dict[str, Any]:
        """An object whose fields are read by a nested Reader (unknown fields refused)."""
        value = self.typed(name, dict, dict(default), "an object")
        nested = Reader({**default, **value}, prefix=f"{self.key(name)}.")
        out = {field: read(nested, field) for field, read in fields.items()}
        nested.unknown_keys()
        self.problems.extend(nested.problems)
        return out


def parse_cidr(text: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except (ValueError, TypeError):
        return None


def network_of(text: str) -> ipaddress.IPv4Network | None:
    """The block an address/prefix with host bits set lies in (10.0.0.1/16 -> 10.0.0.0/16)."""
    try:
        return ipaddress.IPv4Network(text, strict=False) if "/" in text else None
    except (ValueError, TypeError):
        return None


def host_bits(net: ipaddress.IPv4Network) -> str:
    return f"has host bits set: did you mean {net}?"


def unknown_key(name: str, known: Iterable[str], prefix: str) -> str:
    """The message for an unknown key: the known key it is a near miss of, or else every known key."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75) or \
        [k for k in sorted(known) if k.lower() == name.lower()]
    if close:
        return f"unknown key; did you mean {prefix}{close[0]}?"
    return f"unknown key; known keys are {', '.join(sorted(known))}"
