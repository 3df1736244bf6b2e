"""Render a Gateway's HTTP listeners from Gateway API objects, as the AWS Load Balancer
Controller (v3.5.0, pkg/gateway/routeutils) programs them on an ALB.

  Gateway of a GatewayClass with controllerName gateway.k8s.aws/alb
      -> one nginx `http` server per HTTP listener; HTTPRoutes attach by parentRefs.
  each match of each HTTPRoute rule -> one ALB listener rule. The rules are sorted by the
      controller's precedence and tried first-match: one regex `map` over the key
      "<condition bits> <host>:<uri>", a rule's regex per entry.
  path PathPrefix /v1 -> the path patterns /v1 and /v1/* (so not /v1abc); Exact -> the path.
  headers, method, queryParams -> one 0/1 `map` each: a bit of that key.
  URLRewrite path -> the controller's url-rewrite transform (regex (^/v1(/)?) for
      ReplacePrefixMatch) as a server-level `rewrite ... break` for that rule.
  backendRefs -> one upstream per Service port (the ALB's target group, round-robin);
      several with weights -> `split_clients` on $request_id (a weighted forward action).
  no rule matches -> 404, the listener's default fixed response.
A feature this does not render raises NotImplementedError: dropping it would render a
different data path than the program asked for.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from tests.local_replica.objects import Context, Listener, name_of, q

CONTROLLER = "gateway.k8s.aws/alb"
ENTRY = "gateway"
# The API server's defaults (the CRDs'): a rule without matches matches every path.
DEFAULT_MATCHES = [{"path": {"type": "PathPrefix", "value": "/"}}]
PATH_RANK = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}  # route_rule_precedence.go


def _refuse(what: str) -> None:
    raise NotImplementedError(f"the local replica does not render {what}")


def _ns(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("namespace") or "default"


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("spec") or {}


# ---- which listeners, which routes ---------------------------------------------

def listeners(gw: dict[str, Any], manifests: list[dict[str, Any]]) -> list[Listener]:
    """One per HTTP listener of a Gateway the ALB controller owns (no other controller runs here)."""
    cls = _spec(gw).get("gatewayClassName")
    if not any(m.get("kind") == "GatewayClass" and name_of(m) == cls
               and _spec(m).get("controllerName") == CONTROLLER for m in manifests):
        return []
    return [Listener(f"gateway/{_ns(gw)}/{name_of(gw)}/{lst.get('name')}", ENTRY, "http", gw)
            for lst in _spec(gw).get("listeners") or [] if lst.get("protocol") == "HTTP"]


def attached_routes(gw: dict[str, Any], section: str, manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    listener = next(lst for lst in _spec(gw)["listeners"] if lst.get("name") == section)
    if listener.get("hostname"):
        _refuse("a Gateway listener's hostname")
    allowed = ((listener.get("allowedRoutes") or {}).get("namespaces") or {}).get("from", "Same")
    if allowed not in ("Same", "All"):
        _refuse(f"allowedRoutes from {allowed}")

    def attaches(route: dict[str, Any], ref: dict[str, Any]) -> bool:
        return (ref.get("kind", "Gateway") == "Gateway" and ref.get("name") == name_of(gw)
                and ref.get("namespace", _ns(route)) == _ns(gw) and ref.get("sectionName") in (None, section)
                and ref.get("port") in (None, listener.get("port")))

    return [r for r in manifests if r.get("kind") == "HTTPRoute"
            and (allowed == "All" or _ns(r) == _ns(gw))
            and any(attaches(r, ref) for ref in _spec(r).get("parentRefs") or [])]


# ---- rule precedence ---------------------------------------------------------------

@dataclass(frozen=True)
class Match:
    route: dict[str, Any]
    rule: dict[str, Any]
    rule_index: int
    match_index: int
    match: dict[str, Any]

    @property
    def path(self) -> tuple[str, str]:
        path = self.match.get("path") or {}
        return path.get("type", "PathPrefix"), path.get("value", "/")

    @property
    def hostnames(self) -> list[str]:
        return list(_spec(self.route).get("hostnames") or [])

    def factors(self) -> tuple:
        """Larger first: path type (Exact, PathPrefix, RegularExpression), path length, has a
        method, header count, query parameter count."""
        kind, value = self.path
        return (PATH_RANK.get(kind, 0), len(value), bool(self.match.get("method")),
                len(self.match.get("headers") or []), len(self.match.get("queryParams") or []))

    def tiebreak(self) -> tuple:
        """Smaller first: the older route, then namespace/name, rule index, match index."""
        created = (self.route.get("metadata") or {}).get("creationTimestamp") or ""
        return created, f"{_ns(self.route)}/{name_of(self.route)}", self.rule_index, self.match_index


def _host_order(a: str, b: str) -> int:
    """-1: a first. A name before a wildcard, then more dots, then longer."""
    if a.startswith("*.") != b.startswith("*."):
        return 1 if a.startswith("*.") else -1
    for x, y in ((a.count("."), b.count(".")), (len(a), len(b))):
        if x != y:
            return -1 if x > y else 1
    return 0


def _compare(a: Match, b: Match) -> int:
    by_host = functools.cmp_to_key(_host_order)
    for x, y in zip(sorted(a.hostnames, key=by_host), sorted(b.hostnames, key=by_host)):
        if order := _host_order(x, y):
            return order
    if a.factors() != b.factors():
        return -1 if a.factors() > b.factors() else 1
    return (a.tiebreak() > b.tiebreak()) - (a.tiebreak() < b.tiebreak())


def ordered_matches(routes: list[dict[str, Any]]) -> list[Match]:
    found = [Match(route, rule, i, j, match) for route in routes
             for i, rule in enumerate(_spec(route).get("rules") or [])
             for j, match in enumerate(rule.get("matches") or DEFAULT_MATCHES)]
    return sorted(found, key=functools.cmp_to_key(_compare))


# ---- conditions -------------------------------------------------------------------

def _glob(value: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value)


def _variable(prefix: str, name: str, allowed: str) -> str:
    if not re.fullmatch(f"[{allowed}]+", name):
        _refuse(f"the name {name!r} (nginx variables take [{allowed}] only)")
    return f"${prefix}{name.lower().replace('-', '_')}"


def conditions(match: dict[str, Any]) -> list[tuple[str, str]]:
    """(nginx variable, map pattern) per ALB condition besides host and path; all must hold."""
    # ALB http-header and query-string conditions compare case-insensitively, with * and ? as
    # globs, and the controller passes the value whatever the match type (Exact or not).
    found = [(_variable("http_", h["name"], "A-Za-z0-9-"), "~*^" + _glob(h["value"]) + "$")
             for h in match.get("headers") or []]
    found += [(_variable("arg_", p["name"], "A-Za-z0-9_"), "~*^" + _glob(p["value"]) + "$")
              for p in match.get("queryParams") or []]
    if match.get("method"):
        found.append(("$request_method", match["method"]))
    return found


def path_regex(kind: str, value: str) -> str:
    """The ALB path patterns the controller makes for a match, as one regex."""
    if kind == "Exact":
        return re.escape(value)
    if kind != "PathPrefix":
        _refuse(f"path type {kind}")
    if value == "/":
        return "/.*"  # pattern /*
    trimmed = value[:-1] if value.endswith("/") else value
    return re.escape(trimmed) + "(/.*)?"  # patterns /v1 and /v1/*


def host_regex(hostnames: list[str]) -> str:
    if not hostnames:
        return "[^:]*"
    return "(?:" + "|".join(r"[^:]+\." + re.escape(h[2:].lower()) if h.startswith("*.") else re.escape(h.lower())
                            for h in hostnames) + ")"


# ---- actions ------------------------------------------------------------------------

def rewrite(m: Match) -> str | None:
    """The rule's url-rewrite transform as an nginx rewrite (route_rule_transform.go)."""
    for f in m.rule.get("filters") or []:
        rw = f.get("urlRewrite") or {}
        if f.get("type") != "URLRewrite" or rw.get("hostname"):
            _refuse(f"the HTTPRoute filter {f.get('type')}{' hostname' if rw.get('hostname') else ''}")
        path = rw.get("path")
        if not path:
            continue
        if path.get("type") == "ReplaceFullPath":
            return f'rewrite ^ "{q(path["replaceFullPath"])}" break;'  # the ALB's regex ^([^?]*)
        # The ALB replaces what (^<value>(/)?) matches, the value taken as a regex as the
        # controller leaves it; $2 is the optional slash, kept unless the replacement ends in /.
        replacement = path.get("replacePrefixMatch") or "/"
        if not replacement.endswith("/"):
            replacement += "$2"
        return f'rewrite "(^{q(m.path[1])}(/)?)(?<gw_rest>.*)$" "{q(replacement)}$gw_rest" break;'
    return None


