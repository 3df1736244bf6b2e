"""Render one nginx config from Kubernetes Service and Ingress objects (dicts).

What stands for what:
  Service NodePort/LoadBalancer  -> an nginx `stream` server balancing per connection
                                    (kube-proxy / NLB); Cluster policy binds 127.10.0.1
                                    (the SNAT of a node), Local keeps the client address
                                    and uses only the public node's pods.
  Ingress class nginx            -> an `http` server with ingress-nginx semantics
                                    (use-regex / rewrite-target, per-host servers).
  Ingress class alb / traefik    -> an `http` server whose routing is ONE ordered list of
                                    (host, path) rules evaluated first-match like ALB
                                    listener rules (an nginx regex `map`); unmatched -> 404.
                                    traefik adds TLS and an http->https redirect server.
  Gateway (ALB controller class) -> an `http` server per HTTP listener: gateway_render.py.
Backends resolve Ingress -> Service (name + port) -> selector + targetPort -> the pods.
"""

from __future__ import annotations

import os
import re
from typing import Any

from tests.local_replica import gateway_render, nginx_install
# Pod, Listener, NO_ENDPOINTS and name_of are used as render.* by replica.py and the tests.
from tests.local_replica.objects import (NO_ENDPOINTS, Context, Listener, Pod, endpoints, indent,  # noqa: F401
                                         name_of, q, selected_pods, service_port, upstream_block, upstream_name)

SNAT_NODE = "127.10.0.1"      # the address kube-proxy SNATs to (a node's, inside vpcCidr)
INGRESS_POD = "127.10.0.2"    # the ingress controller's pod address (inside vpcCidr)
ANN = "nginx.ingress.kubernetes.io/"


# ---- objects -------------------------------------------------------------

def ingress_class(ing: dict[str, Any]) -> str:
    spec = ing.get("spec") or {}
    annotations = (ing.get("metadata") or {}).get("annotations") or {}
    return spec.get("ingressClassName") or annotations.get("kubernetes.io/ingress.class", "")


# ---- which listeners the objects ask for ---------------------------------

def listeners(manifests: list[dict[str, Any]], pods: list[Pod]) -> list[Listener]:
    found: list[Listener] = []
    for obj in manifests:
        if obj.get("kind") == "Service":
            found += _service_listeners(obj, pods)
        elif obj.get("kind") == "Ingress":
            found += _ingress_listeners(obj)
        elif obj.get("kind") == "Gateway":
            found += gateway_render.listeners(obj, manifests)
    return _unique_entries(found)


def entry_role(obj: dict[str, Any]) -> str | None:
    """Which way in an object provides (the contract's entry point name), if any."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Service":
        kind = spec.get("type", "ClusterIP")
        if kind == "LoadBalancer":
            return "nlb"
        if kind == "NodePort":
            return "nodeport-local" if spec.get("externalTrafficPolicy") == "Local" else "nodeport"
        return None  # ClusterIP/ExternalName are in-cluster only
    if obj.get("kind") == "Ingress":
        cls = ingress_class(obj)
        if cls == "alb":
            return "alb-hosts" if any(r.get("host") for r in spec.get("rules") or []) else "alb"
        return cls if cls in ("nginx", "traefik") else None
    return None


def _service_listeners(svc: dict[str, Any], pods: list[Pod]) -> list[Listener]:
    entry = entry_role(svc)
    if entry is None or not selected_pods(svc, pods):
        return []  # not a way in, or selects pods that are not ours
    kind = (svc.get("spec") or {}).get("type")
    return [Listener(f"service/{name_of(svc)}/{p.get('port')}", entry, "stream", svc,
                     p.get("nodePort") if kind == "NodePort" else None)
            for p in (svc.get("spec") or {}).get("ports") or []]


def _ingress_listeners(ing: dict[str, Any]) -> list[Listener]:
    entry, key = entry_role(ing), f"ingress/{name_of(ing)}"
    if entry == "traefik":
        return [Listener(key, entry, "https", ing), Listener(key + "/http", entry, "redirect", ing)]
    return [Listener(key, entry, "http", ing)] if entry else []


def _unique_entries(found: list[Listener]) -> list[Listener]:
    """Two objects of one kind (two LoadBalancer Services) get distinct entry names."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for lst in found:
        n = seen.get((lst.entry, lst.kind), 0)
        seen[(lst.entry, lst.kind)] = n + 1
        if n:
            lst = Listener(lst.key, f"{lst.entry}-{name_of(lst.obj)}", lst.kind, lst.obj, lst.wanted_port)
        out.append(lst)
    return out


