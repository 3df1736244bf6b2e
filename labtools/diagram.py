"""The lab's packet paths as a Mermaid flowchart, from the lab model (so it matches the settings).

Every entry point that is on: client -> load balancer or node port -> controller or
kube-proxy -> Ingress rule -> Service -> the pods of its app, as post 004 draws it
(docs/lessons.md, lesson 7).
Services and pods are shared nodes: the picture shows where the ways in meet.
`./lab plan --diagram FILE` writes it (`-`: stdout); GitHub renders a ```mermaid block.
"""

from __future__ import annotations

import re

from stacks.model import LabModel


class Flowchart:
    def __init__(self) -> None:
        self.nodes: dict[str, str] = {}
        self.edges: list[tuple[str, str]] = []

    def node(self, key: str, label: str, shape: str = "box") -> str:
        ident = re.sub(r"[^A-Za-z0-9]", "_", key)
        text = label.replace('"', "#quot;").replace("|", "#124;")
        self.nodes.setdefault(ident, {"box": f'["{text}"]', "round": f'(["{text}"])',
                                      "pods": f'[["{text}"]]'}[shape])
        return ident

    def path(self, *idents: str) -> None:
        for a, b in zip(idents, idents[1:]):
            if (a, b) not in self.edges:
                self.edges.append((a, b))

    def render(self) -> str:
        lines = ["flowchart LR"]
        lines += [f"  {ident}{shape}" for ident, shape in self.nodes.items()]
        lines += [f"  {a} --> {b}" for a, b in self.edges]
        return "\n".join(lines) + "\n"


def diagram(model: LabModel) -> str:
    s, f = model.settings, Flowchart()
    client = f.node("client", "client", "round")
    service_app = {d.name: d.app for d in model.services}
    public = next(ng for ng in model.node_groups if ng.public)

    def to_pods(service: str, app: str | None = None, local: bool = False) -> list[str]:
        app = app or service_app[service]
        pods = (f.node(f"pods {app} local", f"{app} pods on that node", "pods") if local
                else f.node(f"pods {app}", f"{app} pods ({s.app_replicas})", "pods"))
        return [f.node(f"svc {service}", f"Service {service}"), pods]

    names = model.entrypoints
    if "nodeport" in names:
        f.path(client, f.node("np", f"{public.name} node :{s.node_port} (NodePort)"),
               f.node("kp snat", "kube-proxy (SNAT)"), *to_pods("app-nodeport-svc"))
    if "nodeport-local" in names:
        f.path(client, f.node("npl", f"{public.name} node :{s.node_port_local} (NodePort)"),
               f.node("kp local", "kube-proxy (Local: no SNAT)"),
               *to_pods("app-nodeport-local-svc", local=True))
    if "nlb" in names:
        f.path(client, f.node("nlb", "NLB of app-lb-svc (instance targets)"), f.node("node np", "node :NodePort"),
               f.node("kp snat", "kube-proxy (SNAT)"), *to_pods("app-lb-svc"))
    if model.alb:
        alb = f.node("alb", f"ALB {model.alb.load_balancer_name} (IngressGroup {model.alb.group_name})")
        for ing in model.alb.ingresses:
            for rule in ing.rules:
                for p in rule.paths:
                    rule_node = f.node(f"{ing.name} {rule.host or 'any'} {p.path}",
                                       f"{ing.name}: {rule.host or 'any host'} {p.path} ({p.path_type})")
                    f.path(client, alb, rule_node, *to_pods(p.service))
    if model.nginx:
        n = model.nginx
        if n.service_type == "LoadBalancer":
            front = [f.node("nginx nlb", "NLB of ingress-nginx (ip targets)")]
        else:
            front = [f.node("nginx np", f"{public.name} node :{n.http_node_port} (NodePort)"),
                     f.node("kp snat", "kube-proxy (SNAT)")]
        controller = f.node("nginx", "ingress-nginx controller")
        for r in n.routes:
            f.path(client, *front, controller,
                   f.node(f"app-ingress {r.prefix}", f"app-ingress: {r.prefix}/x rewritten to /x (regex)"),
                   *to_pods(r.service))
    if model.traefik:
        t = model.traefik
        traefik = [f.node("traefik nlb", f"NLB {t.nlb_name} :443 (of the program)"),
                   f.node("traefik np", f"node :{t.websecure_node_port} (NodePort)"),
                   f.node("kp snat", "kube-proxy (SNAT)"),
                   f.node("traefik", "Traefik (TLS ends)")]
        for b in t.backends:
            f.path(client, *traefik, f.node(f"traefik-ingress {b.host}", f"traefik-ingress: {b.host}{b.path}"),
                   *to_pods(b.service, b.app))
    if model.gateway:
        _gateway(f, model, client, to_pods)
    return f.render()


def _gateway(f: Flowchart, model: LabModel, client: str, to_pods) -> None:
    g = model.gateway
    gateway = f.node("gateway", f"ALB {g.load_balancer_name} (Gateway {g.name})")
    for route in g.routes:
        for i, rule in enumerate(route.rules):
            total = sum(b.weight or 1 for b in rule.backends)
            what = [f"{route.name}: {rule.path}"]
            what += [f"header {k}: {v}" for k, v in rule.headers.items()]
            if rule.replace_prefix is not None:
                what.append(f"{rule.path}/x rewritten to {rule.replace_prefix.rstrip('/')}/x")
            if len(rule.backends) > 1:
                what.append(" / ".join(f"{100 * (b.weight or 1) / total:.0f}% {b.service}" for b in rule.backends))
            rule_node = f.node(f"{route.name} {i}", ", ".join(what))
            for b in rule.backends:
                f.path(client, gateway, rule_node, *to_pods(b.service))
