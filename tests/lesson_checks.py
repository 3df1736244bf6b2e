"""What holds docs/lessons.md to the lab: its command blocks to the tour's rendering, every
object it names to the program, every smoke check to the suite. Each returns problems
(empty: all is well), so tests/test_lessons.py can also show each one fail."""

from __future__ import annotations

import importlib
import re
import shlex

from labtools.lessons import LESSONS, Lesson
from labtools.tour_steps import Where, steps

FENCE = re.compile(r"```bash\n(.*?)```", re.S)
# kubectl kinds the guide may name objects of, as the API spells them.
KINDS = {"service": "Service", "services": "Service", "svc": "Service", "ingress": "Ingress",
         "ingresses": "Ingress", "ingressclass": "IngressClass", "gatewayclass": "GatewayClass",
         "gateway": "Gateway", "httproute": "HTTPRoute", "httproutes": "HTTPRoute",
         "deployment": "Deployment", "deployments": "Deployment"}
CLUSTER_SCOPED = {"IngressClass", "GatewayClass"}
LISTED = {"pods", "nodes", "endpointslices", "targetgroupbindings"}  # listed, never named
VALUED = {"-n", "-l", "-o", "-L", "--namespace", "--selector"}
KEBAB = re.compile(r"`([a-z0-9]+(?:-[a-z0-9]+)+)`")


def sections(text: str) -> dict[str, str]:
    """Heading (without ##) -> the text under it."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def rendered(lesson: Lesson, contract) -> str:
    return "\n".join(s.line for s in steps(lesson, contract, Where(symbolic=True))) + "\n"


def block_problems(text: str, contract) -> list[str]:
    found = sections(text)
    problems = []
    for lesson in LESSONS:
        body = found.get(lesson.heading)
        if body is None:
            problems.append(f"no section '## {lesson.heading}'")
            continue
        blocks = FENCE.findall(body)
        want = rendered(lesson, contract)
        if not blocks or blocks[0] != want:
            problems.append(f"{lesson.heading}: the first bash block is not the tour's rendering; expected:\n{want}")
    return problems


def check_problems(text: str, entrypoints: set[str]) -> list[str]:
    """Every smoke check a lesson names exists, for an entry point the lab has, and its
    section names it."""
    found = sections(text)
    problems = []
    for lesson in LESSONS:
        if not lesson.checks:
            problems.append(f"{lesson.heading}: names no smoke check")
        for check in lesson.checks:
            module = importlib.import_module(f"smoke_tests.{check.module}")
            if not callable(getattr(module, check.test, None)):
                problems.append(f"{lesson.heading}: {check}: no such test")
            if check.entry is not None and check.entry not in entrypoints:
                problems.append(f"{lesson.heading}: {check}: no entry point {check.entry}")
            if str(check) not in found.get(lesson.heading, ""):
                problems.append(f"{lesson.heading}: the section does not name {check}")
    return problems


def kubectl_commands(text: str) -> list[list[str]]:
    """Every kubectl command in the guide's bash blocks (a line, or a line's `$(kubectl ...)`),
    split as the shell would, up to a `--`."""
    found = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            line = line.split("  # ", 1)[0]
            if "$(kubectl " in line:
                command = line.split("$(kubectl ", 1)[1].rsplit(")", 1)[0]
            elif line.startswith("kubectl "):
                command = line[len("kubectl "):]
            else:
                continue
            words = shlex.split(command)
            found.append(words[: words.index("--")] if "--" in words else words)
    return found


def name_problems(text: str, known: dict) -> list[str]:
    """`known`: objects {(kind, namespace, name)}, namespaces, labels {key: {values}} and other names
    (node groups, load balancers, headers) the lab has."""
    problems = []
    for words in kubectl_commands(text):
        problems += _command_problems(words, known)
    names = known["names"] | {n for _, _, n in known["objects"]} | known["namespaces"]
    problems += [f"`{n}` is no name of the lab" for n in sorted(set(KEBAB.findall(text)) - names)]
    return problems


def _command_problems(words: list[str], known: dict) -> list[str]:
    where = "kubectl " + " ".join(words)
    flags, rest, i = {}, [], 0
    while i < len(words):
        if words[i] in VALUED:
            flags[words[i]] = words[i + 1]
            i += 2
            continue
        if not words[i].startswith("-"):
            rest.append(words[i])
        i += 1
    namespace = flags.get("-n", "default")
    problems = [] if namespace in known["namespaces"] else [f"{where}: no namespace {namespace}"]
    selector = flags.get("-l")
    if selector:
        key, _, value = selector.partition("=")
        if value not in known["labels"].get(key, set()):
            problems.append(f"{where}: no object of the lab has the label {selector}")
    if len(rest) < 2 or rest[0] not in ("get", "describe"):
        return problems  # kubectl run testbox ...: a pod of the learner's own
    kinds, names = rest[1].split(","), rest[2:]
    for kind in kinds:
        if names and kind in LISTED:
            problems.append(f"{where}: {kind} are listed, not named")
        elif kind not in KINDS and kind not in LISTED:
            problems.append(f"{where}: kind {kind} is not one the guide may name")
        for name in names if kind in KINDS else []:
            scope = "" if KINDS[kind] in CLUSTER_SCOPED else namespace
            if (KINDS[kind], scope, name) not in known["objects"]:
                problems.append(f"{where}: the lab makes no {KINDS[kind]} {scope + '/' if scope else ''}{name}")
    return problems
