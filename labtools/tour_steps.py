"""Each lesson's steps for one lab: its kubectl lines and a curl per route, notFound path and
redirect of its entry points, with what the lesson expects, read from the outputs contract.

The same rendering makes the guide's blocks (docs/lessons.md: the posts' settings, addresses
as shell variables) and `./lab tour` (the lab's own addresses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from labtools.lessons import Lesson
from smoke_tests.cluster import PROBE_IMAGE
from smoke_tests.outputs import Contract, Entrypoint, NotFound, Route

NODE_VAR = "$NODE_IP"
CA_VAR = "$LAB_CA"
# The guide's names for the load balancers' DNS names (docs/lessons.md, "Before you start").
HOST_VARS = {"nlb": "$NLB", "alb": "$ALB", "alb-hosts": "$ALB", "nginx": "$NGINX", "traefik": "$TRAEFIK",
             "gateway": "$GATEWAY"}
SAFE_PATH = re.compile(r"^[A-Za-z0-9/._~-]*$")
STATUS_ONLY = "-o /dev/null -w '%{http_code}\\n'"
REDIRECT_ONLY = "-o /dev/null -w '%{http_code} %{redirect_url}\\n'"


@dataclass(frozen=True)
class Where:
    """Where the curls go: the public node's address and the lab CA files by entry point (missing:
    the guide's variables), and whether load balancers are named by variables (the guide) or by
    the outputs."""

    node: str | None = None
    ca_files: dict[str, str] = field(default_factory=dict)
    symbolic: bool = False


@dataclass(frozen=True)
class Step:
    kind: str  # kubectl | route | notFound | redirect
    command: str
    expect: str
    entry: Entrypoint | None = None
    route: Route | None = None
    not_found: NotFound | None = None

    @property
    def curl(self) -> bool:
        return self.kind != "kubectl"

    @property
    def label(self) -> str:
        """What the curl checks, as the smoke tests name it: a route, a notFound path, the redirect."""
        if self.route is not None:
            return self.route.label
        return self.not_found.label if self.not_found is not None else "redirect"

    @property
    def line(self) -> str:
        return f"{self.command}  # {self.expect}" if self.expect else self.command


def present(lesson: Lesson, contract: Contract) -> bool:
    """Is the lesson in this lab: its entry points, or its in-cluster Service, in the outputs."""
    if lesson.internal:
        return lesson.internal in contract.internal
    return any(name in contract.entrypoints for name in lesson.entrypoints)


def steps(lesson: Lesson, contract: Contract, where: Where) -> list[Step]:
    ports = _Ports({name: str(ep.node_port) for name, ep in contract.entrypoints.items() if ep.node_port})
    fields = {"image": PROBE_IMAGE, "ports": ports,
              **_internal_fields(contract.internal.get(lesson.internal or "", {}))}
    found = [Step("kubectl", k.command.format_map(fields), k.expect.format_map(fields)) for k in lesson.kubectl]
    for name in lesson.entrypoints:
        ep = contract.entrypoints.get(name)
        if ep is None:
            continue
        found += [Step("route", curl_route(ep, r, where), expect_route(ep, r, contract), ep, route=r)
                  for r in ep.routes]
        found += [Step("notFound", curl_not_found(ep, nf, where), "404", ep, not_found=nf) for nf in ep.not_found]
        if ep.redirects_to_https:
            found.append(Step("redirect", curl_redirect(ep, where), "301 or 308 to https://", ep))
    return found


class _Ports(dict):
    def __missing__(self, name: str) -> str:
        return "<node port>"  # an entry point without one (ingress-nginx behind an NLB)


def _internal_fields(spec: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in spec.items() if k in ("service", "cname")}


# ---- curl lines ------------------------------------------------------------

def _address(ep: Entrypoint, where: Where) -> tuple[str, str, int]:
    """(scheme, host, port) the entry point is reached at, a variable where the guide uses one."""
    if ep.node_port is not None:
        return "http", where.node or NODE_VAR, ep.node_port
    parts = urlsplit(ep.url or "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = HOST_VARS.get(ep.name, parts.hostname) if where.symbolic else parts.hostname
    return parts.scheme, host or "", port


def _url(scheme: str, host: str, port: int, path: str) -> str:
    netloc = host if port == (443 if scheme == "https" else 80) else f"{host}:{port}"
    if SAFE_PATH.match(path):
        return f"{scheme}://{netloc}{path}"
    escaped = re.sub(r'(["\\`$])', r"\\\1", path)  # inside double quotes, so a $VAR host still expands
    return f'"{scheme}://{netloc}{escaped}"'


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _request(ep: Entrypoint, where: Where, path: str, host: str | None,
             headers: tuple[tuple[str, str], ...] = (), extra: str = "") -> str:
    scheme, address, port = _address(ep, where)
    words = ["curl -s"] + ([extra] if extra else [])
    if scheme == "https" and host:
        # TLS for the route's own name (SNI, Host, the certificate check), sent to the load balancer.
        words += [f"--cacert {where.ca_files.get(ep.name, CA_VAR)}", f"--connect-to {host}:443:{address}:{port}"]
        url = _url("https", host, 443, path)
    else:
        words += [f"-H {_quote(f'Host: {host}')}"] if host else []
        url = _url(scheme, address, port, path)
    words += [f"-H {_quote(f'{k}: {v}')}" for k, v in headers]
    return " ".join([*words, url])


def curl_route(ep: Entrypoint, route: Route, where: Where) -> str:
    return _request(ep, where, route.path, route.host, route.headers)


def curl_not_found(ep: Entrypoint, nf: NotFound, where: Where) -> str:
    return _request(ep, where, nf.path, nf.host, extra=STATUS_ONLY)


def curl_redirect(ep: Entrypoint, where: Where) -> str:
    """Plain HTTP to the first route's host, at the entry point's http address."""
    route = ep.routes[0]
    plain = urlsplit(ep.http_url) if ep.http_url else urlsplit(ep.url or "")
    address = HOST_VARS.get(ep.name, plain.hostname) if where.symbolic else plain.hostname
    port = plain.port or 80
    words = ["curl -s", REDIRECT_ONLY]
    if route.host:
        words.append(f"--connect-to {route.host}:80:{address}:{port}")
        return " ".join([*words, _url("http", route.host, 80, route.path)])
    return " ".join([*words, _url("http", address or "", port, route.path)])


# ---- what the lesson expects -------------------------------------------------

def expect_route(ep: Entrypoint, route: Route, contract: Contract) -> str:
    if route.weighted:
        total = sum(w for _, w in route.weights)
        who = " / ".join(f"{app} {100 * w / total:.0f}%" for app, w in route.weights)
        text = f"{who} of the requests, sees {route.app_sees}"
    else:
        n = contract.replicas.get(route.app or "", 0)
        pods = "only its pod on that node" if ep.node_local else f"any of its {n} pods"
        text = f"{route.app} ({pods}), sees {route.app_sees}"
    if route.client_preserved is True:
        text += ", client: your address"
    elif route.client_preserved is False:
        text += ", client: a node's address (SNAT)"
    return text
