"""What every renderer of the replica shares: pods, listeners, Service lookups, nginx snippets.

Its own module so render.py (Services, Ingresses) and gateway_render.py (Gateway API)
both use it without importing each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NO_ENDPOINTS = "127.0.0.1:1"  # a closed port: a Service without endpoints refuses, like kube-proxy's REJECT


@dataclass(frozen=True)
class Pod:
    name: str
    app: str
    node: str
    port: int
    container_port: int = 8080
    port_name: str = "http"

    @property
    def labels(self) -> dict[str, str]:
        return {"app": self.app}


@dataclass(frozen=True)
class Listener:
    key: str                 # stable across re-renders: ports are kept per key
    entry: str               # the entry point name in the outputs contract
    kind: str                # stream | http | https | redirect
    obj: dict[str, Any] = field(hash=False, compare=False)
    wanted_port: int | None = None  # a NodePort's real number, used if it can be bound


def name_of(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def selected_pods(svc: dict[str, Any], pods: list[Pod]) -> list[Pod]:
    selector = (svc.get("spec") or {}).get("selector") or {}
    if not selector:
        return []
    return [p for p in pods if all(p.labels.get(k) == v for k, v in selector.items())]


def service_port(svc: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any] | None:
    """The Service port a backend names, by number or by name."""
    for port in (svc.get("spec") or {}).get("ports") or []:
        if ("number" in ref and port.get("port") == ref["number"]) or \
                ("name" in ref and port.get("name") == ref["name"]):
            return port
    return None


def endpoints(svc: dict[str, Any], port: dict[str, Any], pods: list[Pod]) -> list[str]:
    target = port.get("targetPort", port.get("port"))
    return [f"127.0.0.1:{p.port}" for p in selected_pods(svc, pods)
            if target in (p.container_port, p.port_name, str(p.container_port))]


def upstream_name(*parts: Any) -> str:
    return "up_" + re.sub(r"[^A-Za-z0-9_]", "_", "_".join(str(p) for p in parts))


@dataclass
class Context:
    services: dict[str, dict[str, Any]]
    pods: list[Pod]
    public_node: str
    upstreams: dict[str, list[str]] = field(default_factory=dict)

    def backend(self, backend: dict[str, Any]) -> str:
        """Ingress-style backend ({"service": {"name", "port"}}) -> upstream name (declared on first use)."""
        ref = backend.get("service") or {}
        svc = self.services.get(ref.get("name", ""))
        port = service_port(svc, ref.get("port") or {}) if svc else None
        servers = endpoints(svc, port, self.pods) if port else []
        name = upstream_name(ref.get("name", "missing"), (ref.get("port") or {}).get("number")
                             or (ref.get("port") or {}).get("name"))
        self.upstreams[name] = servers or [NO_ENDPOINTS]
        return name


# ---- nginx snippets ----------------------------------------------------------

def q(text: str) -> str:
    """Inside an nginx double-quoted string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def indent(text: str) -> str:
    return "\n".join(("  " + line) if line else line for line in text.splitlines())


def upstream_block(name: str, servers: list[str]) -> str:
    lines = "".join(f"  server {s} max_fails=1 fail_timeout=10s;\n" for s in servers)
    return f"upstream {name} {{\n{lines}}}"
