"""Every custom resource the program creates (Gateway API, the controller's gateway.k8s.aws),
against the schema of its CRD at the pinned versions, strictly and with the CRDs' CEL rules.

tests/test_k8s_schema.py does the same for the built-in kinds; the schemas here are recorded in
tests/gateway_crds/ (regenerate with its extract.py).
"""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from stacks.model import GATEWAY_API_CRDS, LB_CONTROLLER_CHART
from tests import crd_schema
from tests.programs import run_lab
from tests.test_k8s_schema import CUSTOM_GROUPS

LAB_KINDS = Counter({"GatewayClass": 1, "Gateway": 1, "HTTPRoute": 2, "LoadBalancerConfiguration": 1,
                     "TargetGroupConfiguration": 1})
# The CEL rule the lab's rewrite depends on, as the HTTPRoute CRD words it.
REWRITE_RULE = "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified"


@pytest.fixture(scope="module")
def custom() -> list[dict]:
    return [m for m in run_lab().manifests() if m["apiVersion"].startswith(CUSTOM_GROUPS)]


def one(custom: list[dict], kind: str, name: str | None = None) -> dict:
    return copy.deepcopy(next(m for m in custom if m["kind"] == kind and name in (None, m["metadata"]["name"])))


def test_the_lab_creates_the_gateway_objects(custom):
    assert Counter(m["kind"] for m in custom) >= LAB_KINDS


def test_every_custom_resource_is_valid(custom):
    assert [p for m in custom for p in crd_schema.problems(m)] == []


def test_schemas_are_those_of_the_pinned_versions():
    sources = {json.loads(p.read_text())["source"]["repo"]: json.loads(p.read_text())["source"]
               for p in crd_schema.SCHEMAS.glob("*.json")}
    assert sources["kubernetes-sigs/gateway-api"]["tag"] == GATEWAY_API_CRDS.version
    assert sources["kubernetes-sigs/aws-load-balancer-controller"]["tag"] == f"v{LB_CONTROLLER_CHART.version}"
    for (api_version, kind), entry in crd_schema.kinds().items():
        assert entry["served"] and api_version.endswith("/v1"), kind


def test_every_cel_rule_runs_on_cel_python():
    """None is skipped: a rule that does not compile, or calls a function cel-python lacks
    (Kubernetes adds libraries to CEL), would be listed here."""
    rules = list(crd_schema.all_rules())
    assert len(rules) > 100
    assert [(kind, path, reason) for kind, path, r in rules if (reason := crd_schema.unsupported(r["rule"]))] == []
    assert any(r.get("message") == REWRITE_RULE for kind, _, r in rules if kind == "HTTPRoute")


def test_a_rule_that_cannot_run_is_a_problem():
    assert "lacks" in crd_schema.run_rule({"rule": "self.isURL()", "message": "m"}, "x", {})
    assert "evaluate" in crd_schema.run_rule({"rule": "self.missing == 1", "message": "m"}, {}, {})


def set_path(obj: dict, path: str, value) -> None:
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    for part in parents:
        obj = obj[int(part)] if part.isdigit() else obj[part]
    obj[int(last) if last.isdigit() else last] = value


def drop(obj: dict, path: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if part.isdigit() else obj[part]
    del obj[last]


# (kind, name, change, what a problem must name)
BROKEN = {
    "unknown field": ("Gateway", None, lambda m: set_path(m, "spec.listeners[0].protocl", "HTTP"),
                      "spec.listeners[0].protocl: unknown field"),
    "wrong enum": ("LoadBalancerConfiguration", None, lambda m: set_path(m, "spec.scheme", "public"),
                   "spec.scheme: 'public' is not one of"),
    "wrong type": ("Gateway", None, lambda m: set_path(m, "spec.listeners[0].port", "80"),
                   "spec.listeners[0].port: '80' is not of type 'integer'"),
    "missing required": ("HTTPRoute", "app-route", lambda m: drop(m, "spec.rules.0.backendRefs.0.name"),
                         "spec.rules[0].backendRefs[0].name: required field missing"),
    "name too long": ("LoadBalancerConfiguration", None, lambda m: set_path(m, "spec.loadBalancerName", "x" * 33),
                      "spec.loadBalancerName: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' is too long"),
    "namespace on a cluster-scoped kind": ("GatewayClass", None, lambda m: set_path(m, "metadata.namespace", "default"),
                                           "metadata.namespace: GatewayClass is cluster-scoped"),
    "no namespace on a namespaced kind": ("HTTPRoute", "app-route", lambda m: drop(m, "metadata.namespace"),
                                          "metadata.namespace: HTTPRoute is namespaced"),
    "rewrite with two matches": (
        "HTTPRoute", "app-route",
        lambda m: m["spec"]["rules"][0]["matches"].append({"path": {"type": "PathPrefix", "value": "/x"}}),
        f"spec.rules[0]: {REWRITE_RULE}"),
    "rewrite of an Exact match": ("HTTPRoute", "app-route",
                                  lambda m: set_path(m, "spec.rules[0].matches[0].path.type", "Exact"),
                                  f"spec.rules[0]: {REWRITE_RULE}"),
    "relative path": ("HTTPRoute", "app-route", lambda m: set_path(m, "spec.rules[1].matches[0].path.value", "v2"),
                      "spec.rules[1].matches[0].path: value must be an absolute path"),
    "negative weight": ("HTTPRoute", "canary-route", lambda m: set_path(m, "spec.rules[1].backendRefs[0].weight", -1),
                        "spec.rules[1].backendRefs[0].weight: -1 is less than the minimum of 0"),
    "header name with a space": ("HTTPRoute", "canary-route",
                                 lambda m: set_path(m, "spec.rules[0].matches[0].headers[0].name", "x lab"),
                                 "spec.rules[0].matches[0].headers[0].name: 'x lab' does not match"),
    "same parent twice": ("HTTPRoute", "canary-route",
                          lambda m: m["spec"]["parentRefs"].append(dict(m["spec"]["parentRefs"][0])),
                          "spec.parentRefs: sectionName must be unique"),
    "targetType at the top of the spec": ("TargetGroupConfiguration", None,
                                          lambda m: set_path(m, "spec.targetType", "ip"),
                                          "spec.targetType: unknown field"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_object_is_refused_naming_the_field(custom, case):
    kind, name, change, expected = BROKEN[case]
    broken = one(custom, kind, name)
    change(broken)
    found = crd_schema.problems(broken)
    assert any(expected in p for p in found), found


def test_a_kind_without_schema_is_a_problem(custom):
    unknown = one(custom, "TargetGroupConfiguration")
    unknown["kind"] = "TargetGroupConfig"
    assert crd_schema.problems(unknown) == [
        "no schema for gateway.k8s.aws/v1 TargetGroupConfig (tests/gateway_crds/ records none)"]
    old = one(custom, "HTTPRoute")
    old["apiVersion"] = "gateway.networking.k8s.io/v1beta1"  # served, but not the version recorded
    assert crd_schema.problems(old)[0].startswith("no schema for gateway.networking.k8s.io/v1beta1 HTTPRoute")
