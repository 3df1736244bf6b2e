"""The lab's entry points: every way in from outside, with what each route must return.

Part of the lab model (stacks/model.py): plain data, no Pulumi. What only `up`
can know (a load balancer's DNS name, the lab CA's certificate) is filled in by
stacks/outputs.py; the README, "The outputs contract", says what each key means.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from stacks.model_types import CANARY_HEADER, CANARY_PATH, CANARY_WEIGHTS
from stacks.settings import LabSettings
from stacks.settings.load import NODE_PORT_RANGE

NODE_PORTS = "the EKS cluster security group's rule over every NodePort, TCP {}-{}".format(*NODE_PORT_RANGE)
# What admits only lab:clientCidrs to each entry point (ingress-nginx as NodePort: NODE_PORTS).
GUARDS = {
    "nodeport": NODE_PORTS, "nodeport-local": NODE_PORTS,
    "nlb": "the NLB's security group, from app-lb-svc's spec.loadBalancerSourceRanges",
    "alb": "the ALB's security group, from the inbound-cidrs of every Ingress of its group",
    "alb-hosts": "the ALB's security group, from the inbound-cidrs of every Ingress of its group",
    "nginx": "the NLB's security group, from the ingress-nginx Service's spec.loadBalancerSourceRanges",
    "traefik": "the Traefik NLB's security group, TCP 80 and 443",
    "gateway": "the ALB's security group, from the LoadBalancerConfiguration's sourceRanges",
}
ANY_PATH = [{"path": "/", "app": "app1", "appSees": "/"},
            {"path": "/some/deep/path", "app": "app1", "appSees": "/some/deep/path"}]


@dataclass(frozen=True)
class Entrypoint:
    fields: dict[str, Any]
    """The contract entry, without what only `up` knows."""
    address: str | None = None
    """Whose DNS name makes the url: `service:<name>`, `alb`, `nginx`, `traefik` or `gateway`; None for a
    node port."""
    scheme: str = "http"
    tls: bool = False
    """Served over TLS by the lab CA: the entry also gets `httpUrl` and `caCertificate`."""
    extra: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    """Who may reach it (lab:clientCidrs); not part of the contract: the plan shows it."""
    guard: str = ""
    """What admits only those sources."""

    def resolve(self, host: str | None = None, ca_pem: str | None = None) -> dict[str, Any]:
        if self.address is None:
            return dict(self.fields)
        entry = {"url": f"{self.scheme}://{host}", **self.fields}
        if self.tls:
            entry.update(httpUrl=f"http://{host}", caCertificate=ca_pem)
        return entry


def entrypoints(s: LabSettings, has_nlb: bool) -> dict[str, Entrypoint]:
    """One entry per way in, for the modules that are on, each with who may reach it."""
    return {name: replace(entry, sources=[str(c) for c in s.client_cidrs], guard=entry.guard or GUARDS[name])
            for name, entry in _entrypoints(s, has_nlb).items()}


def _entrypoints(s: LabSettings, has_nlb: bool) -> dict[str, Entrypoint]:
    entries = {
        # kube-proxy SNATs NodePort traffic under externalTrafficPolicy Cluster.
        "nodeport": Entrypoint({"nodePort": s.node_port, "layer": "L4", "service": "app-nodeport-svc",
                                "routes": [{**r, "clientPreserved": False} for r in ANY_PATH]}),
        "nodeport-local": Entrypoint({"nodePort": s.node_port_local, "layer": "L4",
                                      "service": "app-nodeport-local-svc", "externalTrafficPolicy": "Local",
                                      "routes": [{**r, "clientPreserved": True} for r in ANY_PATH]}),
    }
    if has_nlb:
        entries["nlb"] = Entrypoint({"layer": "L4", "service": "app-lb-svc",
                                     # Instance targets and externalTrafficPolicy Cluster: the node SNATs.
                                     "routes": [{**r, "clientPreserved": False} for r in ANY_PATH]},
                                    address="service:app-lb-svc")
    if s.modules.alb:
        entries["alb"] = Entrypoint(alb_entry(), address="alb")
        entries["alb-hosts"] = Entrypoint(alb_hosts_entry(s.domain), address="alb")
    if s.modules.ingress_nginx:
        if s.ingress_nginx.service_type == "LoadBalancer":
            entries["nginx"] = Entrypoint(nginx_entry(), address="nginx")
        else:
            entries["nginx"] = Entrypoint({"nodePort": s.ingress_nginx.http_node_port, **nginx_entry()},
                                          guard=NODE_PORTS)
    if s.modules.traefik:
        entries["traefik"] = Entrypoint(traefik_entry(s.domain), address="traefik", scheme="https", tls=True)
    if s.modules.gateway_api:
        entries["gateway"] = Entrypoint(gateway_entry(), address="gateway")
    return entries


def alb_entry() -> dict:
    # An ALB cannot rewrite: the app sees the full path. Paths outside /v1 and /v2
    # fall to the host rules' default rule, so nothing on this ALB answers 404.
    return {"layer": "L7", "ingress": "alb-ingress",
            "routes": [{"path": p, "app": app, "appSees": p} for p, app in
                       (("/v1", "app1"), ("/v1/x", "app1"), ("/v2", "app2"), ("/v2/y", "app2"))]}


def alb_hosts_entry(domain: str) -> dict:
    """Post 002's host rules; each route names the rule it proves."""
    def route(host_header: str, path: str, app: str) -> dict:
        return {"host": host_header, "path": path, "app": app, "appSees": path}
    my = f"my.{domain}"
    return {"layer": "L7", "ingress": "alb-host-ingress", "routes": [
        route(my, "/some-path", "app1"),                     # my.<domain> Prefix
        route(my, "/some-path/deeper", "app1"),
        route(my, "/some-other-path", "app2"),               # my.<domain> Exact
        route(my, "/some-other-path/x", "app1"),             # not Exact: falls to the default rule
        route(f"api.{domain}", "/some-path", "app2"),        # *.<domain>
        route(f"api.{domain}", "/elsewhere", "app1"),        # wildcard host, other path: default
        route("lab.invalid", "/anything", "app1"),           # no host matches: default rule
    ]}


