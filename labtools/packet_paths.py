"""Each entry point's packet path, step by step, as post 004 draws it (docs/lessons.md,
lesson 7): read from the objects the program registers (Services, Ingresses, Helm values,
the program's NLB)."""

from __future__ import annotations

import json
from typing import Any

from labtools.simulate import Graph, plain
from stacks.settings import LabSettings

RELEASE = "kubernetes:helm.sh/v3:Release"
AWS_LB = "aws:lb/loadBalancer:LoadBalancer"


class _Lab:
    """Lookups over the graph for the packet paths."""

    def __init__(self, graph: Graph, s: LabSettings):
        self.graph, self.s = graph, s

    def spec(self, kind: str, name: str) -> dict:
        return plain(self.graph.k8s(kind, name).inputs.get("spec") or {})

    def annotations(self, kind: str, name: str) -> dict:
        return self.graph.k8s(kind, name).inputs.get("metadata", {}).get("annotations") or {}

    def pod(self, app: str, target_port: Any) -> str:
        """`pod app1 :8080`, the Service's targetPort resolved through the Deployment's ports."""
        port = target_port
        for d in self.graph.k8s_objects():
            if d.inputs["kind"] == "Deployment" and d.inputs["metadata"].get("labels", {}).get("app") == app:
                for c in plain(d.inputs["spec"])["template"]["spec"]["containers"]:
                    for cp in c.get("ports", []):
                        if target_port in (cp.get("name"), cp["containerPort"]):
                            port = cp["containerPort"]
        return f"pod {app} :{port}"

    def backend(self, service: str, port: Any) -> list[str]:
        spec = self.spec("Service", service)
        (sp,) = [x for x in spec["ports"] if port in (x.get("port"), x.get("name"))]
        return [f"Service {service}:{sp['port']}", self.pod(spec["selector"]["app"], sp["targetPort"])]

    def rules(self, ingress: str) -> list[tuple[str | None, str, str, str, Any]]:
        """(host, path, pathType, service, port) per path of the Ingress."""
        found = []
        for rule in self.spec("Ingress", ingress)["rules"]:
            for p in rule["http"]["paths"]:
                svc = p["backend"]["service"]
                port = svc["port"].get("number", svc["port"].get("name"))
                found.append((rule.get("host"), p["path"], p["pathType"], svc["name"], port))
        return found


def packet_paths(graph: Graph, s: LabSettings) -> dict[str, list[list[str]]]:
    """Each entry point's way in, step by step, as post 004 draws it."""
    lab = _Lab(graph, s)
    builders = {"nodeport": _nodeport, "nodeport-local": _nodeport, "nlb": _nlb, "alb": _alb,
                "alb-hosts": _alb, "nginx": _nginx, "traefik": _traefik, "gateway": _gateway}
    paths = {}
    for name, entry in (graph.outputs.get("entrypoints") or {}).items():
        build = builders.get(name)
        paths[name] = build(lab, entry) if build else [["(no packet path known to labtools/packet_paths.py)"]]
    return paths


def _nodeport(lab: _Lab, entry: dict) -> list[list[str]]:
    svc = entry["service"]
    spec = lab.spec("Service", svc)
    (port,) = spec["ports"]
    local = spec.get("externalTrafficPolicy") == "Local"
    proxy = ("kube-proxy (externalTrafficPolicy Local: no SNAT, the client address is kept)" if local
             else "kube-proxy (SNAT, externalTrafficPolicy Cluster)")
    service, pod = lab.backend(svc, port["port"])
    where = "(only pods on that node; a node without one drops it)" if local else "(any node)"
    return [["client", f"public node ({lab.s.public_nodes.name}) :{port['nodePort']} (NodePort)", proxy,
             service, f"{pod} {where}"]]


def _nlb(lab: _Lab, entry: dict) -> list[list[str]]:
    svc = entry["service"]
    spec = lab.spec("Service", svc)
    (port,) = spec["ports"]
    target = lab.annotations("Service", svc).get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type")
    service, pod = lab.backend(svc, port["port"])
    return [["client", "DNS (the NLB's name, known after up)",
             f"NLB of Service {svc} :{port['port']} (TCP, {target} targets)",
             "node:NodePort (assigned by Kubernetes)", "kube-proxy (SNAT, externalTrafficPolicy Cluster)",
             service, f"{pod} (any node)"]]


def _alb(lab: _Lab, entry: dict) -> list[list[str]]:
    ing = entry["ingress"]
    a = {k.rsplit("/", 1)[-1]: v for k, v in lab.annotations("Ingress", ing).items()}
    listen = ", ".join(f"{proto} :{port}" for x in json.loads(a.get("listen-ports", "[]")) for proto, port in x.items())
    front = ["client", "DNS (the ALB's name, known after up)",
             f"ALB {a.get('load-balancer-name', '')} {listen} (IngressGroup {a.get('group.name', ing)})"]
    paths = []
    for host, path, path_type, svc, port in lab.rules(ing):
        service, pod = lab.backend(svc, port)
        paths.append([*front, f"Ingress {ing} rule {host or '(any host)'} {path} ({path_type})",
                      f"{service} ({a.get('target-type')} targets: no NodePort)", f"{pod} (pod IP, directly)"])
    return paths


