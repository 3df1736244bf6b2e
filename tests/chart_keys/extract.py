"""Regenerate a chart's key list: python tests/chart_keys/extract.py values.yaml > NAME-VERSION.keys

One dotted key path per line. A path ending in `.*` is a free-form map (its
default is `{}`), whose sub-keys the chart passes through as they are. The
lists are kept in the repository, with the chart version in the file name, so
the tests never need the chart itself.
"""

import sys

import yaml


def key_paths(node: dict, prefix: str = ""):
    for key, value in node.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            if value:
                yield from key_paths(value, f"{path}.")
            else:
                yield f"{path}.*"


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        values = yaml.safe_load(f)
    print("\n".join(key_paths(values)))