def backend(rule: dict[str, Any], ctx: Context, split_var: str) -> tuple[str, str]:
    """(what the rule's upstream variable holds, any split_clients block it needs)."""
    weighted = []
    for ref in rule.get("backendRefs") or []:
        if ref.get("kind", "Service") != "Service" or ref.get("group", "") != "" or "namespace" in ref:
            _refuse(f"the backendRef {ref}")
        if int(ref.get("weight", 1)) > 0:  # weight 0: no traffic; unset: the API's default, 1
            up = ctx.backend({"service": {"name": ref.get("name", ""), "port": {"number": ref.get("port")}}})
            weighted.append((up, int(ref.get("weight", 1))))
    if len(weighted) < 2:
        return (weighted[0][0] if weighted else '""'), ""  # "": no backend, 500 as the API asks
    return split_var, split_clients(split_var, weighted)


def split_clients(var: str, weighted: list[tuple[str, int]]) -> str:
    """A weighted forward action: each request to one target group with probability w/total.

    split_clients takes percentages with two decimals and the weights' total need not be
    100, so the cumulative shares are rounded to 0.01%: every bucket is within 0.005% of
    w/total and they sum to exactly 100% (the last is `*`, the rest). A bucket that rounds
    to 0.00% is left out (the ALB would still send it a share under 0.005%)."""
    total, cum, before, lines = sum(w for _, w in weighted), 0, 0, []
    for i, (up, w) in enumerate(weighted):
        cum += w
        upto = round(10000 * cum / total)  # in hundredths of a percent
        share, before = upto - before, upto
        if share:
            pct = "*" if i == len(weighted) - 1 else f"{share // 100}.{share % 100:02d}%"
            lines.append(f"  {pct} {up};")
    return f'split_clients "$request_id" {var} {{\n' + "\n".join(lines) + "\n}"


