"""The stack outputs: the contract the smoke tests and the lifecycle tools read.

Names are fixed (README, "Stack outputs"); the smoke tests never import the
program, they read these only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from stacks.lab import Lab


ANY_PATH = [{"path": "/", "app": "app1", "appSees": "/"},
            {"path": "/some/deep/path", "app": "app1", "appSees": "/some/deep/path"}]


def entrypoints(lab: "Lab") -> pulumi.Output[dict]:
    """One entry per way in from outside; see README, "The outputs contract"."""
    entries = static_entrypoints(lab)
    if lab.services.services.get("app-lb-svc"):
        entries["nlb"] = lab.services.hostname("app-lb-svc").apply(lambda host: {
            "url": f"http://{host}", "layer": "L4", "service": "app-lb-svc",
            # Instance targets and externalTrafficPolicy Cluster: the node SNATs.
            "routes": [{**r, "clientPreserved": False} for r in ANY_PATH]})
    if lab.alb:
        entries["alb"] = lab.alb.hostname.apply(lambda host: alb_entry(host))
        entries["alb-hosts"] = lab.alb.hostname.apply(lambda host: alb_hosts_entry(host, lab.settings.domain))
    if lab.nginx:
        nginx = nginx_entry()
        if lab.nginx.hostname is not None:
            entries["nginx"] = lab.nginx.hostname.apply(lambda host: {"url": f"http://{host}", **nginx})
        else:
            entries["nginx"] = {"nodePort": lab.settings.ingress_nginx.http_node_port, **nginx}
    if lab.traefik:
        entries["traefik"] = pulumi.Output.all(lab.traefik.hostname, lab.traefik.ca_certificate).apply(
            lambda a: traefik_entry(a[0], a[1], lab.settings.domain))
    return pulumi.Output.from_input(entries)


def traefik_entry(host: str, ca_pem: str, domain: str) -> dict:
    """TLS ends at Traefik: verify against the lab CA, with SNI and Host set per route."""
    myapp, admin = f"myapp.{domain}", f"admin.{domain}"
    routes = [{"host": h, "path": p, "app": app, "appSees": p} for h, p, app in (
        (myapp, "/api", "app1"), (myapp, "/api/users", "app1"), (admin, "/", "app2"), (admin, "/settings", "app2"))]
    return {"url": f"https://{host}", "httpUrl": f"http://{host}", "layer": "L7", "ingress": "traefik-ingress",
            "routes": routes, "notFound": [{"host": myapp, "path": "/"}],
            "caCertificate": ca_pem, "redirectsToHttps": True}


def alb_entry(host: str) -> dict:
    # An ALB cannot rewrite: the app sees the full path. Paths outside /v1 and /v2
    # fall to the host rules' default rule, so nothing on this ALB answers 404.
    return {"url": f"http://{host}", "layer": "L7", "ingress": "alb-ingress",
            "routes": [{"path": p, "app": app, "appSees": p} for p, app in
                       (("/v1", "app1"), ("/v1/x", "app1"), ("/v2", "app2"), ("/v2/y", "app2"))]}


def alb_hosts_entry(host: str, domain: str) -> dict:
    """Post 002's host rules; each route names the rule it proves."""
    def route(host_header: str, path: str, app: str) -> dict:
        return {"host": host_header, "path": path, "app": app, "appSees": path}
    my = f"my.{domain}"
    return {"url": f"http://{host}", "layer": "L7", "ingress": "alb-host-ingress", "routes": [
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


def static_entrypoints(lab: "Lab") -> dict:
    s = lab.settings
    any_path = ANY_PATH
    return {
        # kube-proxy SNATs NodePort traffic under externalTrafficPolicy Cluster.
        "nodeport": {"nodePort": s.node_port, "layer": "L4", "service": "app-nodeport-svc",
                     "routes": [{**r, "clientPreserved": False} for r in any_path]},
        "nodeport-local": {"nodePort": s.node_port_local, "layer": "L4", "service": "app-nodeport-local-svc",
                           "externalTrafficPolicy": "Local",
                           "routes": [{**r, "clientPreserved": True} for r in any_path]},
    }


def internal(lab: "Lab") -> dict:
    from stacks.lab import APP_NAMESPACE, SERVICE_PORT

    return {
        "clusterIp": {"service": f"app-clusterip-svc.{APP_NAMESPACE}.svc.cluster.local:{SERVICE_PORT}",
                      "app": "app1"},
        "externalName": {"service": f"web-service-externalname.{APP_NAMESPACE}.svc.cluster.local",
                         "cname": lab.settings.external_name},
    }


def export(lab: "Lab") -> None:
    s = lab.settings
    pulumi.export("clusterName", s.cluster_name)
    pulumi.export("region", s.region)
    pulumi.export("kubeconfig", lab.cluster.kubeconfig)  # a secret: never printed
    pulumi.export("vpcId", lab.network.vpc_id)
    pulumi.export("vpcCidr", str(s.vpc_cidr))
    pulumi.export("publicSubnetIds", lab.network.public_subnet_ids)
    pulumi.export("privateSubnetIds", lab.network.private_subnet_ids)
    pulumi.export("oidcProviderArn", lab.cluster.oidc_provider_arn)
    pulumi.export("replicas", {app: s.app_replicas for app in lab.testapp.deployments})
    pulumi.export("entrypoints", entrypoints(lab))
    pulumi.export("internal", internal(lab))
    # From the settings alone (the program cannot see its graph); tests/test_plan.py holds them
    # equal to the offline plan's figures. Cost is None for a region stacks/prices.py lacks.
    from stacks import estimates, prices
    pulumi.export("estimatedHourlyCostUsd", prices.settings_hourly_usd(s))
    pulumi.export("estimatedProvisionMinutes", estimates.settings_provision_minutes(s))