def nginx_entry() -> dict:
    """The regex/rewrite Ingress: /v1/x reaches app1 as /x."""
    routes = [{"path": p, "app": app, "appSees": seen} for p, app, seen in (
        ("/v1", "app1", "/"), ("/v1/", "app1", "/"), ("/v1/x", "app1", "/x"), ("/v1/x/y", "app1", "/x/y"),
        ("/v2", "app2", "/"), ("/v2/y", "app2", "/y"))]
    # No rule for these: the controller's default backend answers 404 (the regex needs / or end after v1).
    return {"layer": "L7", "ingress": "app-ingress", "routes": routes, "notFound": ["/", "/v3", "/v1abc"]}


def traefik_entry(domain: str) -> dict:
    """TLS ends at Traefik: verify against the lab CA, with SNI and Host set per route."""
    myapp, admin = f"myapp.{domain}", f"admin.{domain}"
    routes = [{"host": h, "path": p, "app": app, "appSees": p} for h, p, app in (
        (myapp, "/api", "app1"), (myapp, "/api/users", "app1"), (admin, "/", "app2"), (admin, "/settings", "app2"))]
    return {"layer": "L7", "ingress": "traefik-ingress", "routes": routes,
            "notFound": [{"host": myapp, "path": "/"}], "redirectsToHttps": True}


def gateway_entry() -> dict:
    """The HTTPRoutes of the Gateway API lesson (stacks/model.py, gateway_def)."""
    # The rewrite as the nginx lesson's: /v1/x reaches app1 as /x.
    routes: list[dict] = [{"path": p, "app": app, "appSees": seen} for p, app, seen in (
        ("/v1", "app1", "/"), ("/v1/x", "app1", "/x"), ("/v2", "app2", "/"), ("/v2/y", "app2", "/y"))]
    routes += [{"path": CANARY_PATH, "weights": dict(CANARY_WEIGHTS), "appSees": CANARY_PATH},
               {"path": CANARY_PATH, "headers": dict([CANARY_HEADER]), "app": "app2", "appSees": CANARY_PATH}]
    # No rule matches these: the listener's default action answers 404. PathPrefix matches
    # whole path segments, so /v1abc is not /v1.
    return {"layer": "L7", "gateway": "lab-gateway", "routes": routes, "notFound": ["/", "/v3", "/v1abc"]}


def internal(s: LabSettings, namespace: str, port: int) -> dict:
    """What only a pod inside the cluster can check."""
    return {
        "clusterIp": {"service": f"app-clusterip-svc.{namespace}.svc.cluster.local:{port}", "app": "app1"},
        "externalName": {"service": f"web-service-externalname.{namespace}.svc.cluster.local",
                         "cname": s.external_name},
    }
