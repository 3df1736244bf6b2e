"""The Gateway API lesson under the mocks: its objects, the CRDs before the controller, the
ordering that makes destroy clean, and the outputs entry."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from components.lb_controller import CRD_TYPE
from labtools.simulate import plain
from stacks import names
from tests import ordering
from tests.programs import run_lab, run_program

API, AWS = ordering.GATEWAY_API, ordering.CONTROLLER_CRS
STANDARD_INSTALL = "https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.0/standard-install.yaml"


@pytest.fixture(scope="module")
def lab():
    return run_lab()


def spec(lab, kind: str, name: str) -> dict:
    return plain(lab.one(kind, name).inputs["spec"])


def copy_of(graph):
    """A copy whose resources can lose edges without touching the module's graph."""
    return dataclasses.replace(graph, resources=[dataclasses.replace(r) for r in graph.resources])


def test_crds_are_the_pinned_standard_channel(lab):
    (crds,) = lab.of_type(ordering.CRDS)
    assert crds.inputs["file"] == STANDARD_INSTALL
    # The controller's own gateway.k8s.aws CRDs come from its chart's crds/: Helm must not skip them.
    release = ordering.controller_release(lab)
    assert not release.inputs.get("skipCrds")


def pinned_crd() -> dict:
    """A CRD as standard-install.yaml v1.6.0 has it (metadata as upstream; spec cut)."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {
        "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/4530",
                        "gateway.networking.k8s.io/bundle-version": "v1.6.0",
                        "gateway.networking.k8s.io/channel": "standard"},
        "name": "gateways.gateway.networking.k8s.io"}, "spec": {"group": "gateway.networking.k8s.io"}}


def transformed(crds, type_: str, props: dict) -> dict | None:
    """`props` after the ConfigFile's transforms, as the engine applies them to one of its children."""
    changed = None
    for transform in crds.transforms:
        result = transform(pulumi.ResourceTransformArgs(True, type_, "child", props, pulumi.ResourceOptions()))
        if result is not None:
            changed = props = result.props
    return changed


def crds_wait_until_established(crds) -> list[str]:
    props = transformed(crds, CRD_TYPE, pinned_crd())
    if props is None:
        return [f"{crds.name}: its CRDs are done when created, before the API serves their kinds, "
                "and the controller that starts next may miss them"]
    annotations = props["metadata"]["annotations"]
    problems = [] if annotations.get("pulumi.com/waitFor") == "condition=Established" else [
        f"{crds.name}: pulumi.com/waitFor = {annotations.get('pulumi.com/waitFor')!r}"]
    if {k: v for k, v in annotations.items() if k != "pulumi.com/waitFor"} != pinned_crd()["metadata"]["annotations"]:
        problems.append(f"{crds.name}: the file's own annotations are lost")
    return problems


def test_every_crd_waits_until_established(lab):
    (crds,) = lab.of_type(ordering.CRDS)
    assert crds_wait_until_established(crds) == []
    # Only the CRDs: the file's other objects (its safe-upgrades admission policy) are left as they are.
    policy = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
              "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"}}
    assert transformed(crds, "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy", policy) is None
    assert transformed(crds, ordering.CRDS, {"file": STANDARD_INSTALL}) is None


def test_a_crd_await_lost_is_caught(lab):
    (crds,) = copy_of(lab).of_type(ordering.CRDS)
    crds.transforms = []
    assert "done when created" in crds_wait_until_established(crds)[0]

    def drops_annotations(args):
        return pulumi.ResourceTransformResult(props={**args.props, "metadata": {
            "name": args.props["metadata"]["name"], "annotations": {"pulumi.com/waitFor": "condition=Established"}}},
            opts=args.opts)
    crds.transforms = [drops_annotations]
    assert crds_wait_until_established(crds) == [f"{crds.name}: the file's own annotations are lost"]


def test_gateway_class_and_configurations(lab):
    assert spec(lab, API + "GatewayClass", "alb-gatewayclass") == {"controllerName": "gateway.k8s.aws/alb"}
    assert spec(lab, AWS + "LoadBalancerConfiguration", "lab-gateway-lb") == {
        "scheme": "internet-facing", "loadBalancerName": "eks-test-gateway", "sourceRanges": ["0.0.0.0/0"],
        "defaultTargetGroupConfiguration": {"name": "lab-gateway-targets"}}
    assert spec(lab, AWS + "TargetGroupConfiguration", "lab-gateway-targets") == {
        "defaultConfiguration": {"targetType": "ip", "healthCheckConfig": {"healthCheckPath": "/healthz"}}}


def test_gateway_listens_on_http_80_and_is_awaited_until_programmed(lab):
    gw = lab.one(API + "Gateway", "lab-gateway")
    assert plain(gw.inputs["metadata"])["annotations"] == {"pulumi.com/waitFor": "condition=Programmed"}
    assert plain(gw.inputs["spec"]) == {
        "gatewayClassName": "alb",
        "infrastructure": {"parametersRef": {"group": "gateway.k8s.aws", "kind": "LoadBalancerConfiguration",
                                             "name": "lab-gateway-lb"}},
        "listeners": [{"name": "http", "protocol": "HTTP", "port": 80,
                       "allowedRoutes": {"namespaces": {"from": "Same"}}}]}


