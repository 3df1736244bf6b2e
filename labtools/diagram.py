"""The lab's packet paths as a Mermaid flowchart, from the lab model (so it matches the settings).

Every entry point that is on: client -> load balancer or node port -> controller or
kube-proxy -> Ingress rule -> Service -> the pods of its app, as post 004 draws it
(docs/lessons.md, lesson 7), each
edge labelled with the port the packet is sent to there. Services and pods are shared
nodes: the picture shows where the ways in meet. Nothing else is shared (each Service has
its own kube-proxy hop), so every path through the chart is a way in of the lab.
`./lab plan --diagram FILE` writes it (`-`: stdout); GitHub renders a ```mermaid block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from stacks.model import LabModel
from stacks.model_types import CONTAINER_PORT

# Ports the components set and the model does not carry (tests/test_diagram.py holds them to
# the objects the program registers): the ALB and Gateway listeners (HTTP 80), the Traefik
# NLB's TLS listener, Traefik's backend Services (post 004's port 80), and ingress-nginx's
# controller.containerPort.http (chart 4.15.1).
HTTP_LISTENER_PORT = 80
TRAEFIK_TLS_PORT = 443
TRAEFIK_SERVICE_PORT = 80
NGINX_HTTP_PORT = 80


@dataclass(frozen=True)
class Hop:
    """One step of a way in. Hops with one key are one node of the chart, so a key stands for
    what the ways in really share (a Service, an app's pods), never for steps that look alike."""

    key: str
    label: str
    port: str = ""
    """The label of the edge into this hop: the port the packet is sent to (none: no port)."""
    shape: str = "box"


CLIENT = Hop("client", "client", shape="round")
SHAPES = {"box": '["{}"]', "round": '(["{}"])', "pods": '[["{}"]]'}


def ident(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", key)


def _text(label: str) -> str:
    return label.replace('"', "#quot;").replace("|", "#124;")


def render(paths: Iterable[list[Hop]]) -> str:
    """The flowchart of these paths: a node per hop key, an edge per step (drawn once)."""
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for path in paths:
        for hop in path:
            nodes.setdefault(ident(hop.key), SHAPES[hop.shape].format(_text(hop.label)))
        for a, b in zip(path, path[1:]):
            if (edge := (ident(a.key), b.port, ident(b.key))) not in edges:
                edges.append(edge)
    lines = ["flowchart LR", *(f"  {i}{shape}" for i, shape in nodes.items())]
    lines += [f'  {a} -->|"{_text(port)}"| {b}' if port else f"  {a} --> {b}" for a, port, b in edges]
    return "\n".join(lines) + "\n"


def diagram(model: LabModel) -> str:
    return render(path for paths in lab_paths(model).values() for path in paths)


def lab_paths(model: LabModel) -> dict[str, list[list[Hop]]]:
    """Entry point -> each of its ways in, from the client to the pods, for the modules that are on."""
    s, eps = model.settings, model.entrypoints
    public = next(ng for ng in model.node_groups if ng.public)
    service_of = {d.name: d for d in model.services}

    def to_pods(service: str, port: int, app: str | None = None, local: bool = False) -> list[Hop]:
        app = app or service_of[service].app
        pods = (Hop(f"pods {app} local", f"{app} pods on that node", f":{CONTAINER_PORT}", "pods") if local
                else Hop(f"pods {app}", f"{app} pods ({s.app_replicas})", f":{CONTAINER_PORT}", "pods"))
        return [Hop(f"svc {service}", f"Service {service}", f":{port}"), pods]

    def node_port(key: str, port: int | str) -> Hop:
        return Hop(key, f"{public.name} node (NodePort)", f":{port}")

    found: dict[str, list[list[Hop]]] = {}
    for name in ("nodeport", "nodeport-local"):
        if name in eps:
            svc = service_of[eps[name].fields["service"]]
            local = svc.external_traffic_policy == "Local"
            proxy = "kube-proxy (Local: no SNAT)" if local else "kube-proxy (SNAT)"
            found[name] = [[CLIENT, node_port(f"np {svc.node_port}", svc.node_port),
                            Hop(f"kp {svc.name}", f"{proxy} for {svc.name}"), *to_pods(svc.name, svc.port, local=local)]]
    if "nlb" in eps:
        svc = service_of[eps["nlb"].fields["service"]]
        target = svc.annotations.get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type")
        found["nlb"] = [[CLIENT, Hop("nlb", f"NLB of {svc.name} ({target} targets)", f":{svc.port}"),
                         Hop("node np", "node (NodePort)", "NodePort"),
                         Hop(f"kp {svc.name}", f"kube-proxy (SNAT) for {svc.name}"), *to_pods(svc.name, svc.port)]]
    if model.alb:
        found.update(_alb(model, to_pods))
    if model.nginx:
        n = model.nginx
        front = ([Hop("nginx nlb", "NLB of ingress-nginx (ip targets)", f":{HTTP_LISTENER_PORT}")]
                 if n.service_type == "LoadBalancer" else
                 [node_port("nginx np", n.http_node_port), Hop("kp nginx", "kube-proxy (SNAT) for the ingress-nginx Service")])
        controller = Hop("nginx", "ingress-nginx controller", f":{NGINX_HTTP_PORT}")
        found["nginx"] = [[CLIENT, *front, controller, Hop(f"app-ingress {r.prefix}",
                                                           f"app-ingress: {r.prefix}/x rewritten to /x (regex)"),
                           *to_pods(r.service, r.port)] for r in n.routes]
    if model.traefik:
        t = model.traefik
        front = [CLIENT, Hop("traefik nlb", f"NLB {t.nlb_name} (of the program)", f":{TRAEFIK_TLS_PORT}"),
                 Hop("traefik np", "node (NodePort)", f":{t.websecure_node_port}"),
                 Hop("kp traefik", "kube-proxy (SNAT) for the traefik Service"), Hop("traefik", "Traefik (TLS ends)", "websecure")]
        found["traefik"] = [[*front, Hop(f"traefik-ingress {b.host}", f"traefik-ingress: {b.host}{b.path}"),
                             *to_pods(b.service, TRAEFIK_SERVICE_PORT, b.app)] for b in t.backends]
    if model.gateway:
        found["gateway"] = _gateway(model, to_pods)
    return found


def _alb(model: LabModel, to_pods) -> dict[str, list[list[Hop]]]:
    a = model.alb
    alb = Hop("alb", f"ALB {a.load_balancer_name} (IngressGroup {a.group_name})", f":{HTTP_LISTENER_PORT}")
    entry_of = {e.fields.get("ingress"): name for name, e in model.entrypoints.items()}
    return {entry_of[ing.name]: [
        [CLIENT, alb, Hop(f"{ing.name} {rule.host or 'any'} {p.path}",
                          f"{ing.name}: {rule.host or 'any host'} {p.path} ({p.path_type})"), *to_pods(p.service, p.port)]
        for rule in ing.rules for p in rule.paths] for ing in a.ingresses}


def _gateway(model: LabModel, to_pods) -> list[list[Hop]]:
    g = model.gateway
    gateway = Hop("gateway", f"ALB {g.load_balancer_name} (Gateway {g.name})", f":{HTTP_LISTENER_PORT}")
    paths = []
    for route in g.routes:
        for i, rule in enumerate(route.rules):
            total = sum(b.weight or 1 for b in rule.backends)
            what = [f"{route.name}: {rule.path}"]
            what += [f"header {k}: {v}" for k, v in rule.headers.items()]
            if rule.replace_prefix is not None:
                what.append(f"{rule.path}/x rewritten to {rule.replace_prefix.rstrip('/')}/x")
            if len(rule.backends) > 1:
                what.append(" / ".join(f"{100 * (b.weight or 1) / total:.0f}% {b.service}" for b in rule.backends))
            rule_hop = Hop(f"{route.name} {i}", ", ".join(what))
            paths += [[CLIENT, gateway, rule_hop, *to_pods(b.service, b.port)] for b in rule.backends]
    return paths
