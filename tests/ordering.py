"""The lab's dependency rules, as checks over a captured graph (each returns problems)."""

from __future__ import annotations

from labtools.simulate import Graph, Resource

RELEASE = "kubernetes:helm.sh/v3:Release"
SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
CONTROLLER_RELEASE = "aws-load-balancer-controller"
CRDS = "kubernetes:yaml/v2:ConfigFile"
GATEWAY_API = "kubernetes:gateway.networking.k8s.io/v1:"
CONTROLLER_CRS = "kubernetes:gateway.k8s.aws/v1:"
GATEWAY_KINDS = [GATEWAY_API + k for k in ("GatewayClass", "Gateway", "HTTPRoute")] + \
    [CONTROLLER_CRS + k for k in ("LoadBalancerConfiguration", "TargetGroupConfiguration")]


def without_edge(later: Resource, earlier: Resource) -> None:
    """Drop `later`'s direct edge to `earlier`: the broken copy a rule must catch."""
    later.deps = [d for d in later.deps if d != earlier.urn]


def controller_release(graph: Graph) -> Resource:
    return graph.one(RELEASE, CONTROLLER_RELEASE)


def served_by_controller(graph: Graph) -> list[Resource]:
    """Every Service and Ingress, every other Helm release (their charts make Services), and the
    Gateway API objects (the controller makes their ALB and removes it on destroy)."""
    others = [r for r in graph.of_type(RELEASE) if r.name != CONTROLLER_RELEASE]
    gateway = [r for kind in GATEWAY_KINDS for r in graph.of_type(kind)]
    return graph.of_type(SERVICE) + graph.of_type(INGRESS) + others + gateway


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


def gateway_ordering(graph: Graph) -> list[str]:
    """CRDs -> controller -> GatewayClass, configurations -> Gateway -> HTTPRoutes (destroy: reverse)."""
    problems = []
    release = controller_release(graph)
    for crds in graph.of_type(CRDS):
        if not graph.waits_for(release, crds):
            problems.append(f"the controller release does not wait for {crds.name}: it looks for the Gateway "
                            "API CRDs once, at start-up, and turns its ALB gateway off without them")

    def must(later: Resource, earlier: Resource, why: str) -> None:
        if not graph.waits_for(later, earlier):
            problems.append(f"{later.type.split(':')[-1]} {later.name} does not wait for "
                            f"{earlier.type.split(':')[-1]} {earlier.name} ({why})")

    configs = {r.inputs["metadata"]["name"]: r for r in graph.of_type(CONTROLLER_CRS + "LoadBalancerConfiguration")}
    targets = {r.inputs["metadata"]["name"]: r for r in graph.of_type(CONTROLLER_CRS + "TargetGroupConfiguration")}
    classes = {r.inputs["metadata"]["name"]: r for r in graph.of_type(GATEWAY_API + "GatewayClass")}
    gateways = {r.inputs["metadata"]["name"]: r for r in graph.of_type(GATEWAY_API + "Gateway")}
    for config in configs.values():
        ref = (config.inputs["spec"].get("defaultTargetGroupConfiguration") or {}).get("name")
        if ref in targets:
            must(config, targets[ref], "its default targets")
    for gw in gateways.values():
        spec = gw.inputs["spec"]
        must(gw, classes[spec["gatewayClassName"]], "a GatewayClass cannot go while a Gateway uses it")
        must(gw, configs[spec["infrastructure"]["parametersRef"]["name"]], "the ALB's scheme and name")
    services = {r.inputs["metadata"]["name"]: r for r in graph.of_type(SERVICE)}
    for route in graph.of_type(GATEWAY_API + "HTTPRoute"):
        for parent in route.inputs["spec"]["parentRefs"]:
            must(route, gateways[parent["name"]], "its parent Gateway")
        for rule in route.inputs["spec"]["rules"]:
            for ref in rule["backendRefs"]:
                must(route, services[ref["name"]], "the controller resolves each backend when it builds rules")
    return problems
