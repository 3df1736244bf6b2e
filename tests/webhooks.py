"""The admission-webhook ordering rule, from the charts' own webhook definitions.

A webhook with failurePolicy Fail refuses every object it intercepts until its
server answers, and its server is a release's pods. So every object the program
creates that such a webhook intercepts must wait for that release, unless the
webhook's selectors leave it out. The definitions come from the pinned charts'
templates (tests/chart_webhooks/CHART-VERSION.json, made by extract.py there);
the lab's values are applied over the chart's defaults.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from labtools.simulate import Graph, Resource, plain

RELEASE = "kubernetes:helm.sh/v3:Release"
RECORDS = Path(__file__).resolve().parent / "chart_webhooks"
# kind -> the resource name webhook rules use
PLURAL = {"Service": "services", "Ingress": "ingresses", "Pod": "pods", "ConfigMap": "configmaps",
          "Secret": "secrets", "ServiceAccount": "serviceaccounts", "Namespace": "namespaces",
          "IngressClass": "ingressclasses", "Deployment": "deployments"}


def records() -> dict[tuple[str, str], dict]:
    found = {}
    for path in RECORDS.glob("*.json"):
        data = json.loads(path.read_text())
        found[(data["chart"], data["version"])] = data
    return found


def lookup(values: dict, defaults: dict, path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return defaults.get(path)
        node = node[part]
    return node


def evaluate(expr: str, get) -> bool:
    """A template condition of the shapes the charts use; anything else may be true."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expr)

    def term(i: int) -> tuple[bool, int]:
        tok = tokens[i]
        if tok == "(":
            value, i = parse(i + 1)
            return value, i + 1  # past ")"
        if tok in ("not", "and", "or"):
            return parse(i)
        ref = re.fullmatch(r"\$?\.Values\.([A-Za-z0-9_.]+)", tok)
        return (bool(get(ref.group(1))) if ref else True), i + 1

    def parse(i: int) -> tuple[bool, int]:
        tok = tokens[i]
        if tok == "not":
            value, i = term(i + 1)
            return not value, i
        if tok in ("and", "or"):
            values, i = [], i + 1
            while i < len(tokens) and tokens[i] != ")":
                value, i = term(i)
                values.append(value)
            return (all(values) if tok == "and" else any(values)), i
        return term(i)

    return expr == "templated" or parse(0)[0]


def matches(expr: dict, labels: dict[str, str]) -> bool:
    key, op, vals = expr["key"], expr["operator"], expr.get("values") or []
    if op == "In":
        return labels.get(key) in vals
    if op == "NotIn":
        return key not in labels or labels[key] not in vals
    if op == "Exists":
        return key in labels
    return key not in labels  # DoesNotExist


def selects(selector: dict | None, labels: dict[str, str], get) -> bool:
    """Whether a recorded selector (with the lab's values applied) selects `labels`."""
    if not selector:
        return True
    expressions, match_labels = [], {}
    for expr in selector["matchExpressions"]:
        if all(evaluate(w, get) for w in expr["when"]):
            vals = expr.get("values")
            expressions.append({**expr, "values": get(vals["value"]) or [] if isinstance(vals, dict) else vals})
    for ref in selector["fromValues"]:
        value = get(ref)
        if isinstance(value, dict) and ({"matchLabels", "matchExpressions"} & set(value)):
            match_labels.update(value.get("matchLabels") or {})
            expressions += value.get("matchExpressions") or []
        elif isinstance(value, dict) and ref.endswith("matchLabels"):
            match_labels.update(value)
        elif isinstance(value, list):
            expressions += value
    return all(labels.get(k) == v for k, v in match_labels.items()) and all(matches(e, labels) for e in expressions)


def namespace_labels(graph: Graph, name: str) -> dict[str, str]:
    labels = {"kubernetes.io/metadata.name": name}
    for ns in graph.k8s_objects():
        if ns.inputs["kind"] == "Namespace" and ns.inputs["metadata"]["name"] == name:
            labels.update(plain(ns.inputs["metadata"].get("labels") or {}))
    return labels


def admitted(graph: Graph) -> list[tuple[Resource, str, str, str, dict]]:
    """What the program sends through admission: (resource, what, plural, namespace, labels).
    A Deployment's pods pass admission too (sent by the ReplicaSet controller, but a
    refusal stalls the Deployment's await); a chart's Services and pods carry the
    chart's app.kubernetes.io/name."""
    out = []
    for r in graph.k8s_objects():
        meta = plain(r.inputs["metadata"])
        kind, ns = r.inputs["kind"], meta.get("namespace", "default")
        out.append((r, f"{kind} {meta['name']}", PLURAL.get(kind, kind.lower() + "s"), ns, meta.get("labels") or {}))
        if kind == "Deployment":
            labels = plain(r.inputs["spec"]["template"]["metadata"].get("labels") or {})
            out.append((r, f"the pods of Deployment {meta['name']}", "pods", ns, labels))
    for rel in graph.of_type(RELEASE):
        labels = {"app.kubernetes.io/name": rel.inputs["chart"]}
        for plural in ("services", "pods"):
            out.append((rel, f"the {plural} of release {rel.inputs['name']}", plural, rel.inputs["namespace"], labels))
    return out


def webhook_ordering(graph: Graph, known: dict[tuple[str, str], dict] | None = None) -> list[str]:
    known = records() if known is None else known
    problems = []
    sent = admitted(graph)
    for rel in graph.of_type(RELEASE):
        record = known.get((rel.inputs["chart"], rel.inputs["version"]))
        if record is None:
            problems.append(f"no webhook record for chart {rel.inputs['chart']} {rel.inputs['version']}: "
                            "run tests/chart_webhooks/extract.py on it")
            continue
        values = plain(rel.inputs.get("values") or {})

        def get(path: str, values=values, record=record) -> Any:
            return lookup(values, record["defaults"], path)

        for hook in record["webhooks"]:
            policy = hook.get("failurePolicy", {"literal": "Fail"})
            policy = policy.get("literal") or get(policy.get("value", "")) or policy.get("default") or "Fail"
            if policy != "Fail" or not all(evaluate(w, get) for w in hook["when"]):
                continue
            resources = hook.get("rules", {}).get("resources", [])
            for resource, what, plural, ns, labels in sent:
                if resource is rel or not any(res == plural or "{{" in res for res in resources):
                    continue
                if not selects(hook.get("namespaceSelector"), namespace_labels(graph, ns), get):
                    continue
                if not selects(hook.get("objectSelector"), labels, get):
                    continue
                if not graph.waits_for(resource, rel):
                    problems.append(f"{what} is intercepted by webhook {hook['name']} (failurePolicy Fail) of "
                                    f"release {rel.inputs['name']} but does not wait for that release")
    return problems
