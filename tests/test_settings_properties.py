"""Property-based: over the settings space, anything the program accepts deploys, and anything
it refuses names a key.

Accepted settings give, under the mocks, load balancer and IngressGroup names that AWS and the
controller take and that are distinct, Kubernetes objects that pass the strict schema of the
configured version (custom resources: of their CRDs, tests/crd_schema.py), and pods that fit
their nodes (counted here from the registered objects, not from stacks/fit.py), and entry points that
admit `lab:clientCidrs` only (tests/entry_sources.py). Refused settings register nothing and name a
`lab:` or `aws:` key.
The example count is kept small for the suite's time budget; derandomized, so a run repeats.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings, strategies as st

from labtools.simulate import plain, run_program
from stacks import capacity, names
from stacks.settings import MODULE_KEYS, MODULE_NEEDS
from tests import crd_schema, entry_sources
from tests.test_k8s_schema import CUSTOM_GROUPS, built_in, problems as schema_problems

INSTANCE_TYPES = ["t3.small", "t3.medium", "t3.micro", "t3a.small", "m5.large", "t4g.small", "t3.nonexistent"]
ZONES = {
    "ap-northeast-2": [["ap-northeast-2a", "ap-northeast-2c"], ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2d"],
                       ["ap-northeast-2a", "ap-northeast-2z"]],
    "us-east-1": [["us-east-1a", "us-east-1b"], ["us-east-1a", "us-east-1c"]],
}
# The default (everyone), one address, two ranges; broad settings add some the program refuses.
CLIENT_CIDRS = [["0.0.0.0/0"], ["198.51.100.7/32"], ["198.51.100.7/32", "203.0.113.0/24"]]
BAD_CLIENT_CIDRS = [[], ["198.51.100.7/24"]]
ALB = "kubernetes:networking.k8s.io/v1:Ingress"
GATEWAY_ALB = "kubernetes:gateway.k8s.aws/v1:LoadBalancerConfiguration"


def node_group(draw, types: list[str], low: int = 1) -> dict:
    desired = draw(st.integers(low, 3))
    return {"instanceType": draw(st.sampled_from(types)), "desiredSize": desired, "minSize": low,
            "maxSize": max(desired, 3)}


@st.composite
def lab_settings(draw, broad: bool = True) -> dict:
    """`broad`: anything a user might write; otherwise settings inside every limit, which the
    program must accept (so the accepted branch is always exercised)."""
    region = draw(st.sampled_from(sorted(ZONES)))
    zones = ZONES[region] if broad else [z for z in ZONES[region] if not {"ap-northeast-2z", "us-east-1c"} & set(z)]
    types = INSTANCE_TYPES if broad else ["t3.medium", "t3.large", "m5.large"]
    name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,42}", fullmatch=True)
    config = {
        "aws:region": region,
        "lab:availabilityZones": draw(st.sampled_from(zones)),
        "lab:clusterName": draw(st.one_of(name, st.text("abcXYZ019_-.", min_size=1, max_size=50)) if broad else name),
        "lab:appReplicas": draw(st.integers(0, 14) if broad else st.integers(2, 6)),
        "lab:vpcCidr": draw(st.sampled_from(["10.0.0.0/16", "10.0.0.0/22", "10.0.0.0/24"] if broad else ["10.0.0.0/16"])),
        "lab:privateNodeGroup": node_group(draw, types),
        "lab:publicNodeGroup": node_group(draw, types),
        "lab:nodePort": draw(st.sampled_from([30001, 31000] + ([30080] if broad else []))),
        "lab:modules": {k: draw(st.booleans()) for k in MODULE_KEYS},
    }
    if lacking(config["lab:modules"]) and (not broad or draw(st.booleans())):
        config["lab:modules"] = without_lacking(config["lab:modules"])
    config["lab:clientCidrs"] = draw(st.sampled_from(CLIENT_CIDRS + (BAD_CLIENT_CIDRS if broad else [])))
    # ingress-nginx's NLB is made by the controller: without it, only broad settings ask for one.
    if broad or config["lab:modules"]["loadBalancerController"]:
        config["lab:ingressNginx"] = {"serviceType": draw(st.sampled_from(["NodePort", "LoadBalancer"]))}
    return config


def lacking(modules: dict[str, bool]) -> list[str]:
    """The modules on whose needed module is off (the program refuses them, naming the key)."""
    return [m for m, needed in MODULE_NEEDS.items() if modules[m] and not modules[needed]]


def without_lacking(modules: dict[str, bool]) -> dict[str, bool]:
    """`modules` with every module that lacks what it needs off (repeated: needs may chain)."""
    modules = dict(modules)
    while found := lacking(modules):
        modules.update(dict.fromkeys(found, False))
    return modules


def load_balancer_names(graph) -> list[str]:
    """The program's own load balancers, the ALB its Ingresses ask for (one per group) and the
    Gateway's ALB (named in its LoadBalancerConfiguration)."""
    albs = {plain(ing.inputs["metadata"].get("annotations") or {}).get("alb.ingress.kubernetes.io/load-balancer-name")
            for ing in graph.of_type(ALB)} - {None}
    gateways = [n for r in graph.of_type(GATEWAY_ALB) if (n := plain(r.inputs["spec"]).get("loadBalancerName"))]
    return [r.inputs["name"] for r in graph.of_type("aws:lb/loadBalancer:LoadBalancer")] + sorted(albs) + gateways


