"""The test app's Deployments and the lab's Services, as registered under mocks."""

import copy

import pytest

from tests import consistency
from tests.programs import run_lab, run_program

DEPLOY = "Deployment"


@pytest.fixture(scope="module")
def lab():
    return run_lab()


@pytest.fixture(scope="module")
def manifests(lab):
    return lab.manifests()


@pytest.mark.parametrize("app", ["app1", "app2"])
def test_deployment(lab, app):
    d = lab.k8s(DEPLOY, f"{app}-deploy").inputs
    spec = d["spec"]
    assert spec["replicas"] == 3
    assert spec["selector"]["matchLabels"] == {"app": app}
    pod = spec["template"]
    assert pod["metadata"]["labels"] == {"app": app}
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "python:3.14.0-alpine3.22"
    assert c["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    env = {e["name"]: e for e in c["env"]}
    assert env["HOST"]["value"] == "0.0.0.0" and env["PORT"]["value"] == "8080"
    assert env["APP_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert c["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert set(c["resources"]["requests"]) == {"cpu", "memory"} == set(c["resources"]["limits"])
    sc = c["securityContext"]
    assert sc == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                  "capabilities": {"drop": ["ALL"]}}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    spread = pod["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "kubernetes.io/hostname"
    assert spread[0]["whenUnsatisfiable"] == "ScheduleAnyway"
    assert all(c["labelSelector"] == {"matchLabels": {"app": app}} for c in spread)


def test_deployments_wait_for_both_node_groups(lab):
    # Sent earlier, the pods pile onto the first node that is Ready and stay there.
    for app in ("app1", "app2"):
        deploy = lab.k8s(DEPLOY, f"{app}-deploy")
        for ng in lab.of_type("eks:index:ManagedNodeGroup"):
            assert lab.waits_for(deploy, ng), f"{app}-deploy does not wait for {ng.name}"


def test_app1_keeps_a_replica_in_each_node_group(lab):
    """app-nodeport-local-svc (Local) answers on the public node only from app1 pods there."""
    spread = lab.k8s(DEPLOY, "app1-deploy").inputs["spec"]["template"]["spec"]["topologySpreadConstraints"]
    by_group = [c for c in spread if c["topologyKey"] == "nodegroup"]
    assert by_group == [{"maxSkew": 1, "topologyKey": "nodegroup", "whenUnsatisfiable": "DoNotSchedule",
                         "minDomains": 2, "labelSelector": {"matchLabels": {"app": "app1"}}}]
    labels = {ng.inputs["nodeGroupName"]: ng.inputs["labels"]["nodegroup"]
              for ng in lab.of_type("eks:index:ManagedNodeGroup")}
    assert labels == {"ng-private": "private", "ng-public": "public"}  # the two domains
    app2 = lab.k8s(DEPLOY, "app2-deploy").inputs["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in app2] == ["kubernetes.io/hostname"]


def test_app_source_ships_in_a_configmap(lab):
    cm = lab.k8s("ConfigMap", "testapp-source").inputs
    assert "def serve(" in cm["data"]["server.py"]
    d = lab.k8s(DEPLOY, "app1-deploy")
    assert lab.waits_for(d, lab.k8s("ConfigMap", "testapp-source"))
    volumes = d.inputs["spec"]["template"]["spec"]["volumes"]
    assert volumes == [{"name": "source", "configMap": {"name": "testapp-source"}}]


def test_image_and_replicas_are_settings():
    lab = run_lab({"lab:appImage": "python:3.13.9-slim", "lab:appReplicas": 2})
    d = lab.k8s(DEPLOY, "app2-deploy").inputs["spec"]
    assert d["replicas"] == 2
    assert d["template"]["spec"]["containers"][0]["image"] == "python:3.13.9-slim"
    assert lab.outputs["replicas"] == {"app1": 2, "app2": 2}


SERVICES = {
    "app-clusterip-svc": ("ClusterIP", "app1", None, None),
    "app-nodeport-svc": ("NodePort", "app1", 30001, None),
    "app-nodeport-local-svc": ("NodePort", "app1", 30002, "Local"),
    "app1-svc": ("ClusterIP", "app1", None, None),
    "app2-svc": ("ClusterIP", "app2", None, None),
}


@pytest.mark.parametrize("name", SERVICES)
def test_service(lab, name):
    kind, app, node_port, policy = SERVICES[name]
    spec = lab.k8s("Service", name).inputs["spec"]
    assert spec["type"] == kind
    assert spec["selector"] == {"app": app}
    (port,) = spec["ports"]
    assert (port["port"], port["targetPort"]) == (3000, 8080)
    assert port.get("nodePort") == node_port
    assert spec.get("externalTrafficPolicy") == policy


def test_externalname_service(lab):
    spec = lab.k8s("Service", "web-service-externalname").inputs["spec"]
    assert spec == {"type": "ExternalName", "externalName": "www.google.com"}
    other = run_lab({"lab:externalName": "aws.amazon.com"})
    assert other.k8s("Service", "web-service-externalname").inputs["spec"]["externalName"] == "aws.amazon.com"
    assert other.outputs["internal"]["externalName"]["cname"] == "aws.amazon.com"


def test_every_kubernetes_object_uses_the_cluster_provider(lab):
    provider = lab.one("pulumi:providers:kubernetes")
    for obj in lab.k8s_objects():
        assert obj.provider.startswith(provider.urn), obj.name


def test_outputs(lab):
    assert lab.outputs["replicas"] == {"app1": 3, "app2": 3}
    eps = lab.outputs["entrypoints"]
    assert eps["nodeport"]["nodePort"] == 30001 and eps["nodeport"]["layer"] == "L4"
    assert eps["nodeport-local"]["externalTrafficPolicy"] == "Local"
    assert all(r["clientPreserved"] for r in eps["nodeport-local"]["routes"])
    assert not any(r["clientPreserved"] for r in eps["nodeport"]["routes"])
    assert lab.outputs["internal"]["clusterIp"] == {
        "service": "app-clusterip-svc.default.svc.cluster.local:3000", "app": "app1"}


# --- consistency of the whole graph, each rule with a case where it fails ------

def test_the_lab_is_consistent(manifests):
    assert consistency.check(manifests) == []


def _service(manifests, name):
    return next(m for m in manifests if m["kind"] == "Service" and m["metadata"]["name"] == name)


def test_selector_that_matches_no_pod_is_caught(manifests):
    broken = copy.deepcopy(manifests)
    _service(broken, "app2-svc")["spec"]["selector"] = {"app": "app3"}
    assert consistency.selectors_match_pods(broken) == [
        "Service app2-svc: selector {'app': 'app3'} matches no Deployment's pods"]


@pytest.mark.parametrize("target", [8081, "web"])
def test_missing_target_port_is_caught(manifests, target):
    broken = copy.deepcopy(manifests)
    _service(broken, "app1-svc")["spec"]["ports"][0]["targetPort"] = target
    assert consistency.target_ports_exist(broken) == [
        f"Service app1-svc: targetPort {target!r} is not a port of the pods it selects ({{'app': 'app1'}})"]


def test_named_target_port_is_accepted(manifests):
    named = copy.deepcopy(manifests)
    _service(named, "app1-svc")["spec"]["ports"][0]["targetPort"] = "http"
    assert consistency.target_ports_exist(named) == []


def test_duplicate_or_out_of_range_node_port_is_caught(manifests):
    broken = copy.deepcopy(manifests)
    _service(broken, "app-nodeport-local-svc")["spec"]["ports"][0]["nodePort"] = 30001
    _service(broken, "app-nodeport-svc")["spec"]["ports"][0]["nodePort"] = 8080
    problems = consistency.node_ports_valid(broken)
    assert "Service app-nodeport-svc: nodePort 8080 outside 30000-32767" in problems
    broken2 = copy.deepcopy(manifests)
    _service(broken2, "app-nodeport-local-svc")["spec"]["ports"][0]["nodePort"] = 30001
    (problem,) = consistency.node_ports_valid(broken2)
    assert "nodePort 30001 already used by" in problem
    assert "app-nodeport-local-svc" in problem and "app-nodeport-svc" in problem


def test_service_name_not_a_dns_label_is_caught(manifests):
    broken = copy.deepcopy(manifests)
    _service(broken, "app1-svc")["metadata"]["name"] = "App1_Svc"
    assert consistency.service_names_are_dns_labels(broken) == [
        "Service App1_Svc: not a DNS label (RFC 1035, at most 63 characters)"]


@pytest.mark.parametrize("overrides,fragment", [
    ({"lab:nodePort": 80}, "lab:nodePort = 80: expected a whole number from 30000 to 32767"),
    ({"lab:nodePortLocal": 30001}, "lab:nodePortLocal = 30001: is already used by lab:nodePort"),
    ({"lab:appReplicas": 0}, "lab:appReplicas = 0: expected a whole number from 2 to 20"),
    ({"lab:appReplicas": 1}, "lab:appReplicas = 1: expected a whole number from 2 to 20 (at least 2: app1 keeps a "
                             "replica in each node group"),
    ({"lab:externalName": "http://www.google.com"}, "lab:externalName = 'http://www.google.com': expected a DNS name"),
    ({"lab:externalName": "localhost"}, "lab:externalName = 'localhost'"),
    ({"lab:appImage": "Python 3"}, "lab:appImage = 'Python 3': expected an image reference"),
])
def test_bad_app_settings_fail_before_registering(overrides, fragment):
    graph, error = run_program(overrides)
    assert error is not None and fragment in str(error), error
    assert graph.resources == []
