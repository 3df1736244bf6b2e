"""Custom resources (the Gateway API's, the controller's) against their CRDs, as the API server
would check them: `problems(manifest)` lists what it would refuse.

The schemas are those tests/gateway_crds/extract.py recorded. The server applies the schema's
defaults, then validates strictly: pulumi-kubernetes applies server-side with
fieldValidation=Strict, so an unknown field is refused, not pruned. The OpenAPI v3 schema
becomes a JSON Schema in which every object that neither declares `additionalProperties` nor
preserves unknown fields is closed. The CRDs' CEL rules (`x-kubernetes-validations`) run on
cel-python, with the one Kubernetes library function they use that it lacks (`split`) added
here; a rule it cannot compile or evaluate is a problem, never a pass. Rules that read
`oldSelf` (transition rules) are evaluated as the re-apply of the same object that every
`pulumi up` does. The server's own checks of `metadata` are written out here: a DNS-subdomain
name, and a namespace exactly when the kind is namespaced.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import celpy
import jsonschema
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, CELSyntaxError, CELUnsupportedError, base_functions

SCHEMAS = Path(__file__).parent / "gateway_crds"
SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# ObjectMeta as a client may send it (the CRDs say only `type: object`: the server checks it).
METADATA = {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
    "name": {"type": "string"}, "namespace": {"type": "string"}, "generateName": {"type": "string"},
    "labels": STRING_MAP, "annotations": STRING_MAP, "finalizers": {"type": "array", "items": {"type": "string"}},
    "ownerReferences": {"type": "array", "items": {"type": "object"}},
    "uid": {"type": "string"}, "resourceVersion": {"type": "string"}, "generation": {"type": "integer"},
    "creationTimestamp": {"type": ["string", "null"]}, "deletionTimestamp": {"type": ["string", "null"]},
    "deletionGracePeriodSeconds": {"type": "integer"}, "managedFields": {"type": "array"}}}
# CEL macros: the parser expands them, so they are no functions of the library.
MACROS = {"has", "all", "exists", "exists_one", "filter", "map"}
# Property names CEL cannot spell as they are (Kubernetes escapes them so: `__namespace__`).
CEL_RESERVED = {"true", "false", "null", "in", "as", "break", "const", "continue", "else", "for", "function",
                "if", "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"}
FORMATS = jsonschema.FormatChecker(["ipv4", "ipv6"])
# cel-python's Environment raises the limit to 2500 for deep expressions; raised here at import,
# not in the middle of a test (Hypothesis warns of a limit changed while it runs).
sys.setrecursionlimit(max(sys.getrecursionlimit(), 2500))


@FORMATS.checks("int32")
def _int32(value: Any) -> bool:
    return not isinstance(value, int) or -2**31 <= value < 2**31


@FORMATS.checks("int64")
def _int64(value: Any) -> bool:
    return not isinstance(value, int) or -2**63 <= value < 2**63


def k8s_split(text: celtypes.StringType, sep: celtypes.StringType, limit: Any = None) -> celtypes.ListType:
    """Kubernetes' strings library `split` (Go's strings.SplitN: limit < 0 is no limit)."""
    n = -1 if limit is None else int(limit)
    if n == 0:
        return celtypes.ListType([])
    parts = str(text).split(str(sep), n - 1) if n > 0 else str(text).split(str(sep))
    return celtypes.ListType([celtypes.StringType(p) for p in parts])


K8S_FUNCTIONS = {"split": k8s_split}


@functools.cache
def kinds() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> the recorded CRD version (group, scope, openAPIV3Schema...)."""
    found = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        for kind, entry in json.loads(path.read_text())["kinds"].items():
            found[(f"{entry['group']}/{entry['version']}", kind)] = entry
    return found