# ---- rendering -----------------------------------------------------------

def render(manifests: list[dict[str, Any]], pods: list[Pod], ports: dict[str, int], *, prefix: str,
           public_node: str, tls: tuple[str, str] | None = None) -> str:
    ctx = Context({name_of(m): m for m in manifests if m.get("kind") == "Service"}, pods, public_node)
    http_parts: list[str] = []
    stream_parts: list[str] = []
    for lst in listeners(manifests, pods):
        port = ports[lst.key]
        if lst.kind == "stream":
            stream_parts.append(_stream_server(lst, port, ctx))
        elif lst.kind == "redirect":
            http_parts.append(_redirect_server(port, ports[lst.key[: -len("/http")]]))
        elif lst.obj.get("kind") == "Gateway":
            http_parts.append(gateway_render.server(lst, port, manifests, ctx))
        elif ingress_class(lst.obj) == "nginx":
            http_parts.append(_nginx_class_servers(lst.obj, port, ctx))
        else:
            http_parts.append(_ordered_rules_server(lst.obj, port, ctx, tls if lst.kind == "https" else None))
    # No upstream keepalive: the test app writes headers and body separately, and on a
    # kept-alive connection Nagle + delayed ACK then add ~40 ms to every reply.
    http_ups = [upstream_block(n, s) for n, s in ctx.upstreams.items() if not n.startswith("l4_")]
    stream_ups = [upstream_block(n[3:], s) for n, s in ctx.upstreams.items() if n.startswith("l4_")]
    return _skeleton(prefix, http_ups + http_parts, stream_ups + stream_parts)


