"""The program's real graph, read the way the lab model describes it, so tests can hold
the model (cost, time) to what the program registers."""

from __future__ import annotations

from collections import Counter

from labtools.simulate import Graph, plain
from stacks import estimates


def graph_nodes(graph: Graph) -> list[estimates.Node]:
    """The dependency graph with the waits estimates.py names: providers, pods on nodes, children."""
    urns = {r.urn for r in graph.resources}
    node_groups = [r.urn for r in graph.of_type(estimates.NODE_GROUP)]
    out = []
    for r in graph.resources:
        preds = list(r.deps)
        provider = r.provider.rsplit("::", 1)[0] if r.provider else ""
        if provider in urns:
            preds.append(provider)
        if r.type in estimates.RUNS_PODS:
            preds += node_groups
        preds += [c.urn for c in graph.children(r)]
        out.append(estimates.Node(r.urn, r.type, r.name, preds, r.inputs))
    return out


def billed(graph: Graph) -> Counter:
    """(kind, quantity) of everything in the graph that bills by the hour."""
    found: Counter = Counter()
    zones = len(graph.of_type("aws:ec2/subnet:Subnet")) // 2  # a public and a private subnet per zone
    found[("control-plane", 1)] += len(graph.of_type("eks:index:Cluster"))
    for ng in graph.of_type("eks:index:ManagedNodeGroup"):
        n = int(ng.inputs["scalingConfig"]["desiredSize"])
        found[("ec2", n)] += 1
        found[("ebs", n)] += 1
        if "public" in ng.inputs["nodeGroupName"]:
            found[("public-ipv4", n)] += 1
    found[("nat", 1)] += len(graph.of_type("aws:ec2/natGateway:NatGateway"))
    found[("public-ipv4", 1)] += len(graph.of_type("aws:ec2/eip:Eip"))
    for svc in graph.of_type("kubernetes:core/v1:Service"):
        if (svc.inputs.get("spec") or {}).get("type") == "LoadBalancer":
            found[("nlb", 1)] += 1
            found[("public-ipv4", zones)] += 1
    groups = {plain(i.inputs["metadata"]["annotations"])["alb.ingress.kubernetes.io/group.name"]
              for i in graph.of_type("kubernetes:networking.k8s.io/v1:Ingress")
              if i.inputs["spec"].get("ingressClassName") == "alb"}
    found[("alb", 1)] += len(groups)
    found[("public-ipv4", zones)] += len(groups)
    for rel in graph.of_type("kubernetes:helm.sh/v3:Release"):
        if estimates._chart_load_balancer(plain(rel.inputs.get("values") or {})):
            found[("nlb", 1)] += 1
            found[("public-ipv4", zones)] += 1
    for scheme in gateway_schemes(graph):
        found[("alb", 1)] += 1  # the controller makes one ALB per Gateway of its class
        if scheme == "internet-facing":
            found[("public-ipv4", zones)] += 1
    for lb in graph.of_type("aws:lb/loadBalancer:LoadBalancer"):
        found[("nlb" if lb.inputs["loadBalancerType"] == "network" else "alb", 1)] += 1
        found[("public-ipv4", len(lb.inputs["subnets"]))] += 1
    return +found


def gateway_schemes(graph: Graph) -> list[str]:
    """The scheme of each Gateway's ALB: its LoadBalancerConfiguration's, else the controller's
    default (internal)."""
    configs = {plain(c.inputs["metadata"])["name"]: plain(c.inputs["spec"])
               for c in graph.of_type("kubernetes:gateway.k8s.aws/v1:LoadBalancerConfiguration")}
    schemes = []
    for gw in graph.of_type("kubernetes:gateway.networking.k8s.io/v1:Gateway"):
        ref = (plain(gw.inputs["spec"]).get("infrastructure") or {}).get("parametersRef") or {}
        schemes.append((configs.get(ref.get("name")) or {}).get("scheme", "internal"))
    return schemes