def json_schema(node: dict, closed: bool = True) -> dict:
    """An OpenAPI v3 structural schema as a JSON Schema. `closed` is off inside allOf/anyOf/
    oneOf/not, whose branches only add constraints to the node's own properties."""
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-")
           and k not in ("description", "default", "nullable", "properties", "items", "additionalProperties",
                         "allOf", "anyOf", "oneOf", "not", "exclusiveMinimum", "exclusiveMaximum")}
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    for bound, flag in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if node.get(flag) and bound in out:  # OpenAPI 3.0's boolean form
            out[flag] = out.pop(bound)
    if node.get("nullable"):
        out["type"] = [*([out["type"]] if isinstance(out.get("type"), str) else out.get("type", [])), "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "properties" in node:
        out["properties"] = {k: json_schema(v, closed) for k, v in node["properties"].items()}
    if isinstance(node.get("items"), dict):
        out["items"] = json_schema(node["items"], closed)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = json_schema(extra, closed)
    elif extra is not None:
        out["additionalProperties"] = extra
    elif closed and node.get("type") == "object" and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    for key in ("allOf", "anyOf", "oneOf"):
        if key in node:
            out[key] = [json_schema(s, closed=False) for s in node[key]]
    if "not" in node:
        out["not"] = json_schema(node["not"], closed=False)
    return out


@functools.cache
def validator(api_version: str, kind: str) -> jsonschema.Draft7Validator:
    schema = json_schema(kinds()[(api_version, kind)]["openAPIV3Schema"])
    schema["properties"]["metadata"] = METADATA
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return jsonschema.Draft7Validator(schema, format_checker=FORMATS)


def defaulted(value: Any, node: dict | None) -> Any:
    """`value` with the schema's defaults filled in, as the server stores (and validates) it."""
    if node is None:
        return value
    if isinstance(value, dict):
        props = node.get("properties") or {}
        extra = node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else None
        out = {k: defaulted(v, props.get(k, extra)) for k, v in value.items()}
        for k, sub in props.items():
            if k not in out and "default" in sub:
                out[k] = defaulted(copy.deepcopy(sub["default"]), sub)
        return out
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [defaulted(v, node["items"]) for v in value]
    return value


def field(path: Iterator[Any] | list[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(root)"


def schema_problems(manifest: dict) -> Iterator[str]:
    v = validator(manifest["apiVersion"], manifest["kind"])
    for err in sorted(v.iter_errors(manifest), key=lambda e: (list(map(str, e.absolute_path)), e.message)):
        path = list(err.absolute_path)
        if err.validator == "additionalProperties" and err.validator_value is False:
            known = err.schema.get("properties") or {}
            yield from (f"{field(path + [k])}: unknown field" for k in err.instance if k not in known)
        elif err.validator == "required":
            yield from (f"{field(path + [k])}: required field missing"
                        for k in err.validator_value if k not in err.instance)
        else:
            yield f"{field(path)}: {err.message}"


def metadata_problems(manifest: dict, scope: str) -> Iterator[str]:
    meta = manifest.get("metadata")
    if not isinstance(meta, dict):
        return  # the schema reports it
    name, namespace = meta.get("name"), meta.get("namespace")
    if isinstance(name, str) and (len(name) > 253 or not SUBDOMAIN.match(name)):
        yield f"metadata.name: {name!r} is not a DNS subdomain (lowercase, digits, '-', '.'; 253 at most)"
    if scope == "Cluster" and namespace is not None:
        yield f"metadata.namespace: {manifest['kind']} is cluster-scoped, it takes no namespace"
    if scope == "Namespaced" and not namespace:
        yield f"metadata.namespace: {manifest['kind']} is namespaced, set its namespace"
    if isinstance(namespace, str) and namespace and (len(namespace) > 63 or not LABEL.match(namespace)):
        yield f"metadata.namespace: {namespace!r} is not a DNS label"


def escape(name: str) -> str:
    """A property's name as CEL sees it (the Kubernetes escaping)."""
    if name in CEL_RESERVED:
        return f"__{name}__"
    for text, word in (("__", "underscores"), (".", "dot"), ("-", "dash"), ("/", "slash")):
        name = name.replace(text, f"__{word}__")
    return name


def cel_value(value: Any, node: dict) -> Any:
    """`value` as CEL's `self`: declared properties escaped, map keys (additionalProperties) not."""
    if isinstance(value, dict):
        props = node.get("properties") or {}
        extra = node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else {}
        if props:
            return {escape(k): cel_value(v, props.get(k, {})) for k, v in value.items()}
        return {k: cel_value(v, extra) for k, v in value.items()}
    if isinstance(value, list):
        return [cel_value(v, node.get("items") or {}) for v in value]
    return value


@functools.cache
def environment() -> celpy.Environment:
    return celpy.Environment()


@functools.cache
def program(rule: str) -> celpy.Runner:
    return environment().program(environment().compile(rule), functions=K8S_FUNCTIONS)


def called(rule: str) -> set[str]:
    """The functions and methods a rule calls (cel-python looks them up only when it runs)."""
    return {str(t.children[1] if t.data == "member_dot_arg" else t.children[0])
            for t in program(rule).ast.iter_subtrees() if t.data in ("member_dot_arg", "ident_arg")}


@functools.cache
def unsupported(rule: str) -> str | None:
    """Why cel-python cannot run `rule` (None if it can)."""
    try:
        program(rule)
        missing = called(rule) - MACROS - set(base_functions) - set(K8S_FUNCTIONS)
    except (CELParseError, CELSyntaxError, CELUnsupportedError) as err:
        return f"does not compile: {err}"
    return f"calls functions cel-python lacks: {sorted(missing)}" if missing else None


def run_rule(rule: dict, value: Any, node: dict) -> str | None:
    """None if the rule holds; else why not (its message, or why it could not be evaluated)."""
    if reason := unsupported(rule["rule"]):
        return f"rule {rule['rule']!r} {reason}"
    self = celpy.json_to_cel(cel_value(value, node))
    try:
        result = program(rule["rule"]).evaluate({"self": self, "oldSelf": self})
    except CELEvalError as err:
        return f"rule {rule['rule']!r} failed to evaluate: {err.args[0] if err.args else err}"
    if isinstance(result, CELEvalError):
        return f"rule {rule['rule']!r} failed to evaluate: {result.args[0] if result.args else result}"
    if not (isinstance(result, celtypes.BoolType) and bool(result)):
        return f"{rule.get('message') or 'failed'} (rule: {rule['rule']})"
    return None


def rule_problems(value: Any, node: dict, path: list[Any]) -> Iterator[str]:
    """The CEL rules and list-type uniqueness, depth first over the defaulted object."""
    if value is None:
        return
    for rule in node.get("x-kubernetes-validations") or []:
        if found := run_rule(rule, value, node):
            yield f"{field(path + [rule['fieldPath'].lstrip('.')] if rule.get('fieldPath') else path)}: {found}"
    if isinstance(value, dict):
        props = node.get("properties") or {}
        extra = node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else None
        for k, v in value.items():
            if (sub := props.get(k, extra)) is not None:
                yield from rule_problems(v, sub, path + [k])
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        kind, keys = node.get("x-kubernetes-list-type"), node.get("x-kubernetes-list-map-keys") or []
        if kind in ("set", "map"):
            seen = [json.dumps([v.get(k) for k in keys] if keys and isinstance(v, dict) else v, sort_keys=True)
                    for v in value]
            for i, key in enumerate(seen):
                if key in seen[:i]:
                    yield f"{field(path + [i])}: duplicate {'entry' if kind == 'set' else f'key {keys}'} {key}"
        for i, v in enumerate(value):
            yield from rule_problems(v, node["items"], path + [i])


def problems(manifest: dict) -> list[str]:
    """What the API server would refuse in `manifest` (a custom resource), each naming its field."""
    kind, api_version = manifest.get("kind"), manifest.get("apiVersion")
    entry = kinds().get((api_version, kind))
    meta = manifest.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if entry is None:
        return [f"no schema for {api_version} {kind} (tests/gateway_crds/ records none)"]
    stored = defaulted(manifest, entry["openAPIV3Schema"])
    found = [*metadata_problems(stored, entry["scope"]), *schema_problems(stored)]
    # The server skips CEL after type errors; here after any, whose evaluation errors would repeat them.
    if not found:
        found = list(rule_problems(stored, entry["openAPIV3Schema"], []))
    return [f"{kind} {name}: {p}" for p in found]


def all_rules() -> Iterator[tuple[str, str, dict]]:
    """(kind, location, rule) for every CEL rule of the recorded schemas."""
    def walk(node: dict, path: str) -> Iterator[tuple[str, dict]]:
        for rule in node.get("x-kubernetes-validations") or []:
            yield path, rule
        for k, sub in (node.get("properties") or {}).items():
            yield from walk(sub, f"{path}.{k}")
        if isinstance(node.get("items"), dict):
            yield from walk(node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from walk(node["additionalProperties"], f"{path}{{}}")
    for (_, kind), entry in sorted(kinds().items()):
        for path, rule in walk(entry["openAPIV3Schema"], ""):
            yield kind, path or ".", rule
