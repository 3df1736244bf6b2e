"""The lab's dependency rules, as checks over a captured graph (each returns problems)."""

from __future__ import annotations

from labtools.simulate import Graph, Resource

RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
CONTROLLER_RELEASE = "aws-load-balancer-controller"


def without_edge(later: Resource, earlier: Resource) -> None:
    """Drop `later`'s direct edge to `earlier`: the broken copy a rule must catch."""
    later.deps = [d for d in later.deps if d != earlier.urn]


def controller_release(graph: Graph) -> Resource:
    return graph.one(RELEASE, CONTROLLER_RELEASE)


def served_by_controller(graph: Graph) -> list[Resource]:
    """Every Service and Ingress, and every other Helm release (their charts make Services)."""
    others = [r for r in graph.of_type(RELEASE) if r.name != CONTROLLER_RELEASE]
    return graph.of_type(SERVICE) + graph.of_type(INGRESS) + others


def controller_ordering(graph: Graph) -> list[str]:
    release = controller_release(graph)
    problems = []
    for ng in graph.of_type("eks:index:ManagedNodeGroup"):
        if not graph.waits_for(release, ng):
            problems.append(f"the controller release does not wait for node group {ng.name}")
    attachments = [a for a in graph.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                   if a.parent == release.parent]
    if not attachments or not all(graph.waits_for(release, a) for a in attachments):
        problems.append("the controller release does not wait for its IRSA policy attachment")
    for r in served_by_controller(graph):
        if not graph.waits_for(r, release):
            problems.append(f"{r.type.split(':')[-1]} {r.name} does not wait for the controller release "
                            "(its webhook refuses Services until it runs; on destroy it must go last)")
    return problems


def ingress_waits_for_its_controller(graph: Graph, ingress: str, release: str) -> list[str]:
    """An Ingress sent before its controller's admission webhook answers is refused."""
    ing = next(r for r in graph.of_type(INGRESS) if r.name == ingress)
    rel = graph.one(RELEASE, release)
    return [] if graph.waits_for(ing, rel) else [f"Ingress {ingress} does not wait for release {release}"]
