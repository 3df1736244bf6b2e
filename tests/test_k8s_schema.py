"""Every Kubernetes object the program creates, against the official schema (strict).

kubernetes-validate ships the OpenAPI-derived JSON schemas per Kubernetes
version; strict mode rejects unknown fields, the usual symptom of a key
misspelled or put at the wrong level.
"""

import copy
import functools

import kubernetes_validate
import pytest
from kubernetes_validate import utils as validate_utils

from stacks import versions
from tests.programs import run_lab

# kubernetes-validate parses its schema files again for every object it checks (a version's
# _definitions.json is megabytes): they do not change during a run, so each is parsed once. The
# schemas are only read (jsonschema keeps its own state elsewhere).
validate_utils.schema_contents = functools.lru_cache(maxsize=None)(validate_utils.schema_contents)


@pytest.fixture(scope="module")
def lab():
    return run_lab()


# Custom resources (the Gateway API's and the controller's): tests/test_gateway_schema.py checks
# them against their CRDs.
CUSTOM_GROUPS = ("gateway.networking.k8s.io/", "gateway.k8s.aws/")


def built_in(manifests: list[dict]) -> list[dict]:
    return [m for m in manifests if not m["apiVersion"].startswith(CUSTOM_GROUPS)]


def schema_version(k8s_minor: str) -> str:
    return f"{k8s_minor}.0"


def problems(manifest: dict, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(manifest, schema_version(version), strict=True)
    except kubernetes_validate.ValidationError as err:
        return [f"{manifest['kind']} {manifest['metadata'].get('name')}: {err.message} at {list(err.path)}"]
    return []


def test_schemas_exist_for_every_offered_version():
    for version in versions.STANDARD_SUPPORT_ENDS:
        kubernetes_validate.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
                                     schema_version(version), strict=True)


def test_every_object_is_valid_for_the_configured_version(lab):
    manifests = built_in(lab.manifests())
    kinds = {m["kind"] for m in manifests}
    assert {"Deployment", "Service", "ConfigMap"} <= kinds
    found = [p for m in manifests for p in problems(m, "1.36")]
    assert found == []


def test_objects_are_valid_for_every_supported_version(lab):
    for version in versions.STANDARD_SUPPORT_ENDS:
        assert [p for m in built_in(lab.manifests()) for p in problems(m, version)] == [], version


def _deployment(lab):
    return copy.deepcopy(next(m for m in lab.manifests() if m["kind"] == "Deployment"))


def test_unknown_field_is_rejected(lab):
    broken = _deployment(lab)
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # misspelled
    assert problems(broken, "1.36"), "strict validation let an unknown field through"


def test_wrong_type_is_rejected(lab):
    broken = _deployment(lab)
    broken["spec"]["replicas"] = "three"
    assert problems(broken, "1.36")
