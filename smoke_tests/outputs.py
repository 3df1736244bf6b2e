"""The stack outputs contract: load it (file or `pulumi stack output`) and check it.

The suite reads only these outputs and never imports the program. Every check
fails with a ContractError naming the key path (`entrypoints.alb.routes[1].app`)
and the allowed values, so a bad file stops the run at session start instead
of surfacing as a traceback inside a test. One route's checks are in routes.py.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# ContractError, NotFound and Route are imported from here by the suite and its tests.
from smoke_tests.routes import (ContractError, NotFound, Route, check_unique_labels, get as _get,  # noqa: F401
                                parse_not_found, parse_route)

LAYERS = ("L4", "L7")
SCHEMES = ("http", "https")
POLICIES = ("Cluster", "Local")
REDIRECT_STATUSES = (301, 308)


@dataclass(frozen=True)
class Entrypoint:
    name: str
    layer: str
    routes: tuple[Route, ...]
    url: str | None = None
    node_port: int | None = None
    not_found: tuple[NotFound, ...] = ()
    ca_certificate: str | None = None
    external_traffic_policy: str = "Cluster"
    redirects_to_https: bool = False
    http_url: str | None = None

    @property
    def node_local(self) -> bool:
        return self.external_traffic_policy == "Local"


@dataclass(frozen=True)
class Contract:
    entrypoints: dict[str, Entrypoint]
    replicas: dict[str, int]
    vpc_cidr: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    internal: dict[str, Any]
    kubeconfig: str | None
    cluster_name: str | None = None
    region: str | None = None
    """Which lab the outputs are of (`clusterName`, `region`): the report's title says it."""


# ---- loading -------------------------------------------------------------

def load_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ContractError(f"--outputs {path}: no such file")
    return parse_json(p.read_text(), f"--outputs {path}")