def _skeleton(prefix: str, http: list[str], stream: list[str]) -> str:
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the prefix dir
    temp = "".join(f"  {d}_temp_path {prefix}/tmp/{d};\n" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (
        f"{nginx_install.stream_module_line()}{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
        f"http {{\n  access_log {prefix}/access.log;\n{temp}"
        "  map_hash_bucket_size 256;\n  server_names_hash_bucket_size 128;\n"
        f"  proxy_bind {INGRESS_POD};\n  proxy_connect_timeout 2s;\n"
        "  proxy_set_header Host $http_host;\n"
        "  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "  proxy_set_header X-Forwarded-Proto $scheme;\n"
        + indent("\n".join(http)) + "\n}\n"
        "stream {\n" + indent("\n".join(stream)) + "\n}\n"
    )


def _stream_server(lst: Listener, port: int, ctx: Context) -> str:
    spec = lst.obj.get("spec") or {}
    local = spec.get("externalTrafficPolicy") == "Local"
    svc_port = next(p for p in spec.get("ports") or [] if lst.key.endswith(f"/{p.get('port')}"))
    pods = [p for p in ctx.pods if p.node == ctx.public_node] if local else ctx.pods
    name = upstream_name(name_of(lst.obj), svc_port.get("port"), "local" if local else "cluster")
    ctx.upstreams["l4_" + name] = endpoints(lst.obj, svc_port, pods) or [NO_ENDPOINTS]
    # Cluster policy: the node SNATs (the app sees a node address); Local keeps the caller's.
    bind = "" if local else f"  proxy_bind {SNAT_NODE};\n"
    return (f"server {{  # {lst.entry}: Service {name_of(lst.obj)} ({spec.get('type')})\n"
            f"  listen 127.0.0.1:{port};\n  proxy_pass {name};\n{bind}  proxy_connect_timeout 2s;\n}}")


# -- ingress-nginx -----------------------------------------------------------

def _nginx_class_servers(ing: dict[str, Any], port: int, ctx: Context) -> str:
    annotations = (ing.get("metadata") or {}).get("annotations") or {}
    rewrite = annotations.get(ANN + "rewrite-target")
    # ingress-nginx: rewrite-target implies regex paths.
    regex = annotations.get(ANN + "use-regex") == "true" or rewrite is not None
    by_host: dict[str, list[dict[str, Any]]] = {}
    for rule in (ing.get("spec") or {}).get("rules") or []:
        by_host.setdefault(rule.get("host") or "_", []).extend((rule.get("http") or {}).get("paths") or [])
    by_host.setdefault("_", [])  # unknown hosts reach the default backend: 404
    servers = []
    for host, paths in by_host.items():
        locations = _regex_locations(paths, rewrite, ctx) if regex else _prefix_locations(paths, ctx)
        default = " default_server" if host == "_" else ""
        servers.append(f"server {{  # Ingress {name_of(ing)} (nginx) host {host}\n"
                       f"  listen 127.0.0.1:{port}{default};\n  server_name {host};\n"
                       + indent(locations) + "\n}")
    return "\n".join(servers)


def _regex_locations(paths: list[dict[str, Any]], rewrite: str | None, ctx: Context) -> str:
    # ingress-nginx orders regex locations longest first; nginx takes the first regex match.
    ordered = sorted(paths, key=lambda p: len(p.get("path", "/")), reverse=True)
    out = []
    for p in ordered:
        pattern = "^" + p.get("path", "/").lstrip("^")
        rw = f'  rewrite "(?i){q(pattern)}" {rewrite} break;\n' if rewrite else ""
        out.append(f'location ~* "{q(pattern)}" {{\n{rw}  proxy_pass http://{ctx.backend(p["backend"])};\n}}')
    out.append("location / { return 404; }  # default backend")
    return "\n".join(out)


def _prefix_locations(paths: list[dict[str, Any]], ctx: Context) -> str:
    out, taken = [], set()
    for p in paths:
        up = ctx.backend(p["backend"])
        for loc in _prefix_forms(p.get("path", "/"), p.get("pathType", "Prefix")):
            if loc not in taken:
                taken.add(loc)
                out.append(f"location {loc} {{ proxy_pass http://{up}; }}")
    if "/" not in taken:
        out.append("location / { return 404; }  # default backend")
    return "\n".join(out)


def _prefix_forms(path: str, path_type: str) -> list[str]:
    path = path.rstrip("/") or "/"
    if path_type == "Exact":
        return [f"= {path}"]
    if path_type == "ImplementationSpecific" or path == "/":
        return [path]
    return [f"= {path}", f"{path}/"]  # Prefix matches whole path elements: /v1, /v1/..., not /v1x


# -- ALB / Traefik: ordered first-match rules ------------------------------------

def ordered_rules(ing: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    rules = [(r.get("host"), p) for r in (ing.get("spec") or {}).get("rules") or []
             for p in (r.get("http") or {}).get("paths") or []]
    if ingress_class(ing) == "traefik":
        # Traefik's default priority: the longer rule first.
        rules.sort(key=lambda hp: len(hp[0] or "") + len(hp[1].get("path", "/")), reverse=True)
    return rules


def rule_regex(host: str | None, path: str, path_type: str) -> str:
    """A regex over "$host:$uri" for one rule (ALB host-header + path-pattern conditions)."""
    if not host:
        host_re = "[^:]*"
    elif host.startswith("*."):
        host_re = r"[^.:]+\." + re.escape(host[2:])  # a wildcard covers one DNS label
    else:
        host_re = re.escape(host.lower())
    trimmed = path.rstrip("/") or "/"
    if path_type == "Exact":
        path_re = re.escape(path)
    elif path_type == "ImplementationSpecific":
        path_re = re.escape(path).replace(r"\*", ".*")  # ALB path patterns: * is a glob
    elif trimmed == "/":
        path_re = "/.*"
    else:
        path_re = re.escape(trimmed) + "(/.*)?"
    return f"^{host_re}:{path_re}$"


def _ordered_rules_server(ing: dict[str, Any], port: int, ctx: Context, tls: tuple[str, str] | None) -> str:
    var = "$" + upstream_name("route", name_of(ing))
    entries = "".join(f'  "~{q(rule_regex(h, p.get("path", "/"), p.get("pathType", "Prefix")))}" '
                      f'{ctx.backend(p["backend"])};\n' for h, p in ordered_rules(ing))
    listen = f"listen 127.0.0.1:{port} ssl;\n  ssl_certificate {tls[0]};\n  ssl_certificate_key {tls[1]};" \
        if tls else f"listen 127.0.0.1:{port};"
    return (f'map "$host:$uri" {var} {{  # Ingress {name_of(ing)} ({ingress_class(ing)}): first match wins\n'
            f'  default "";\n{entries}}}\n'
            f"server {{\n  {listen}\n  location / {{\n"
            f'    if ({var} = "") {{ return 404; }}\n    proxy_pass http://{var};\n  }}\n}}')


def _redirect_server(port: int, https_port: int) -> str:
    # Traefik's web entry point redirecting to websecure (the replica's https port is not 443).
    return (f"server {{  # http -> https\n  listen 127.0.0.1:{port};\n"
            f"  location / {{ return 308 https://$host:{https_port}$request_uri; }}\n}}")
