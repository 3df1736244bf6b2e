"""The packet-path diagram: from the lab model, every entry point that is on, and the README's copy;
every path it draws is a way in of the model (and every way in is drawn), with the ports of the
objects the program registers."""

import re
from collections import defaultdict
from pathlib import Path

import pytest

from labtools import diagram as diagram_module
from labtools.diagram import diagram, lab_paths
from labtools.packet_paths import packet_paths
from stacks.model import lab_model
from tests.programs import run_lab
from tests.test_fits import run_lab_settings

README = Path(__file__).resolve().parent.parent / "README.md"


def chart(overrides=None) -> str:
    return diagram(lab_model(run_lab_settings(overrides)))


def readme_problems(text: str) -> list[str]:
    found = re.search(r"```mermaid\n(.*?)```", text, re.S)
    if not found:
        return ["no mermaid block in the README"]
    if found.group(1) != chart():
        return ["the README's diagram differs: regenerate it with ./lab plan --diagram -"]
    return []


def test_the_readme_shows_the_diagram_the_program_generates():
    assert readme_problems(README.read_text()) == []


def test_every_entry_point_that_is_on_is_drawn():
    text = chart()
    for label in ("(NodePort)", "kube-proxy (Local: no SNAT)", "NLB of app-lb-svc", "ALB eks-test-lab",
                  "ingress-nginx controller", "Traefik (TLS ends)", "Service app1-svc", "app2 pods (3)",
                  "ALB eks-test-gateway (Gateway lab-gateway)", "canary-route: /canary, 80% app1-svc / 20% app2-svc",
                  "app-route: /v1, /v1/x rewritten to /x", "header x-lab-canary: always",
                  "kube-proxy (SNAT) for app-nodeport-svc", "kube-proxy (SNAT) for app-lb-svc", '-->|":30001"|'):
        assert label in text, label
    assert text.startswith("flowchart LR\n")


@pytest.mark.parametrize("module, gone", [("traefik", "Traefik"), ("alb", "IngressGroup"),
                                          ("ingressNginx", "ingress-nginx"), ("nlb", "NLB of app-lb-svc"),
                                          ("gatewayApi", "Gateway")])
def test_a_module_that_is_off_is_left_out(module, gone):
    assert gone not in chart({"lab:modules": {module: False}})


def test_labels_cannot_break_the_chart():
    for line in chart().splitlines()[1:]:
        assert re.fullmatch(r'  \w+(\["[^"|]*"\]|\(\["[^"|]*"\]\)|\[\["[^"|]*"\]\]| -->(\|"[^"|]*"\|)? \w+)', line), line


def test_a_changed_or_missing_readme_copy_is_caught():
    text = README.read_text()
    assert readme_problems(text.replace("kube-proxy (SNAT)", "kube-proxy", 1)) == [
        "the README's diagram differs: regenerate it with ./lab plan --diagram -"]
    assert readme_problems(text.replace("```mermaid", "```text")) == ["no mermaid block in the README"]


# ---- the chart's paths are the model's ways in ------------------------------

NODE = re.compile(r'  (\w+)(?:\["(.*)"\]|\(\["(.*)"\]\)|\[\["(.*)"\]\])')
EDGE = re.compile(r'  (\w+) -->(?:\|"([^"]*)"\|)? (\w+)')


def drawn_paths(text: str) -> list[tuple[tuple[str, str], ...]]:
    """Every path of the chart from the client to a node with no way on, as (edge label, node label)
    steps: read back from the Mermaid text, not from the code that drew it."""
    labels, edges = {}, defaultdict(list)
    for line in text.splitlines()[1:]:
        if edge := EDGE.fullmatch(line):
            edges[edge[1]].append((edge[2] or "", edge[3]))
        elif node := NODE.fullmatch(line):
            labels[node[1]] = next(g for g in node.groups()[1:] if g is not None)
    found = []

    def walk(node: str, trail: tuple) -> None:
        if not edges[node]:
            found.append(trail)
        for port, to in edges[node]:
            assert to not in [n for n, _ in trail], f"a cycle through {to}"
            walk(to, (*trail, (to, port)))

    walk("client", ())
    return [tuple((port, labels[n]) for n, port in trail) for trail in found]