def load_stack(stack: str, runner=subprocess.run, show_secrets: bool = True) -> dict[str, Any]:
    """What `pulumi stack output --json --show-secrets --stack NAME` prints (without
    --show-secrets: secrets read "[secret]", for a reader that needs none of them)."""
    if shutil.which("pulumi") is None:
        raise ContractError(
            f"--stack {stack}: the pulumi CLI is not on PATH; install it, "
            "or save the outputs elsewhere and pass --outputs FILE")
    cmd = ["pulumi", "stack", "output", "--json", *(["--show-secrets"] if show_secrets else []), "--stack", stack]
    done = runner(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise ContractError(f"--stack {stack}: `{' '.join(cmd)}` failed: {done.stderr.strip()}")
    return parse_json(done.stdout, f"--stack {stack}")


def parse_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ContractError(f"{where}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    if not isinstance(data, dict):
        raise ContractError(f"{where}: expected a JSON object of stack outputs, got {type(data).__name__}")
    return data


# ---- checking ------------------------------------------------------------

def parse_contract(data: dict[str, Any]) -> Contract:
    replicas = _replicas(data)
    vpc = _vpc_cidr(data)
    eps = _get(data, "entrypoints", "outputs", dict)
    if not eps:
        raise ContractError("outputs.entrypoints: empty; expected at least one entry point")
    entrypoints = {name: _entrypoint(name, raw, replicas) for name, raw in eps.items()}
    if vpc is None and any(r.client_preserved is not None for e in entrypoints.values() for r in e.routes):
        raise ContractError("outputs.vpcCidr: missing; needed to judge clientPreserved (e.g. 10.0.0.0/16)")
    internal = _internal(data, replicas)
    kubeconfig = data.get("kubeconfig")
    if isinstance(kubeconfig, dict):
        kubeconfig = json.dumps(kubeconfig)
    return Contract(entrypoints, replicas, vpc, internal, kubeconfig or None,
                    cluster_name=_get(data, "clusterName", "outputs", str, required=False),
                    region=_get(data, "region", "outputs", str, required=False))


def _replicas(data: dict) -> dict[str, int]:
    raw = _get(data, "replicas", "outputs", dict)
    for app, count in raw.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ContractError(f"replicas.{app}: expected a positive integer, got {json.dumps(count)}")
    if not raw:
        raise ContractError("replicas: empty; expected app name -> replica count, e.g. {\"app1\": 3}")
    return dict(raw)


def _vpc_cidr(data: dict):
    raw = _get(data, "vpcCidr", "outputs", str, required=False)
    if raw is None:
        return None
    try:
        return ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise ContractError(f"vpcCidr: {raw!r} is not a CIDR block (e.g. 10.0.0.0/16)") from None


def _entrypoint(name: str, raw: Any, replicas: dict[str, int]) -> Entrypoint:
    path = f"entrypoints.{name}"
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: expected an object, got {json.dumps(raw)[:80]}")
    url, node_port = raw.get("url"), raw.get("nodePort")
    if (url is None) == (node_port is None):
        raise ContractError(f"{path}: expected exactly one of url (http(s)://host[:port]) or nodePort (an integer)")
    if url is not None:
        _check_url(_get(raw, "url", path, str), f"{path}.url")
    else:
        node_port = _get(raw, "nodePort", path, int)
        if not 1 <= node_port <= 65535:
            raise ContractError(f"{path}.nodePort: {node_port} is not a port (1-65535)")
    layer = _get(raw, "layer", path, str)
    if layer not in LAYERS:
        raise ContractError(f"{path}.layer: {layer!r}; expected one of {', '.join(LAYERS)}")
    routes = _get(raw, "routes", path, list)
    if not routes:
        raise ContractError(f"{path}.routes: empty; expected at least one route")
    policy = _get(raw, "externalTrafficPolicy", path, str, required=False, default="Cluster")
    if policy not in POLICIES:
        raise ContractError(f"{path}.externalTrafficPolicy: {policy!r}; expected one of {', '.join(POLICIES)}")
    http_url = _get(raw, "httpUrl", path, str, required=False)
    if http_url is not None:
        _check_url(http_url, f"{path}.httpUrl", schemes=("http",))
    parsed = tuple(parse_route(r, f"{path}.routes[{i}]", replicas) for i, r in enumerate(routes))
    check_unique_labels(parsed, f"{path}.routes")
    return Entrypoint(
        name=name, layer=layer, url=url, node_port=node_port, routes=parsed,
        not_found=tuple(parse_not_found(n, f"{path}.notFound[{i}]")
                        for i, n in enumerate(_get(raw, "notFound", path, list, required=False, default=[]))),
        ca_certificate=_ca(raw, path),
        external_traffic_policy=policy,
        redirects_to_https=_get(raw, "redirectsToHttps", path, bool, required=False, default=False),
        http_url=http_url,
    )


def _check_url(url: str, path: str, schemes: tuple[str, ...] = SCHEMES) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ContractError(f"{path}: {url!r} has scheme {parts.scheme!r}; expected {' or '.join(schemes)}")
    try:
        parts.port
    except ValueError:
        raise ContractError(f"{path}: {url!r} has a bad port") from None
    if not parts.hostname:
        raise ContractError(f"{path}: {url!r} has no host; expected {schemes[0]}://host[:port]")


def _ca(raw: dict, path: str) -> str | None:
    pem = _get(raw, "caCertificate", path, str, required=False)
    if pem is not None and "-----BEGIN CERTIFICATE-----" not in pem:
        raise ContractError(f"{path}.caCertificate: expected a PEM certificate (-----BEGIN CERTIFICATE-----)")
    return pem


def _internal(data: dict, replicas: dict[str, int]) -> dict[str, Any]:
    raw = _get(data, "internal", "outputs", dict, required=False, default={})
    if "clusterIp" in raw:
        cip = _get(raw, "clusterIp", "internal", dict)
        _get(cip, "service", "internal.clusterIp", str)
        app = _get(cip, "app", "internal.clusterIp", str)
        if app not in replicas:
            raise ContractError(f"internal.clusterIp.app: {app!r} is not in replicas; "
                                f"expected one of {', '.join(sorted(replicas))}")
    if "externalName" in raw:
        ext = _get(raw, "externalName", "internal", dict)
        _get(ext, "service", "internal.externalName", str)
        _get(ext, "cname", "internal.externalName", str)
    return raw
