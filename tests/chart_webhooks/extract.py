"""Record the admission webhooks a pinned chart installs (kept as CHART-VERSION.json):

    python tests/chart_webhooks/extract.py CHART_DIR > CHART-VERSION.json

CHART_DIR is the chart at its pinned tag (Chart.yaml, values.yaml, templates/).
For every webhook of a Validating/MutatingWebhookConfiguration template it
records what decides whether an object of the lab is intercepted: the template
conditions around it (`when`), its failurePolicy, the resources and operations
of its rules, and its namespace and object selectors, each either written in
the template or taken from a values key. Every values key a record refers to
comes with the chart's default (`defaults`), so the tests can apply the lab's
values without the chart. tests/ordering.py reads these files.

Go templates are not rendered: the parser knows the shapes these charts use
(`{{- if EXPR }}` blocks, `{{ .Values.X | default "Y" }}`, `toYaml .Values.X`)
and records anything else as `templated`, which the rule treats as "may match".
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

VALUES_REF = re.compile(r"\$?\.Values\.([A-Za-z0-9_.]+)")
ACTION = re.compile(r"^\s*\{\{-?\s*(if|else if|else|end|with|range)\b\s*(.*?)\s*-?\}\}\s*$")
ITEM = re.compile(r"^(\s*)- (\w+):(.*)$")
KEY = re.compile(r"^(\s*)(\w+):\s*(.*)$")
INCLUDE_NAME = re.compile(r'\{\{-?\s*include\s+"[^"]+\.name"\s+\.\s*-?\}\}')


def indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def scalar(text: str, chart: str) -> dict:
    """A field's value: a literal, or a values key with its template default."""
    text = INCLUDE_NAME.sub(chart, text.strip()).strip('"')
    if "{{" not in text:
        return {"literal": text}
    ref = VALUES_REF.search(text)
    if not ref:
        return {"templated": text}
    out = {"value": ref.group(1)}
    if m := re.search(r'default\s+"([^"]*)"', text):
        out["default"] = m.group(1)
    return out


def list_under(lines: list[str], start: int, chart: str) -> list | dict:
    """The `- x` items (or a toYaml of a values key) below the key at lines[start]."""
    base, items = indent(lines[start]), []
    body = [line for line in lines[start + 1:] if line.strip()]
    if body and "toYaml" in body[0] and (ref := VALUES_REF.search(body[0])):
        return {"value": ref.group(1)}
    for line in body:
        if ACTION.match(line):
            continue
        if indent(line) < base or (indent(line) == base and not line.lstrip().startswith("-")):
            break
        if line.lstrip().startswith("- "):
            items.append(scalar(line.lstrip()[2:], chart).get("literal", line.strip()[2:]))
    return items


def selector(lines: list[str], start: int, chart: str) -> dict:
    """matchExpressions written in the template (each with the conditions around it) and
    the values keys the template adds to the selector."""
    head = lines[start]
    base = indent(head)
    found: dict = {"matchExpressions": [], "fromValues": sorted(set(VALUES_REF.findall(head)))}
    guards: list[str] = []
    i = start + 1
    while i < len(lines):
        line = lines[i]
        action = ACTION.match(line)
        if action:
            guards = apply_action(guards, action)
            found["fromValues"] += [r for r in VALUES_REF.findall(line) if "toYaml" in line]
        elif line.strip() and indent(line) <= base:
            break
        elif "toYaml" in line:
            found["fromValues"] += VALUES_REF.findall(line)
        elif (m := ITEM.match(line)) and m.group(2) == "key":
            expr = {"key": m.group(3).strip(), "when": list(guards)}
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or indent(lines[j]) > indent(line)):
                k = KEY.match(lines[j])
                if k and k.group(2) == "operator":
                    expr["operator"] = k.group(3).strip()
                elif k and k.group(2) == "values":
                    expr["values"] = list_under(lines, j, chart)
                j += 1
            found["matchExpressions"].append(expr)
            i = j
            continue
        i += 1
    found["fromValues"] = sorted(set(found["fromValues"]))
    return found


