"""ingress-nginx, app-ingress, and post 002's host rules on the shared ALB."""

import copy

import pytest

from components import nginx_ingress
from stacks import model
from tests import ordering
from tests.chart_values import chart_keys, unknown_keys
from tests.programs import run_lab, run_program


@pytest.fixture(scope="module")
def lab():
    return run_lab()


def release(lab):
    return lab.one(ordering.RELEASE, "ingress-nginx")


def test_release(lab):
    r = release(lab).inputs
    assert (r["chart"], r["version"]) == ("ingress-nginx", "4.15.1")
    assert r["repositoryOpts"]["repo"] == "https://kubernetes.github.io/ingress-nginx"
    assert r["namespace"] == "ingress-nginx"
    c = r["values"]["controller"]
    assert c["service"] == {"type": "NodePort", "nodePorts": {"http": 30080, "https": 30443}}
    assert c["ingressClassResource"] == {"name": "nginx", "enabled": True, "default": False,
                                         "controllerValue": "k8s.io/ingress-nginx"}
    assert lab.waits_for(release(lab), lab.k8s("Namespace", "ingress-nginx"))


@pytest.mark.parametrize("service_type", ["NodePort", "LoadBalancer"])
def test_values_exist_in_the_pinned_chart(service_type):
    keys = chart_keys("ingress-nginx", model.INGRESS_NGINX_CHART.version)
    values = nginx_ingress.chart_values(service_type, 30080, 30443, ["198.51.100.7/32"])
    assert unknown_keys(values, keys) == []


def test_a_key_the_chart_does_not_read_is_caught():
    keys = chart_keys("ingress-nginx", model.INGRESS_NGINX_CHART.version)
    assert unknown_keys({"controller": {"service": {"nodePort": {"http": 30080}}}}, keys) == [
        "controller.service.nodePort.http"]


def test_load_balancer_service_type():
    lab = run_lab({"lab:ingressNginx": {"serviceType": "LoadBalancer"}})
    service = lab.one(ordering.RELEASE, "ingress-nginx").inputs["values"]["controller"]["service"]
    assert service["type"] == "LoadBalancer" and service["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert "nodePorts" not in service
    assert lab.outputs["entrypoints"]["nginx"]["url"].startswith("http://")


def test_app_ingress(lab):
    ing = lab.k8s("Ingress", "app-ingress").inputs
    assert ing["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/use-regex": "true",
                                              "nginx.ingress.kubernetes.io/rewrite-target": "/$2"}
    spec = ing["spec"]
    assert spec["ingressClassName"] == "nginx"
    (rule,) = spec["rules"]
    paths = [(p["path"], p["pathType"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
             for p in rule["http"]["paths"]]
    assert paths == [("/v1(/|$)(.*)", "ImplementationSpecific", "app1-svc", 3000),
                     ("/v2(/|$)(.*)", "ImplementationSpecific", "app2-svc", 3000)]


def test_ordering(lab):
    assert ordering.ingress_waits_for_its_controller(lab, "app-ingress", "ingress-nginx") == []
    assert ordering.controller_ordering(lab) == []  # the nginx release waits for the LB controller
    broken = copy.deepcopy(lab)
    ordering.without_edge(broken.k8s("Ingress", "app-ingress"), broken.one(ordering.RELEASE, "ingress-nginx"))
    assert ordering.ingress_waits_for_its_controller(broken, "app-ingress", "ingress-nginx") == [
        "Ingress app-ingress does not wait for release ingress-nginx"]


def test_host_rules_share_the_alb(lab):
    first = lab.k8s("Ingress", "alb-ingress").inputs["metadata"]["annotations"]
    hosts = lab.k8s("Ingress", "alb-host-ingress").inputs
    ann = hosts["metadata"]["annotations"]
    assert ann["alb.ingress.kubernetes.io/group.name"] == first["alb.ingress.kubernetes.io/group.name"]
    assert ann["alb.ingress.kubernetes.io/load-balancer-name"] == first["alb.ingress.kubernetes.io/load-balancer-name"]
    # the host-less catch-all must be evaluated after /v1 and /v2
    assert int(ann["alb.ingress.kubernetes.io/group.order"]) > int(first["alb.ingress.kubernetes.io/group.order"])
    rules = [(r.get("host"), [(p["path"], p["pathType"], p["backend"]["service"]["name"]) for p in r["http"]["paths"]])
             for r in hosts["spec"]["rules"]]
    assert rules == [
        ("my.example.com", [("/some-path", "Prefix", "app1-svc"), ("/some-other-path", "Exact", "app2-svc")]),
        ("*.example.com", [("/some-path", "Prefix", "app2-svc")]),
        (None, [("/", "Prefix", "app1-svc")]),
    ]


def test_domain_is_a_setting():
    lab = run_lab({"lab:domain": "lab.test"})
    hosts = [r.get("host") for r in lab.k8s("Ingress", "alb-host-ingress").inputs["spec"]["rules"]]
    assert hosts == ["my.lab.test", "*.lab.test", None]
    assert {r["host"] for r in lab.outputs["entrypoints"]["alb-hosts"]["routes"]} >= {"my.lab.test", "api.lab.test"}


def test_outputs(lab):
    eps = lab.outputs["entrypoints"]
    nginx = eps["nginx"]
    assert nginx["nodePort"] == 30080 and nginx["layer"] == "L7"
    assert {"path": "/v1/x", "app": "app1", "appSees": "/x"} in nginx["routes"]
    assert "/v3" in nginx["notFound"]
    hosts = eps["alb-hosts"]["routes"]
    assert {"host": "my.example.com", "path": "/some-other-path", "app": "app2", "appSees": "/some-other-path"} in hosts
    # the Exact rule answers only its exact path: below it, the default rule (app1) answers
    assert {"host": "my.example.com", "path": "/some-other-path/x", "app": "app1",
            "appSees": "/some-other-path/x"} in hosts


@pytest.mark.parametrize("overrides,fragment", [
    ({"lab:modules": {"loadBalancerController": False, "nlb": False, "alb": False, "gatewayApi": False},
      "lab:ingressNginx": {"serviceType": "LoadBalancer"}},
     "lab:ingressNginx.serviceType = 'LoadBalancer': needs lab:modules.loadBalancerController true"),
    ({"lab:ingressNginx": {"httpNodePort": 30001}},
     "lab:ingressNginx.httpNodePort = 30001: is already used by lab:nodePort"),
    ({"lab:ingressNginx": {"serviceType": "ClusterIP"}},
     "lab:ingressNginx.serviceType = 'ClusterIP': expected one of NodePort, LoadBalancer"),
    ({"lab:domain": "Example"}, "lab:domain = 'Example': expected a DNS domain"),
    ({"lab:modules": {"ingressNginx": "no"}}, "lab:modules.ingressNginx = 'no': expected true or false"),
])
def test_bad_settings(overrides, fragment):
    graph, error = run_program(overrides)
    assert error is not None and fragment in str(error), error
    assert graph.resources == []


def test_module_off():
    lab = run_lab({"lab:modules": {"ingressNginx": False}})
    assert "ingress-nginx" not in [r.name for r in lab.of_type(ordering.RELEASE)]
    assert "nginx" not in lab.outputs["entrypoints"]
