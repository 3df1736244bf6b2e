"""What the account must hold, from the lab model, against what the program registers.

labtools/quotas.py counts from the model; the simulated program (labtools/simulate.py)
shows what `pulumi up` would create. They must agree for each combination of modules,
and the offline plan must print the count.
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter

import pytest

from labtools import plan, plan_text, quotas
from labtools.simulate import Graph
from stacks.capacity import VCPUS
from stacks.model import lab_model
from tests.graph_checks import billed
from tests.programs import run_lab

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
COMBOS = {
    "the posts' lab": {},
    "perAz, three clients, bigger nodes": {
        "lab:natGateways": "perAz",
        "lab:clientCidrs": ["203.0.113.1/32", "203.0.113.2/32", "198.51.100.0/24"],
        "lab:privateNodeGroup": {"instanceType": "m5.xlarge", "desiredSize": 3, "minSize": 1, "maxSize": 4}},
    "nginx behind its NLB": {"lab:ingressNginx": {"serviceType": "LoadBalancer"}},
    "traefik only": {"lab:modules": {"loadBalancerController": False, "nlb": False, "alb": False, "gatewayApi": False,
                                     "ingressNginx": False, "traefik": True}},
}


def needed(model) -> dict[str, int]:
    found: Counter = Counter()
    for n in quotas.needs(model):
        found[n.quota.key] += n.amount
    return dict(found)


def registered(graph: Graph) -> dict[str, int]:
    """The same counts, read from the resources the program registers."""
    bills = billed(graph)
    groups = graph.of_type("eks:index:ManagedNodeGroup")
    traefik_sg = [sg for sg in graph.of_type("aws:ec2/securityGroup:SecurityGroup") if "traefik" in sg.name]
    controller = bills[("alb", 1)] + bills[("nlb", 1)] - len(graph.of_type("aws:lb/loadBalancer:LoadBalancer"))
    nodes = (quotas.EKS_SELF_RULES + len(graph.of_type(INGRESS_RULE))
             + (quotas.CONTROLLER_NODE_RULES if controller else 0))
    traefik = [sum(len(rule["cidrBlocks"]) for rule in sg.inputs["ingress"]) for sg in traefik_sg]
    found = {
        "vpcs": len(graph.of_type("aws:ec2/vpc:Vpc")),
        "internet-gateways": len(graph.of_type("aws:ec2/internetGateway:InternetGateway")),
        "nat-gateways": len(graph.of_type("aws:ec2/natGateway:NatGateway")),
        "elastic-ips": len(graph.of_type("aws:ec2/eip:Eip")),
        "vcpus": sum(int(g.inputs["scalingConfig"]["desiredSize"]) * VCPUS[g.inputs["instanceTypes"][0]]
                     for g in groups),
        "albs": bills[("alb", 1)], "nlbs": bills[("nlb", 1)],
        "eks-clusters": len(graph.of_type("eks:index:Cluster")),
        "sg-inbound-rules": max([nodes, *traefik]),
    }
    return {k: v for k, v in found.items() if v}


@pytest.fixture(scope="module", params=COMBOS.values(), ids=COMBOS.keys())
def lab(request):
    return run_lab(request.param), lab_model(plan.stack_settings(overrides=request.param))


def test_the_model_needs_what_the_program_registers(lab):
    graph, model = lab
    assert needed(model) == registered(graph)


def test_a_resource_the_count_misses_is_caught(lab):
    graph, model = lab
    rule = next(r for r in graph.resources if r.type == INGRESS_RULE)
    broken = dataclasses.replace(graph, resources=[r for r in graph.resources if r is not rule])
    assert needed(model) != registered(broken)


def test_labs_multiply_all_but_the_rules_of_one_group():
    model = lab_model(plan.stack_settings())
    one, three = needed(model), {n.quota.key: 0 for n in quotas.needs(model)}
    for n in quotas.needs(model, labs=3):
        three[n.quota.key] += n.amount
    assert three == {k: v if k == "sg-inbound-rules" else 3 * v for k, v in one.items()}


def test_the_plan_prints_what_the_account_must_hold():
    model = lab_model(plan.stack_settings())
    out = io.StringIO()
    plan_text._print_account(quotas.plan_report(model), lambda line="": print(line, file=out))
    text = out.getvalue()
    assert "What the account must hold" in text
    assert "vCPUs of On-Demand Standard instances    ec2 L-1216C47A                       6           5 !" in text
    assert "NAT gateways in ap-northeast-2a" in text and "t3.small offered in ap-northeast-2a, ap-northeast-2c" in text
