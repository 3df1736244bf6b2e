"""Traefik behind the program's own NLB, with the lab CA and post 004's host rules."""

import pytest

from components import traefik
from stacks import model
from tests import ordering
from tests.chart_values import chart_keys, unknown_keys
from labtools.simulate import secret_value
from tests.programs import run_lab, run_program

LB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
ATTACH = "aws:autoscaling/attachment:Attachment"
RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def lab():
    return run_lab()


def test_release(lab):
    r = lab.one(ordering.RELEASE, "traefik").inputs
    assert (r["chart"], r["version"], r["namespace"]) == ("traefik", "41.3.0", "api-gateway-system")
    assert r["repositoryOpts"]["repo"] == "https://traefik.github.io/charts"
    v = r["values"]
    assert v["service"] == {"spec": {"type": "NodePort"}}
    assert v["ports"]["web"]["nodePort"] == 30880 and v["ports"]["websecure"]["nodePort"] == 30843
    assert v["ports"]["websecure"]["http"]["tls"]["enabled"] is True
    assert v["ports"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
    assert v["ingressClass"]["isDefaultClass"] is False  # never the cluster default over nginx and alb
    assert v["ports"]["traefik"]["expose"]["default"] is False and v["ports"]["metrics"]["expose"]["default"] is False


def test_values_exist_in_the_pinned_chart():
    keys = chart_keys("traefik", model.TRAEFIK_CHART.version)
    assert unknown_keys(traefik.chart_values(30880, 30843), keys) == []
    # the keys chart 40 and 39 renamed: caught
    old = {"service": {"type": "NodePort"}, "ports": {"websecure": {"tls": {"enabled": True}}}}
    assert unknown_keys(old, keys) == ["service.type", "ports.websecure.tls.enabled"]


def test_nlb_is_an_aws_resource_of_the_program(lab):
    nlb = lab.one(LB, "traefik-nlb").inputs
    assert nlb["loadBalancerType"] == "network" and nlb["internal"] is False
    assert sorted(nlb["subnets"]) == ["lab-public-ap-northeast-2a-id", "lab-public-ap-northeast-2c-id"]
    listeners = {l.inputs["port"]: l.inputs for l in lab.of_type(LISTENER)}
    groups = {g.name: g.inputs for g in lab.of_type(TG)}
    assert set(listeners) == {80, 443}
    for port, group, node_port in ((80, "traefik-web", 30880), (443, "traefik-websecure", 30843)):
        assert listeners[port]["protocol"] == "TCP"
        (action,) = listeners[port]["defaultActions"]
        assert action["targetGroupArn"].endswith(f"/{group}")
        g = groups[group]
        assert (g["port"], g["protocol"], g["targetType"]) == (node_port, "TCP", "instance")
        assert g["healthCheck"]["port"] == "traffic-port"


def test_targets_are_the_node_groups_instances(lab):
    pairs = {(a.inputs["autoscalingGroupName"], a.inputs["lbTargetGroupArn"].rsplit("/", 1)[-1])
             for a in lab.of_type(ATTACH)}
    assert pairs == {(f"eks-{ng}-asg", tg) for ng in ("ng-private", "ng-public")
                     for tg in ("traefik-web", "traefik-websecure")}


def test_nlb_reaches_the_nodes(lab):
    rules = {r.name: r.inputs for r in lab.of_type(RULE) if r.name.startswith("traefik")}
    for port_name, port in (("web", 30880), ("websecure", 30843)):
        rule = rules[f"traefik-{port_name}-from-nlb"]
        assert rule["securityGroupId"] == "sg-eks-cluster"
        assert rule["referencedSecurityGroupId"] == "traefik-nlb-id"
        assert (rule["fromPort"], rule["toPort"]) == (port, port)


def test_tls_secret_holds_the_certificate_for_the_hosts(lab):
    secret = lab.k8s("Secret", "traefik-lab-tls").inputs
    assert secret["type"] == "kubernetes.io/tls"
    data = secret["stringData"]
    assert secret_value(data) is not None or secret_value(data.get("tls.key")) is not None, \
        "the private key must be a Pulumi secret"
    request = lab.one("tls:index/certRequest:CertRequest", "traefik-server").inputs
    assert sorted(request["dnsNames"]) == ["admin.example.com", "myapp.example.com"]
    ca = lab.one("tls:index/selfSignedCert:SelfSignedCert", "traefik-ca").inputs
    assert ca["isCaCertificate"] is True


def test_ingress_rules(lab):
    ing = lab.k8s("Ingress", "traefik-ingress").inputs
    spec = ing["spec"]
    assert spec["ingressClassName"] == "traefik"
    assert spec["tls"] == [{"hosts": ["admin.example.com", "myapp.example.com"], "secretName": "traefik-lab-tls"}]
    rules = [(r["host"], p["path"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"])
             for r in spec["rules"] for p in r["http"]["paths"]]
    assert rules == [("myapp.example.com", "/api", "my-app-service", "http"),
                     ("admin.example.com", "/", "admin-service", "http")]
    for name, app in (("my-app-service", "app1"), ("admin-service", "app2")):
        svc = lab.k8s("Service", name).inputs["spec"]
        assert svc["selector"] == {"app": app}
        assert svc["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert ordering.ingress_waits_for_its_controller(lab, "traefik-ingress", "traefik") == []


def test_output(lab):
    t = lab.outputs["entrypoints"]["traefik"]
    assert t["url"].startswith("https://traefik-nlb") and t["redirectsToHttps"] is True
    assert t["caCertificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert {"host": "myapp.example.com", "path": "/api", "app": "app1", "appSees": "/api"} in t["routes"]
    assert {"host": "myapp.example.com", "path": "/"} in t["notFound"]


def test_module_off():
    lab = run_lab({"lab:modules": {"traefik": False}})
    assert lab.of_type(LB) == [] and not any(r.name == "traefik" for r in lab.of_type(ordering.RELEASE))
    assert "traefik" not in lab.outputs["entrypoints"]


def test_node_ports_must_not_collide():
    graph, error = run_program({"lab:traefik": {"webNodePort": 30001}})
    assert "lab:traefik.webNodePort = 30001: is already used by lab:nodePort" in str(error)
    assert graph.resources == []
