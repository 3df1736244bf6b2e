"""Routes and notFound paths of the outputs contract, and the checks of one route.

ContractError and the key-path helpers live here so outputs.py (the whole
contract) and this module share them without an import circle.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from smoke_tests.stats import weighted_requests_needed


class ContractError(ValueError):
    """The outputs do not follow the contract; the message names the key path."""


# RFC 9110 token: what a header name may be made of.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
HEADER_NAME_CHARS = "letters, digits and !#$%&'*+-.^_`|~"


@dataclass(frozen=True)
class Route:
    """One route: to one app, or split between apps by `weights` (then `app` is None).

    `headers` and `weights` may be given as mappings; they are kept as tuples of
    pairs so a Route stays hashable.
    """
    path: str
    app: str | None
    app_sees: str
    host: str | None = None
    client_preserved: bool | None = None
    headers: tuple[tuple[str, str], ...] = ()
    weights: tuple[tuple[str, int], ...] = ()

    def __post_init__(self):
        for name in ("headers", "weights"):
            value = getattr(self, name)
            if isinstance(value, Mapping):
                object.__setattr__(self, name, tuple(value.items()))

    @property
    def weighted(self) -> bool:
        return bool(self.weights)

    @property
    def apps(self) -> tuple[str, ...]:
        """The apps that may answer: the weighted ones, or the one app."""
        return tuple(a for a, _ in self.weights) if self.weights else (self.app or "",)

    @property
    def label(self) -> str:
        """Unique within an entry point: host and path, then the headers sent, if any."""
        base = f"{self.host}{self.path}" if self.host else self.path
        if not self.headers:
            return base
        return f"{base} [{', '.join(f'{k.lower()}: {v}' for k, v in sorted(self.headers, key=_lower))}]"


def _lower(pair: tuple[str, Any]) -> str:
    return pair[0].lower()


@dataclass(frozen=True)
class NotFound:
    path: str
    host: str | None = None

    @property
    def label(self) -> str:
        return f"{self.host}{self.path}" if self.host else self.path


# ---- key-path helpers ------------------------------------------------------

def get(obj: dict, key: str, path: str, types: type | tuple, required: bool = True, default=None):
    if key not in obj or obj[key] is None:
        if required:
            raise ContractError(f"{path}.{key}: missing; expected {type_names(types)}")
        return default
    value = obj[key]
    # bool is an int in Python; a nodePort of `true` is still wrong.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise ContractError(f"{path}.{key}: expected {type_names(types)}, got {json.dumps(value)[:80]}")
    return value


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def type_names(types) -> str:
    names = {str: "a string", int: "an integer", dict: "an object", list: "a list", bool: "true/false"}
    return " or ".join(names.get(t, t.__name__) for t in _as_tuple(types))


# ---- one route ---------------------------------------------------------------

WEIGHTS_HINT = "weights (app name -> positive integer weight, two apps or more)"


def parse_route(raw: Any, path: str, replicas: dict[str, int]) -> Route:
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: expected an object with path, app (or weights), appSees")
    route_path = url_path(raw, path)
    allowed = ", ".join(sorted(replicas))
    app, weights = raw.get("app"), raw.get("weights")
    if app is not None and weights is not None:
        raise ContractError(f"{path}: both app and weights; expected exactly one of app (one app: {allowed}) "
                            f"or {WEIGHTS_HINT}")
    if weights is not None:
        weights = _weights(weights, f"{path}.weights", replicas)
    elif not isinstance(app, str) or app not in replicas:
        if app is None:
            raise ContractError(f"{path}.app: missing; expected one of {allowed} (or {WEIGHTS_HINT})")
        raise ContractError(f"{path}.app: {app!r} is not in replicas; expected one of {allowed}")
    return Route(path=route_path, app=app, app_sees=get(raw, "appSees", path, str),
                 host=get(raw, "host", path, str, required=False),
                 client_preserved=get(raw, "clientPreserved", path, bool, required=False),
                 headers=_headers(raw, path), weights=weights or ())


def _weights(raw: Any, path: str, replicas: dict[str, int]) -> dict[str, int]:
    allowed = ", ".join(sorted(replicas))
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: expected an object of app name -> weight (apps: {allowed}), "
                            f"got {json.dumps(raw)[:80]}")
    for app, weight in raw.items():
        if app not in replicas:
            raise ContractError(f"{path}.{app}: {app!r} is not in replicas; expected one of {allowed}")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise ContractError(f"{path}.{app}: expected a positive integer weight, got {json.dumps(weight)[:80]}")
    if len(raw) < 2:
        which = f"one app ({next(iter(raw))})" if raw else "empty"
        raise ContractError(f"{path}: {which}; expected two apps or more (a route to one app uses app, not weights)")
    try:
        weighted_requests_needed(raw, replicas)
    except ValueError as err:
        shown = ", ".join(f"{a} {w}" for a, w in raw.items())
        raise ContractError(f"{path}: {shown}: {err}") from None
    return dict(raw)


def _headers(raw: dict, path: str) -> dict[str, str]:
    headers = get(raw, "headers", path, dict, required=False, default=None)
    if headers is None:
        return {}
    path = f"{path}.headers"
    if not headers:
        raise ContractError(f"{path}: empty; expected header name -> value (or no headers key)")
    seen: dict[str, str] = {}
    for name, value in headers.items():
        if not HEADER_NAME.match(name):
            raise ContractError(f"{path}.{name}: {name!r} is not a valid header name ({HEADER_NAME_CHARS} only)")
        if name.lower() == "host":
            raise ContractError(f"{path}.{name}: set Host with the route's host key, not in headers")
        if name.lower() in seen:
            raise ContractError(f"{path}.{name}: the same header as {seen[name.lower()]} "
                                f"(header names ignore case)")
        seen[name.lower()] = name
        if not isinstance(value, str):
            raise ContractError(f"{path}.{name}: expected a string, got {json.dumps(value)[:80]}")
        if value != value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ContractError(f"{path}.{name}: {value!r}; expected a header value without control "
                                f"characters or leading/trailing spaces")
    return dict(headers)


def check_unique_labels(routes: tuple[Route, ...], path: str) -> None:
    """Results are keyed by label: two routes with one label would merge silently."""
    first: dict[str, int] = {}
    for i, route in enumerate(routes):
        if route.label in first:
            raise ContractError(f"{path}[{i}]: the same route as {path}[{first[route.label]}] "
                                f"({route.label!r}); routes of one entry point differ in path, host or headers")
        first[route.label] = i


def parse_not_found(raw: Any, path: str) -> NotFound:
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: expected a path string or {{\"path\", \"host\"}}")
    return NotFound(path=url_path(raw, path), host=get(raw, "host", path, str, required=False))


def url_path(raw: dict, path: str) -> str:
    """The `path` key of a route or a notFound entry: a string starting with /."""
    value = get(raw, "path", path, str)
    if not value.startswith("/"):
        raise ContractError(f"{path}.path: {value!r} must start with /")
    return value
