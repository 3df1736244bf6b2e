"""Every object an admission webhook (failurePolicy Fail) intercepts waits for the
release that serves the webhook, or is left out by the webhook's selectors."""

import copy
import json

import pytest

from components import nginx_ingress
from tests import ordering, webhooks
from tests.programs import run_lab

MODULE_SETS = [
    {},
    {"lab:ingressNginx": {"serviceType": "LoadBalancer"}},
    {"lab:modules": {"alb": False, "nlb": False}},
    {"lab:modules": {"loadBalancerController": False, "alb": False, "nlb": False, "gatewayApi": False}},
    {"lab:modules": {"ingressNginx": False}},
]


@pytest.fixture(scope="module")
def lab():
    return run_lab()


@pytest.mark.parametrize("overrides", MODULE_SETS, ids=json.dumps)
def test_the_lab_keeps_the_webhook_rule(overrides):
    assert webhooks.webhook_ordering(run_lab(overrides)) == []


def test_every_pinned_chart_has_a_webhook_record(lab):
    known = webhooks.records()
    for rel in lab.of_type(ordering.RELEASE):
        assert (rel.inputs["chart"], rel.inputs["version"]) in known
    record = known[("ingress-nginx", "4.15.1")]
    (hook,) = record["webhooks"]
    assert hook["rules"]["resources"] == ["ingresses"] and hook["failurePolicy"]["default"] == "Fail"
    assert hook["objectSelector"]["fromValues"] == ["controller.admissionWebhooks.objectSelector"]


def test_a_chart_without_a_record_is_reported(lab):
    known = {k: v for k, v in webhooks.records().items() if k[0] != "traefik"}
    assert webhooks.webhook_ordering(lab, known) == [
        "no webhook record for chart traefik 41.3.0: run tests/chart_webhooks/extract.py on it"]


def nginx_values(graph):
    return graph.one(ordering.RELEASE, "ingress-nginx").inputs["values"]["controller"]


def test_an_unscoped_nginx_webhook_catches_the_other_ingresses(lab):
    broken = copy.deepcopy(lab)
    del nginx_values(broken)["admissionWebhooks"]
    problems = webhooks.webhook_ordering(broken)
    assert sorted(p.split(" is intercepted")[0] for p in problems) == [
        "Ingress alb-host-ingress", "Ingress alb-ingress", "Ingress traefik-ingress"]
    assert all("validate.nginx.ingress.kubernetes.io" in p and "release ingress-nginx" in p for p in problems)


def test_the_nginx_ingress_must_wait_for_its_release(lab):
    broken = copy.deepcopy(lab)
    ordering.without_edge(broken.k8s("Ingress", "app-ingress"), broken.one(ordering.RELEASE, "ingress-nginx"))
    assert webhooks.webhook_ordering(broken) == [
        "Ingress app-ingress is intercepted by webhook validate.nginx.ingress.kubernetes.io (failurePolicy Fail) "
        "of release ingress-nginx but does not wait for that release"]


def test_a_label_removed_from_app_ingress_leaves_it_out(lab):
    # Without the label the nginx webhook skips app-ingress: the rule has nothing to ask of it.
    graph = copy.deepcopy(lab)
    graph.k8s("Ingress", "app-ingress").inputs["metadata"]["labels"] = {}
    ordering.without_edge(graph.k8s("Ingress", "app-ingress"), graph.one(ordering.RELEASE, "ingress-nginx"))
    assert webhooks.webhook_ordering(graph) == []
    assert nginx_ingress.ADMISSION_LABEL == lab.k8s("Ingress", "app-ingress").inputs["metadata"]["labels"]


def test_a_service_must_wait_for_the_controller(lab):
    broken = copy.deepcopy(lab)
    ordering.without_edge(broken.k8s("Service", "app1-svc"), ordering.controller_release(broken))
    assert webhooks.webhook_ordering(broken) == [
        "Service app1-svc is intercepted by webhook mservice.elbv2.k8s.aws (failurePolicy Fail) of release "
        "aws-load-balancer-controller but does not wait for that release"]


def test_a_namespace_selector_that_matches_brings_the_pods_in(lab):
    # The QUIC server-id webhook (Fail) takes pods of namespaces labelled for it.
    graph = copy.deepcopy(lab)
    ns = copy.deepcopy(graph.k8s("Namespace", "ingress-nginx"))
    ns.urn, ns.inputs["metadata"] = "urn:fake:default-ns", {
        "name": "default", "labels": {"elbv2.k8s.aws/quic-server-id-inject": "enabled"}}
    graph.resources.append(ns)
    problems = webhooks.webhook_ordering(graph)
    assert problems and all("quicid.elbv2.k8s.aws" in p for p in problems)
    assert any(p.startswith("the pods of Deployment app1-deploy") for p in problems)


def test_a_failure_policy_of_ignore_is_no_constraint(lab):
    graph = copy.deepcopy(lab)
    nginx_values(graph)["admissionWebhooks"] = {"failurePolicy": "Ignore"}
    assert webhooks.webhook_ordering(graph) == []


@pytest.mark.parametrize("expr, values, expected", [
    (".Values.a", {"a": True}, True),
    ("$.Values.a", {"a": ""}, False),
    ("not $.Values.a", {}, True),
    ("not (.Values.a)", {"a": [1]}, False),
    ("and .Values.a (not .Values.b)", {"a": True, "b": False}, True),
    ("and .Values.a (not .Values.b)", {"a": True, "b": True}, False),
    ("templated", {}, True),
])
def test_template_conditions(expr, values, expected):
    assert webhooks.evaluate(expr, values.get) is expected


@pytest.mark.parametrize("op, labels, expected", [
    ("In", {"k": "v"}, True), ("In", {}, False), ("NotIn", {}, True), ("NotIn", {"k": "v"}, False),
    ("Exists", {"k": "x"}, True), ("DoesNotExist", {"k": "x"}, False),
])
def test_label_selector_operators(op, labels, expected):
    assert webhooks.matches({"key": "k", "operator": op, "values": ["v"]}, labels) is expected