def test_routes_rewrite_match_a_header_and_split_by_weight(lab):
    parent = [{"name": "lab-gateway", "sectionName": "http"}]
    rewrite = [{"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch",
                                                              "replacePrefixMatch": "/"}}}]
    assert spec(lab, API + "HTTPRoute", "app-route") == {"parentRefs": parent, "rules": [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}],
         "backendRefs": [{"name": "app1-svc", "port": 3000}], "filters": rewrite},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/v2"}}],
         "backendRefs": [{"name": "app2-svc", "port": 3000}], "filters": rewrite}]}
    assert spec(lab, API + "HTTPRoute", "canary-route") == {"parentRefs": parent, "rules": [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/canary"},
                      "headers": [{"type": "Exact", "name": "x-lab-canary", "value": "always"}]}],
         "backendRefs": [{"name": "app2-svc", "port": 3000}]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/canary"}}],
         "backendRefs": [{"name": "app1-svc", "port": 3000, "weight": 80},
                         {"name": "app2-svc", "port": 3000, "weight": 20}]}]}


def test_everything_in_the_app_namespace_but_the_class(lab):
    for kind in ordering.GATEWAY_KINDS:
        for r in lab.of_type(kind):
            namespace = r.inputs["metadata"].get("namespace")
            assert namespace == (None if kind.endswith(":GatewayClass") else "default"), (kind, r.name)


def test_ordering(lab):
    assert ordering.gateway_ordering(lab) == []
    assert ordering.controller_ordering(lab) == []


@pytest.mark.parametrize("later, earlier, message", [
    ((ordering.RELEASE, "aws-load-balancer-controller"), (ordering.CRDS, None), "looks for the Gateway API CRDs"),
    ((API + "Gateway", "lab-gateway"), (API + "GatewayClass", None), "cannot go while a Gateway uses it"),
    ((API + "Gateway", "lab-gateway"), (AWS + "LoadBalancerConfiguration", None), "scheme and name"),
    ((AWS + "LoadBalancerConfiguration", None), (AWS + "TargetGroupConfiguration", None), "default targets"),
    ((API + "HTTPRoute", "canary-route"), (API + "Gateway", None), "parent Gateway"),
    ((API + "HTTPRoute", "canary-route"), (ordering.SERVICE, "app1-svc"), "resolves each backend"),
])
def test_a_missing_edge_is_caught(lab, later, earlier, message):
    broken = copy_of(lab)
    ordering.without_edge(broken.one(*later), broken.one(*earlier))
    problems = ordering.gateway_ordering(broken)
    assert problems and message in problems[0], problems


def test_every_gateway_object_waits_for_the_controller(lab):
    broken = copy_of(lab)
    gw = broken.one(API + "Gateway", "lab-gateway")
    gw.deps = []  # not even through its class and configuration
    assert "Gateway lab-gateway does not wait for the controller release" in " ".join(
        ordering.controller_ordering(broken))


def test_outputs_entry(lab):
    entry = lab.outputs["entrypoints"]["gateway"]
    assert entry["url"] == "http://k8s-lab-gateway-0123456789.ap-northeast-2.elb.amazonaws.com"
    assert entry["layer"] == "L7" and entry["gateway"] == "lab-gateway"
    assert {"path": "/canary", "weights": {"app1": 80, "app2": 20}, "appSees": "/canary"} in entry["routes"]
    assert {"path": "/canary", "headers": {"x-lab-canary": "always"}, "app": "app2",
            "appSees": "/canary"} in entry["routes"]
    assert {"path": "/v1/x", "app": "app1", "appSees": "/x"} in entry["routes"]


def test_module_off_leaves_no_trace():
    graph = run_lab({"lab:modules": {"gatewayApi": False}})
    assert not [r for r in graph.resources if r.type in ordering.GATEWAY_KINDS or r.type == ordering.CRDS]
    assert "gateway" not in graph.outputs["entrypoints"]


def test_the_gateway_needs_the_controller():
    graph, error = run_program({"lab:modules": {"loadBalancerController": False, "nlb": False, "alb": False}})
    assert "lab:modules.gatewayApi = true: needs lab:modules.loadBalancerController true" in str(error)
    assert graph.resources == []


def test_a_long_cluster_name_gives_a_valid_distinct_alb_name():
    name = "A_Very-Long_Cluster-Name_for-the-lab-0123"
    graph = run_lab({"lab:clusterName": name})
    lb = spec(graph, AWS + "LoadBalancerConfiguration", "lab-gateway-lb")["loadBalancerName"]
    assert names.valid_load_balancer_name(lb) and len(lb) <= 32 and lb.endswith("-gateway")
    assert lb != names.load_balancer(name, "lab")
