"""lab:clientCidrs: one setting says who can reach the lab, and every entry point obeys it.

Checked on the registered graph (tests/entry_sources.py), not on the model: every security
group rule, `inbound-cidrs`, source range and `sourceRanges` that lets traffic in from outside.
"""

import copy

import pytest

from labtools.plan import stack_settings
from labtools.simulate import plain
from stacks.model import lab_model
from tests import entry_sources
from tests.entry_sources import problems
from tests.programs import run_lab

NARROW = ["198.51.100.7/32", "203.0.113.0/24"]
NGINX_NLB = {"lab:ingressNginx": {"serviceType": "LoadBalancer"}}


@pytest.fixture(scope="module")
def narrowed():
    return run_lab({"lab:clientCidrs": NARROW})


@pytest.fixture(scope="module")
def narrowed_nginx_nlb():
    return run_lab({"lab:clientCidrs": NARROW, **NGINX_NLB})


@pytest.mark.parametrize("extra", [{}, NGINX_NLB], ids=["nginx NodePort", "nginx NLB"])
def test_every_entry_point_admits_the_client_cidrs_only(extra, narrowed, narrowed_nginx_nlb):
    graph = narrowed_nginx_nlb if extra else narrowed
    assert problems(graph, NARROW) == []
    found = entry_sources.entry_sources(graph)
    assert set(found) == {"nodeport", "nodeport-local", "nlb", "alb", "alb-hosts", "nginx", "traefik", "gateway"}
    assert found == dict.fromkeys(found, sorted(NARROW))
    # ...and the model says the same, as the plan prints it.
    model = lab_model(stack_settings(overrides={"lab:clientCidrs": NARROW, **extra}))
    assert {name: sorted(e.sources) for name, e in model.entrypoints.items()} == found
    assert all(e.guard for e in model.entrypoints.values())


def test_the_default_admits_everyone_and_says_so():
    graph = run_lab()
    assert problems(graph, ["0.0.0.0/0"]) == []
    found = entry_sources.entry_sources(graph)
    assert found == dict.fromkeys(found, ["0.0.0.0/0"])


def test_the_forms_the_controller_reads(narrowed_nginx_nlb):
    g = narrowed_nginx_nlb
    for name in ("alb-ingress", "alb-host-ingress"):  # one comma-separated list, the same on each
        assert g.k8s("Ingress", name).inputs["metadata"]["annotations"][entry_sources.INBOUND_CIDRS] == \
            "198.51.100.7/32,203.0.113.0/24"
    assert plain(g.k8s("Service", "app-lb-svc").inputs["spec"])["loadBalancerSourceRanges"] == NARROW
    nginx = plain(g.one(entry_sources.RELEASE, "ingress-nginx").inputs["values"])["controller"]["service"]
    assert nginx["loadBalancerSourceRanges"] == NARROW
    assert plain(g.k8s("LoadBalancerConfiguration", "lab-gateway-lb").inputs["spec"])["sourceRanges"] == NARROW
    (sg,) = g.of_type(entry_sources.SG)
    assert [(r["fromPort"], r["cidrBlocks"]) for r in plain(sg.inputs["ingress"])] == [(80, NARROW), (443, NARROW)]


def _broken(graph, type_, name, change):
    broken = copy.deepcopy(graph)
    (r,) = [r for r in broken.of_type(type_) if r.name == name]
    change(r.inputs)
    return broken


def _drop(*path):
    def change(inputs):
        for key in path[:-1]:
            inputs = inputs[key]
        inputs.pop(path[-1])
    return change


def _open_traefik(inputs):
    inputs["ingress"][0]["cidrBlocks"] = ["0.0.0.0/0"]


def _set(key, value):
    return lambda inputs: inputs.__setitem__(key, value)


def _narrow_ports(inputs):
    inputs["toPort"] = 30010  # no longer covers ingress-nginx's and Traefik's NodePorts


# (type, resource name, change, what the rule must say, the entry point it leaves unrestricted)
BROKEN = {
    "an Ingress without inbound-cidrs": (entry_sources.INGRESS, "alb-host-ingress",
                                         _drop("metadata", "annotations", entry_sources.INBOUND_CIDRS),
                                         "Ingress alb-host-ingress: no source restriction", "alb-hosts"),
    "app-lb-svc without source ranges": (entry_sources.SERVICE, "app-lb-svc", _drop("spec", "loadBalancerSourceRanges"),
                                         "Service app-lb-svc: no source restriction", "nlb"),
    "the gateway without sourceRanges": (entry_sources.LB_CONFIG, "lab-gateway-lb", _drop("spec", "sourceRanges"),
                                         "LoadBalancerConfiguration lab-gateway-lb: no source", "gateway"),
    "ingress-nginx's NLB without ranges": (entry_sources.RELEASE, "ingress-nginx",
                                           _drop("values", "controller", "service", "loadBalancerSourceRanges"),
                                           "Helm release ingress-nginx's Service: no source", "nginx"),
    "the Traefik NLB open to all": (entry_sources.SG, "traefik-nlb", _open_traefik,
                                    "traefik-nlb ingress[0]: traefik-nlb-id admits 0.0.0.0/0", None),
    "the Traefik NLB without a group": (entry_sources.AWS_LB, "traefik-nlb", _set("securityGroups", []),
                                        "load balancer traefik-nlb: no source restriction", "traefik"),
    "the NodePort rule open to all": (entry_sources.SG_INGRESS_RULE, "eks-test-nodeport-0",
                                      _set("cidrIpv4", "0.0.0.0/0"), "sg-eks-cluster admits 0.0.0.0/0", None),
}


@pytest.mark.parametrize("type_,name,change,said,unrestricted", BROKEN.values(), ids=BROKEN.keys())
def test_the_rule_finds_an_entry_point_open_to_all(narrowed_nginx_nlb, type_, name, change, said, unrestricted):
    broken = _broken(narrowed_nginx_nlb, type_, name, change)
    found = problems(broken, NARROW)
    assert len(found) == 1 and said in found[0], found
    if unrestricted:
        assert entry_sources.entry_sources(broken)[unrestricted] is None


def test_a_nodeport_outside_the_cluster_rules_has_no_sources(narrowed):
    one = _broken(narrowed, entry_sources.SG_INGRESS_RULE, "eks-test-nodeport-0", _narrow_ports)
    assert entry_sources.entry_sources(one)["nginx"] == NARROW[1:]  # 30080: only the other rule covers it
    both = _broken(one, entry_sources.SG_INGRESS_RULE, "eks-test-nodeport-1", _narrow_ports)
    found = entry_sources.entry_sources(both)
    assert found["nodeport"] == NARROW and found["nginx"] is None and found["traefik"] == NARROW


def test_sources_inside_the_vpc_are_no_one_from_outside(narrowed):
    inside = _broken(narrowed, entry_sources.SG_INGRESS_RULE, "eks-test-nodeport-0", _set("cidrIpv4", "10.0.0.0/16"))
    assert problems(inside, NARROW) == []
    outside = _broken(narrowed, entry_sources.SG_INGRESS_RULE, "eks-test-nodeport-0", _set("cidrIpv4", "10.0.0.0/8"))
    assert problems(outside, NARROW) != []