def _nginx(lab: _Lab, entry: dict) -> list[list[str]]:
    ing = entry["ingress"]
    values = plain(lab.graph.one(RELEASE, "ingress-nginx").inputs["values"])
    service = values["controller"]["service"]
    if service["type"] == "NodePort":
        front = ["client", f"public node ({lab.s.public_nodes.name}) :{service['nodePorts']['http']} (NodePort)",
                 "kube-proxy"]
    else:
        target = service["annotations"].get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type")
        front = ["client", "DNS (the NLB's name, known after up)", f"NLB :80 (TCP, {target} targets)"]
    rewrite = lab.annotations("Ingress", ing).get("nginx.ingress.kubernetes.io/rewrite-target")
    paths = []
    for _, path, _, svc, port in lab.rules(ing):
        prefix = path.split("(")[0]
        paths.append([*front, "ingress-nginx controller pod :80",
                      f"Ingress {ing} rule {path} (rewrite {rewrite}: {prefix}/x becomes /x)", *lab.backend(svc, port)])
    return paths


def _traefik(lab: _Lab, entry: dict) -> list[list[str]]:
    g = lab.graph
    nlb = g.one(AWS_LB).inputs["name"]
    values = plain(g.one(RELEASE, "traefik").inputs["values"])
    node_ports = {int(tg.inputs["port"]): tg for tg in g.of_type("aws:lb/targetGroup:TargetGroup")}
    listeners = {}  # entry point name -> (listener port, node port)
    for lst in g.of_type("aws:lb/listener:Listener"):
        (action,) = lst.inputs["defaultActions"]
        tg = next(t for t in node_ports.values() if action["targetGroupArn"].endswith(f"/{t.name}"))
        ep = next(k for k, v in values["ports"].items() if v.get("nodePort") == int(tg.inputs["port"]))
        listeners[ep] = (int(lst.inputs["port"]), int(tg.inputs["port"]))
    ing = entry["ingress"]
    paths = []
    for host, path, _, svc, port in lab.rules(ing):
        lport, nport = listeners["websecure"]
        paths.append(["client", f"DNS {host}", f"NLB {nlb} :{lport} (TCP)", f"node:{nport} (NodePort)",
                      "kube-proxy", "Traefik pod websecure (TLS ends)", f"Ingress {ing} rule {host}{path}",
                      *lab.backend(svc, port)])
    if "web" in listeners:
        lport, nport = listeners["web"]
        redirect = values["ports"]["web"].get("http", {}).get("redirections", {}).get("entryPoint", {})
        paths.append(["client", "DNS (any host)", f"NLB {nlb} :{lport} (TCP)", f"node:{nport} (NodePort)",
                      "kube-proxy", "Traefik pod web",
                      f"redirect to {redirect.get('scheme', 'https')} ({redirect.get('to', '?')})"
                      if redirect else "routers of entry point web"])
    return paths


def _gateway(lab: _Lab, entry: dict) -> list[list[str]]:
    """Gateway -> its LoadBalancerConfiguration (the ALB) and listener -> each HTTPRoute rule."""
    name = entry["gateway"]
    gw = lab.spec("Gateway", name)
    config = lab.spec("LoadBalancerConfiguration", gw["infrastructure"]["parametersRef"]["name"])
    targets = lab.spec("TargetGroupConfiguration", config["defaultTargetGroupConfiguration"]["name"])
    target_type = targets["defaultConfiguration"]["targetType"]
    (listener,) = gw["listeners"]
    front = ["client", "DNS (the ALB's name, known after up)",
             f"ALB {config['loadBalancerName']} {listener['protocol']} :{listener['port']} "
             f"(Gateway {name}, class {gw['gatewayClassName']})"]
    paths = []
    for route in lab.graph.of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"):
        route_name, spec = route.inputs["metadata"]["name"], plain(route.inputs["spec"])
        for rule in spec["rules"]:
            (match,) = rule["matches"]
            when = f"{match['path']['value']} ({match['path']['type']})" + "".join(
                f", header {h['name']}: {h['value']}" for h in match.get("headers") or [])
            prefix = match["path"]["value"]
            rewrite = [f"rewrite ReplacePrefixMatch: {prefix}/x becomes "
                       f"{f['urlRewrite']['path']['replacePrefixMatch'].rstrip('/')}/x"
                       for f in rule.get("filters") or [] if f["type"] == "URLRewrite"]
            refs = rule["backendRefs"]
            total = sum(r.get("weight", 1) for r in refs)
            for ref in refs:
                service, pod = lab.backend(ref["name"], ref["port"])
                share = [f"weight {ref['weight']} of {total}"] if len(refs) > 1 else []
                paths.append([*front, f"HTTPRoute {route_name} rule {when}", *rewrite, *share,
                              f"{service} ({target_type} targets: no NodePort)", f"{pod} (pod IP, directly)"])
    return paths