def apply_action(guards: list[str], action: re.Match) -> list[str]:
    word, expr = action.group(1), action.group(2)
    if word in ("if", "with"):
        return [*guards, expr]
    if word == "range":
        return [*guards, "templated"]
    if word in ("else", "else if"):
        flipped = [*guards[:-1], f"not ({guards[-1]})"] if guards else guards
        return [*flipped, expr] if word == "else if" else flipped
    return guards[:-1]  # end


def webhooks_of(path: Path, chart: str) -> list[dict]:
    lines = path.read_text().splitlines()
    out: list[dict] = []
    guards: list[str] = []
    kind, list_indent, current = None, None, None
    for i, line in enumerate(lines):
        if line.startswith("---"):
            kind, list_indent = None, None
            continue
        if action := ACTION.match(line):
            guards = apply_action(guards, action)
            continue
        if m := re.match(r"^kind:\s*(Validating|Mutating)WebhookConfiguration", line):
            kind = m.group(1)
        elif kind and re.match(r"^webhooks:", line):
            list_indent = -1
        elif kind and list_indent is not None and (m := ITEM.match(line)) and list_indent in (-1, len(m.group(1))):
            list_indent = len(m.group(1))
            current = {"kind": kind, "source": f"templates/{path.name}", "when": list(guards)}
            out.append(current)
            read_field(current, lines, i, m.group(2), m.group(3), len(m.group(1)) + 2, chart)
        elif current is not None and (k := KEY.match(line)) and list_indent is not None and list_indent >= 0 \
                and len(k.group(1)) == list_indent + 2:
            read_field(current, lines, i, k.group(2), k.group(3), list_indent + 2, chart)
    return out


def read_field(webhook: dict, lines: list[str], i: int, key: str, rest: str, key_indent: int, chart: str) -> None:
    if key == "name":
        webhook["name"] = scalar(rest, chart).get("literal", rest.strip())
    elif key == "failurePolicy":
        webhook["failurePolicy"] = scalar(rest, chart)
    elif key in ("namespaceSelector", "objectSelector"):
        webhook[key] = selector(lines, i, chart)
    elif key == "rules":
        rules = webhook.setdefault("rules", {"resources": [], "operations": []})
        for j in range(i + 1, len(lines)):
            if lines[j].strip() and indent(lines[j]) <= key_indent and not lines[j].lstrip().startswith("-"):
                break
            k = KEY.match(lines[j].replace("- ", "  ", 1))
            if k and k.group(2) in ("resources", "operations"):
                got = list_under([lines[j].replace("- ", "  ", 1)] + lines[j + 1:], 0, chart)
                rules[k.group(2)] = got if isinstance(got, dict) else rules[k.group(2)] + got


def defaults(values: dict, refs: set[str]) -> dict:
    out = {}
    for ref in sorted(refs):
        node = values
        for part in ref.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out[ref] = node
    return out


def main(chart_dir: Path) -> dict:
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    values = yaml.safe_load((chart_dir / "values.yaml").read_text()) or {}
    hooks = []
    for path in sorted((chart_dir / "templates").glob("*.yaml")) + sorted((chart_dir / "templates").glob("*/*.yaml")):
        if "WebhookConfiguration" in path.read_text():
            for hook in webhooks_of(path, chart["name"]):
                if path.parent.name != "templates":
                    hook["source"] = f"templates/{path.parent.name}/{path.name}"
                hooks.append(hook)
    refs = set(VALUES_REF.findall(json.dumps(hooks)))
    refs |= {m for h in hooks for m in re.findall(r"\"value\": \"([^\"]+)\"", json.dumps(h))}
    return {"chart": chart["name"], "version": chart["version"],
            "extractedBy": "tests/chart_webhooks/extract.py", "webhooks": hooks, "defaults": defaults(values, refs)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1])), indent=1))
