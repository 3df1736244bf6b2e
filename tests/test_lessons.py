"""docs/lessons.md against the lab: its command blocks are the tour's rendering for the posts'
settings, every object it names is one the program makes, every lesson names smoke checks
that exist, every way in has a lesson, and the repository cites only what it ships."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from components.nginx_ingress import CONTROLLER_SERVICE
from labtools import lessons
from labtools.plan import stack_settings
from smoke_tests.outputs import parse_contract
from stacks.model import lab_model
from stacks.model_types import APPS, CANARY_HEADER
from tests import lesson_checks
from tests.lesson_checks import block_problems, check_problems, name_problems, sections
from tests.programs import run_lab

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / lessons.GUIDE).read_text()
GOLDEN = json.loads((ROOT / "tests" / "golden" / "outputs.json").read_text())
CONTRACT = parse_contract(GOLDEN["dev"])  # the outputs for the posts' settings


@pytest.fixture(scope="module")
def model():
    return lab_model(stack_settings("dev"))


@pytest.fixture(scope="module")
def known(model):
    """What the lab has a name for: the program's Kubernetes objects (under the mocks), the
    chart-made Service the guide reads, namespaces, labels, node groups, load balancers."""
    objects = {(m["kind"], m["metadata"].get("namespace") or "", m["metadata"]["name"]) for m in run_lab().manifests()}
    objects.add(("Service", "ingress-nginx", CONTROLLER_SERVICE))
    return {
        "objects": objects,
        "namespaces": {"default"} | {n for k, _, n in objects if k == "Namespace"} | {r.namespace for r in model.releases},
        "labels": {"app": set(APPS), "nodegroup": {ng.label for ng in model.node_groups},
                   "kubernetes.io/service-name": {n for k, _, n in objects if k == "Service"}},
        "names": ({ng.name for ng in model.node_groups} | {lb.name for lb in model.load_balancers if lb.name}
                  | {r.name for r in model.releases} | {CANARY_HEADER[0]}),
    }


def test_the_guides_blocks_are_the_tours_commands():
    assert block_problems(GUIDE, CONTRACT) == []


def test_a_block_out_of_step_with_the_lab_is_caught():
    moved = GUIDE.replace("http://$NODE_IP:30001/some/deep/path", "http://$NODE_IP:30009/some/deep/path")
    assert [p.split(";")[0] for p in block_problems(moved, CONTRACT)] == [
        "2. NodePort, and externalTrafficPolicy Local: the first bash block is not the tour's rendering"]
    assert block_problems(GUIDE.replace("## 7. Traefik", "## 7. Traefik!"), CONTRACT)[0].startswith(
        "no section '## 7. Traefik")


def test_every_name_the_guide_uses_is_the_labs(known):
    assert name_problems(GUIDE, known) == []


def test_a_name_the_lab_lacks_is_caught(known):
    wrong = ("```bash\nkubectl get service app3-svc\nkubectl -n nowhere get pods\n"
             "ALB=$(kubectl get ingress alb-ingres -o jsonpath='{.status}')\nkubectl get pods -l app=app3\n"
             "kubectl get nodes ng-public\n```\nThe `app3-deploy` pods.\n")
    assert name_problems(wrong, known) == [
        "kubectl get service app3-svc: the lab makes no Service default/app3-svc",
        "kubectl -n nowhere get pods: no namespace nowhere",
        "kubectl get ingress alb-ingres -o jsonpath={.status}: the lab makes no Ingress default/alb-ingres",
        "kubectl get pods -l app=app3: no object of the lab has the label app=app3",
        "kubectl get nodes ng-public: nodes are listed, not named",
        "`app3-deploy` is no name of the lab",
    ]


def test_every_lesson_names_smoke_checks_that_exist():
    assert check_problems(GUIDE, set(CONTRACT.entrypoints)) == []


def test_a_smoke_check_that_does_not_exist_is_caught(monkeypatch):
    lesson = lessons.LESSONS[1]
    bogus = lessons.Lesson(lesson.number, lesson.title, lesson.posts, lesson.kubectl,
                           (lessons.Check("test_entrypoints", "test_nope", "nodeport"),
                            lessons.Check("test_entrypoints", "test_route", "nowhere")), lesson.entrypoints)
    monkeypatch.setattr(lesson_checks, "LESSONS", (bogus,))
    assert check_problems(GUIDE, set(CONTRACT.entrypoints)) == [
        "2. NodePort, and externalTrafficPolicy Local: smoke_tests/test_entrypoints.py::test_nope[nodeport:...]: "
        "no such test",
        "2. NodePort, and externalTrafficPolicy Local: the section does not name "
        "smoke_tests/test_entrypoints.py::test_nope[nodeport:...]",
        "2. NodePort, and externalTrafficPolicy Local: smoke_tests/test_entrypoints.py::test_route[nowhere:...]: "
        "no entry point nowhere",
        "2. NodePort, and externalTrafficPolicy Local: the section does not name "
        "smoke_tests/test_entrypoints.py::test_route[nowhere:...]",
    ]


def uncovered(all_lessons, model) -> set[str]:
    """Ways in (and in-cluster checks) of the posts' lab that no lesson teaches."""
    taught = {e for lesson in all_lessons for e in lesson.entrypoints} | {l.internal for l in all_lessons}
    return (set(model.entrypoints) | set(model.internal)) - taught


def test_every_way_into_the_lab_has_a_lesson(model):
    assert uncovered(lessons.LESSONS, model) == set()
    assert uncovered(lessons.LESSONS[:-1], model) == {"gateway"}


def post_rows(text: str) -> list[tuple[str, ...]]:
    table = sections(text)["The posts"]
    return [tuple(c.strip() for c in row.strip().strip("|").split("|"))
            for row in table.splitlines() if re.match(r"^\| \d{3} ", row)]


def test_the_guide_cites_each_post_by_its_title_author_and_link():
    want = [(p.number, p.title, p.author or "not named", f"<{p.link}>" if p.link else "") for p in lessons.POSTS]
    assert post_rows(GUIDE) == want
    assert post_rows(GUIDE.replace("인그레스와 서비스", "Ingress and Service")) != want


SHIPPED = ["__main__.py", "lab", "README.md", "docs", "stacks", "components", "labtools", "smoke_tests", "testapp",
           "tests"]
UNSHIPPED = "LAB" + ".md"  # the specification beside the repository, not in it


def citations(paths: list[Path]) -> list[str]:
    """Files that cite what the repository does not ship, or a post the guide does not list."""
    posts = {p.number for p in lessons.POSTS}
    found = []
    for path in paths:
        text = path.read_text(errors="replace")
        if UNSHIPPED in text:
            found.append(f"{path.name}: cites {UNSHIPPED}")
        found += [f"{path.name}: post {n} is not in {lessons.GUIDE}" for n in re.findall(r"\bpost (\d{3})\b", text)
                  if n not in posts]
    return found


def shipped_files() -> list[Path]:
    found = []
    for name in SHIPPED:
        path = ROOT / name
        found += [path] if path.is_file() else [p for p in path.rglob("*") if p.suffix in (".py", ".md")]
    return found


def test_the_repository_cites_only_what_it_ships(tmp_path):
    assert citations(shipped_files()) == []
    bad = tmp_path / "bad.py"
    unknown = "post " + "007"  # spelt apart, or this file would cite it
    bad.write_text(f'"""See {UNSHIPPED} section 3 and {unknown}."""\n')
    assert citations([bad]) == [f"bad.py: cites {UNSHIPPED}", f"bad.py: {unknown} is not in {lessons.GUIDE}"]
