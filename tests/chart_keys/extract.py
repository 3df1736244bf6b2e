"""Regenerate a chart's key list (kept in the repository, named CHART-VERSION.keys):

    python tests/chart_keys/extract.py values.yaml [values.schema.json] > CHART-VERSION.keys

One dotted key path per line: every key of the chart's values.yaml, plus every
property its JSON schema declares (if it has one). A `*` segment stands for any
key (the schema's additionalProperties, such as Traefik's `ports.<name>`). A
path ending in `.**` is a free-form map whose sub-keys the chart passes through.
The tests check every values key the program sets against these lists, so they
never need the chart itself.
"""

import json
import sys

import yaml


def value_keys(node: dict, prefix: str = ""):
    for key, value in node.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from value_keys(value, f"{path}.") if value else [f"{path}.**"]


def schema_keys(node: dict, prefix: str = ""):
    props = node.get("properties") or {}
    for key, sub in props.items():
        path = f"{prefix}{key}"
        yield path
        yield from schema_keys(sub, f"{path}.")
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra.get("properties"):
        yield f"{prefix}*"
        yield from schema_keys(extra, f"{prefix}*.")
    elif node.get("type") == "object" and not props and extra is not False and prefix:
        yield f"{prefix}**"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        keys = set(value_keys(yaml.safe_load(f)))
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            keys |= set(schema_keys(json.load(f)))
    print("\n".join(sorted(keys)))
