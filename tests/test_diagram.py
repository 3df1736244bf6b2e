"""The packet-path diagram: from the lab model, every entry point that is on, and the README's copy."""

import re
from pathlib import Path

import pytest

from labtools.diagram import diagram
from stacks.model import lab_model
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
                  "app-route: /v1, /v1/x rewritten to /x", "header x-lab-canary: always"):
        assert label in text, label
    assert text.startswith("flowchart LR\n")


@pytest.mark.parametrize("module, gone", [("traefik", "Traefik"), ("alb", "IngressGroup"),
                                          ("ingressNginx", "ingress-nginx"), ("nlb", "NLB of app-lb-svc"),
                                          ("gatewayApi", "Gateway")])
def test_a_module_that_is_off_is_left_out(module, gone):
    assert gone not in chart({"lab:modules": {module: False}})


def test_labels_cannot_break_the_chart():
    for line in chart().splitlines()[1:]:
        assert re.fullmatch(r'  \w+(\["[^"|]*"\]|\(\["[^"|]*"\]\)|\[\["[^"|]*"\]\]| --> \w+)', line), line


def test_a_changed_or_missing_readme_copy_is_caught():
    text = README.read_text()
    assert readme_problems(text.replace("kube-proxy (SNAT)", "kube-proxy", 1)) == [
        "the README's diagram differs: regenerate it with ./lab plan --diagram -"]
    assert readme_problems(text.replace("```mermaid", "```text")) == ["no mermaid block in the README"]