def model_ways_in(model) -> list[tuple[tuple[str, str], ...]]:
    return [tuple((h.port, h.label) for h in path[1:]) for paths in lab_paths(model).values() for path in paths]


def path_problems(text: str, model) -> list[str]:
    drawn, model_paths = set(drawn_paths(text)), set(model_ways_in(model))
    def say(path):
        return " -> ".join(f"{label} [{port}]" if port else label for port, label in path)
    return ([f"drawn, not a way in of the model: {say(p)}" for p in sorted(drawn - model_paths)]
            + [f"a way in of the model not drawn: {say(p)}" for p in sorted(model_paths - drawn)])


@pytest.mark.parametrize("overrides", [None, {"lab:ingressNginx": {"serviceType": "LoadBalancer"}},
                                       {"lab:modules": {"alb": False, "traefik": False}}],
                         ids=["posts", "nginx-nlb", "no-alb-no-traefik"])
def test_every_path_in_the_chart_is_a_way_in_of_the_model_and_the_reverse(overrides):
    model = lab_model(run_lab_settings(overrides))
    assert path_problems(diagram(model), model) == []
    assert all(path[-1][1].split()[1] == "pods" for path in drawn_paths(diagram(model)))  # every path ends at pods


def test_a_shared_hop_or_a_lost_edge_is_caught():
    model = lab_model(run_lab_settings())
    text = diagram(model)
    # One kube-proxy for two Services (as the chart once had): the NLB reaches app-nodeport-svc.
    shared = re.sub(r"\n  kp_app_lb_svc\[.*", "", text).replace("kp_app_lb_svc", "kp_app_nodeport_svc")
    problems = path_problems(shared, model)
    assert ("drawn, not a way in of the model: NLB of app-lb-svc (instance targets) [:80] -> node (NodePort) "
            "[NodePort] -> kube-proxy (SNAT) for app-nodeport-svc -> Service app-nodeport-svc [:3000] -> "
            "app1 pods (3) [:8080]") in problems
    assert any(p.startswith("a way in of the model not drawn: NLB of app-lb-svc") for p in problems)
    lost = text.replace('  svc_app_lb_svc -->|":8080"| pods_app1\n', "")
    assert path_problems(lost, model) == [
        "drawn, not a way in of the model: NLB of app-lb-svc (instance targets) [:80] -> node (NodePort) "
        "[NodePort] -> kube-proxy (SNAT) for app-lb-svc -> Service app-lb-svc [:80]",
        "a way in of the model not drawn: NLB of app-lb-svc (instance targets) [:80] -> node (NodePort) "
        "[NodePort] -> kube-proxy (SNAT) for app-lb-svc -> Service app-lb-svc [:80] -> app1 pods (3) [:8080]"]


# ---- the ports are those of the objects the program registers ---------------

def ports(steps) -> tuple[int, ...]:
    return tuple(int(p) for step in steps for p in re.findall(r":(\d+)", step))


def registered_ways_in(graph, settings) -> dict[str, list]:
    """Per entry point, each packet path to pods (read from the registered objects) as its ports,
    Service and app."""
    found = {}
    for name, paths in packet_paths(graph, settings).items():
        found[name] = sorted(
            (ports(steps[1:]), service[0], pod[0])
            for steps in paths if (pod := re.findall(r"^pod (\S+) :", steps[-1]))
            for service in [[re.match(r"Service ([^:]+):", x)[1] for x in steps if x.startswith("Service ")]])
    return found


def drawn_ways_in(model) -> dict[str, list]:
    return {name: sorted((ports(h.port for h in path), path[-2].label.removeprefix("Service "),
                          path[-1].label.split()[0]) for path in paths)
            for name, paths in lab_paths(model).items()}


@pytest.fixture(scope="module")
def program():
    return run_lab(), run_lab_settings()


def test_the_ports_are_those_of_the_registered_objects(program):
    graph, settings = program
    assert drawn_ways_in(lab_model(settings)) == registered_ways_in(graph, settings)


def test_a_port_unlike_the_programs_is_caught(program, monkeypatch):
    graph, settings = program
    monkeypatch.setattr(diagram_module, "TRAEFIK_SERVICE_PORT", 8000)
    drawn, registered = drawn_ways_in(lab_model(settings)), registered_ways_in(graph, settings)
    assert [name for name in registered if drawn[name] != registered[name]] == ["traefik"]