def pods_fit(graph) -> bool:
    """Deployments' replicas and the charts' pods against the node groups' max pods."""
    app_pods = sum(int(d.inputs["spec"]["replicas"]) for d in graph.of_type("kubernetes:apps/v1:Deployment"))
    chart_pods = {"aws-load-balancer-controller": 2, "ingress-nginx": 2, "traefik": 1}
    others = capacity.COREDNS_PODS + capacity.SMOKE_PODS + sum(
        chart_pods[r.inputs["chart"]] for r in graph.of_type("kubernetes:helm.sh/v3:Release"))
    room = sum(int(ng.inputs["scalingConfig"]["desiredSize"]) *
               (capacity.max_pods(ng.inputs["instanceTypes"][0]) - capacity.DAEMONSET_PODS)
               for ng in graph.of_type("eks:index:ManagedNodeGroup"))
    return app_pods + others <= room


def admits_client_cidrs_only(graph, config: dict) -> None:
    """Every way in admits lab:clientCidrs, each entry point has a restriction at all, and none
    admits 0.0.0.0/0 when the setting is narrowed."""
    allowed = config["lab:clientCidrs"]
    assert entry_sources.problems(graph, allowed) == []
    found = entry_sources.entry_sources(graph)
    assert found == dict.fromkeys(found, sorted(allowed)), found


def deploys(graph, config: dict) -> None:
    lbs = load_balancer_names(graph)
    assert all(names.valid_load_balancer_name(n) for n in lbs), lbs
    assert len(set(lbs)) == len(lbs), lbs
    groups = {plain(i.inputs["metadata"]["annotations"])["alb.ingress.kubernetes.io/group.name"]
              for i in graph.of_type(ALB) if i.inputs["spec"]["ingressClassName"] == "alb"}
    assert all(names.valid_ingress_group(g) for g in groups) and len(groups) <= 1, groups
    version = graph.one("eks:index:Cluster").inputs["version"]
    manifests = graph.manifests()
    assert [p for m in built_in(manifests) for p in schema_problems(m, version)] == []
    # The custom resources against their CRDs (kubernetes-validate has no schema for them).
    custom = [m for m in manifests if m["apiVersion"].startswith(CUSTOM_GROUPS)]
    assert [p for m in custom for p in crd_schema.problems(m)] == []
    assert pods_fit(graph)
    admits_client_cidrs_only(graph, config)


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(lab_settings(broad=False))
def test_settings_within_every_limit_are_accepted_and_deploy(config):
    graph, error = run_program(config)
    assert error is None, str(error)
    deploys(graph, config)


@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(lab_settings())
def test_any_settings_deploy_or_are_refused_naming_a_key(config):
    graph, error = run_program(config)
    if error is None:
        deploys(graph, config)
        return
    assert graph.resources == [], "registered before refusing"
    assert re.search(r"\b(lab|aws):[A-Za-z]", str(error)), str(error)