# ---- the server -----------------------------------------------------------------------

def server(lst: Listener, port: int, manifests: list[dict[str, Any]], ctx: Context) -> str:
    gw, section = lst.obj, lst.key.rsplit("/", 1)[1]
    var = "$" + re.sub(r"\W", "_", f"gw_{_ns(gw)}_{name_of(gw)}_{section}")
    matches = ordered_matches(attached_routes(gw, section, manifests))
    bits: dict[tuple[str, str], str] = {}  # (variable, pattern) -> its 0/1 variable
    for m in matches:
        for cond in conditions(m.match):
            bits.setdefault(cond, f"{var}_c{len(bits)}")
    blocks = [f'map {v} {b} {{ default 0; "{q(pattern)}" 1; }}' for (v, pattern), b in bits.items()]
    rules, ups, rewrites = [], [], []
    for i, m in enumerate(matches):
        need = {bits[c] for c in conditions(m.match)}
        key_re = "".join("1" if b in need else "." for b in bits.values())
        regex = f"^{key_re} {host_regex(m.hostnames)}:{path_regex(*m.path)}$"
        rules.append(f'  "~{q(regex)}" r{i};  # {name_of(m.route)} rule {m.rule_index} match {m.match_index}')
        up, split = backend(m.rule, ctx, f"{var}_r{i}_split")
        ups.append(f"  r{i} {up};")
        blocks += [split] if split else []
        if rw := rewrite(m):
            rewrites.append(f'  if ({var}_rule = r{i}) {{ {rw} }}')
    blocks.append(f'map "{"".join(bits.values())} $host:$uri" {var}_rule {{  # first match wins\n'
                  f'  default "";\n' + "\n".join(rules) + "\n}")
    blocks.append(f'map {var}_rule {var}_up {{\n  default "";\n' + "\n".join(ups) + "\n}")
    # Server-level rewrites run before the location is chosen; the maps keep the rule
    # found on the path as it came in.
    return "\n".join(blocks) + (
        f"\nserver {{  # Gateway {_ns(gw)}/{name_of(gw)} listener {section} (ALB controller)\n"
        f"  listen 127.0.0.1:{port};\n"
        f'  if ({var}_rule = "") {{ return 404; }}  # the listener\'s default action\n'
        + "".join(r + "\n" for r in rewrites)
        + f'  location / {{\n    if ({var}_up = "") {{ return 500; }}\n    proxy_pass http://{var}_up;\n  }}\n}}')
