"""Whole-graph consistency checks over Kubernetes manifests.

Each returns a list of problems (empty when consistent), so the tests can run
them on the program's real objects and on deliberately broken copies.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

NODE_PORT_RANGE = range(30000, 32768)
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def _of_kind(manifests: Iterable[dict], kind: str) -> list[dict]:
    return [m for m in manifests if m.get("kind") == kind]


def _name(m: dict) -> str:
    return m["metadata"]["name"]


def _pod_templates(manifests: Iterable[dict]) -> list[tuple[str, dict]]:
    return [(_name(d), d["spec"]["template"]) for d in _of_kind(manifests, "Deployment")]


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def selectors_match_pods(manifests: list[dict]) -> list[str]:
    problems = []
    for svc in _of_kind(manifests, "Service"):
        selector = svc["spec"].get("selector")
        if svc["spec"].get("type") == "ExternalName" or not selector:
            continue
        if not any(_matches(selector, t["metadata"].get("labels", {})) for _, t in _pod_templates(manifests)):
            problems.append(f"Service {_name(svc)}: selector {selector} matches no Deployment's pods")
    return problems


def target_ports_exist(manifests: list[dict]) -> list[str]:
    problems = []
    for svc in _of_kind(manifests, "Service"):
        selector = svc["spec"].get("selector") or {}
        pods = [t for _, t in _pod_templates(manifests) if selector and _matches(selector, t["metadata"].get("labels", {}))]
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for pod in pods:
                ports = [p for c in pod["spec"]["containers"] for p in c.get("ports", [])]
                ok = any(p.get("name") == target for p in ports) if isinstance(target, str) \
                    else any(p["containerPort"] == target for p in ports)
                if not ok:
                    problems.append(f"Service {_name(svc)}: targetPort {target!r} is not a port of the "
                                    f"pods it selects ({selector})")
    return problems


def node_ports_valid(manifests: list[dict]) -> list[str]:
    problems, seen = [], {}
    for svc in _of_kind(manifests, "Service"):
        for port in svc["spec"].get("ports", []):
            node_port = port.get("nodePort")
            if node_port is None:
                continue
            if node_port not in NODE_PORT_RANGE:
                problems.append(f"Service {_name(svc)}: nodePort {node_port} outside 30000-32767")
            if node_port in seen:
                problems.append(f"Service {_name(svc)}: nodePort {node_port} already used by {seen[node_port]}")
            seen.setdefault(node_port, _name(svc))
    return problems


def service_names_are_dns_labels(manifests: list[dict]) -> list[str]:
    return [f"Service {_name(s)}: not a DNS label (RFC 1035, at most 63 characters)"
            for s in _of_kind(manifests, "Service") if not DNS_LABEL.fullmatch(_name(s))]


ALL = [selectors_match_pods, target_ports_exist, node_ports_valid, service_names_are_dns_labels]


def check(manifests: list[dict[str, Any]]) -> list[str]:
    return [p for rule in ALL for p in rule(manifests)]
