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


def test_the_readme_shows_the_diagram_the_program_generates():
    text = README.read_text()
    found = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert found, "no mermaid block in the README"
    assert found.group(1) == chart(), "README's diagram differs: regenerate with ./lab plan --diagram -"


def test_every_entry_point_that_is_on_is_drawn():
    text = chart()
    for label in ("(NodePort)", "kube-proxy (Local: no SNAT)", "NLB of app-lb-svc", "ALB eks-test-lab",
                  "ingress-nginx controller", "Traefik (TLS ends)", "Service app1-svc", "app2 pods (3)"):
        assert label in text, label
    assert text.startswith("flowchart LR\n")


@pytest.mark.parametrize("module, gone", [("traefik", "Traefik"), ("alb", "ALB "), ("ingressNginx", "ingress-nginx"),
                                          ("nlb", "NLB of app-lb-svc")])
def test_a_module_that_is_off_is_left_out(module, gone):
    assert gone not in chart({"lab:modules": {module: False}})


def test_labels_cannot_break_the_chart():
    for line in chart().splitlines()[1:]:
        assert re.fullmatch(r'  \w+(\["[^"|]*"\]|\(\["[^"|]*"\]\)|\[\["[^"|]*"\]\]| --> \w+)', line), line


def test_a_changed_readme_copy_is_caught(tmp_path):
    text = README.read_text().replace("kube-proxy (SNAT)", "kube-proxy", 1)
    found = re.search(r"```mermaid\n(.*?)```", text, re.S)
    assert found.group(1) != chart()
