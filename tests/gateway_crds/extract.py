"""Record the schemas of the custom resources the lab creates (kept as GROUP-TAG.json):

    python tests/gateway_crds/extract.py --repo kubernetes-sigs/gateway-api --tag v1.6.0 \\
        --path config/crd/standard -o tests/gateway_crds/gateway.networking.k8s.io-v1.6.0.json \\
        gateway.networking.k8s.io_*.yaml
    python tests/gateway_crds/extract.py --repo kubernetes-sigs/aws-load-balancer-controller --tag v3.5.0 \\
        --path helm/aws-load-balancer-controller/crds -o tests/gateway_crds/gateway.k8s.aws-v3.5.0.json \\
        aws-load-balancer-controller-v3.5.0-gateway-crds.yaml=gateway-crds.yaml

The arguments are the CRD files of REPO at TAG, from the folder PATH (a file may hold several
CRDs); `LOCAL=NAME` reads LOCAL and records it as PATH/NAME, for a copy saved under another
name. For every CRD it keeps one version, `--version` (v1, the one the lab writes): its group,
scope, whether that version is served and whether it is the storage version (ReferenceGrant
still stores v1beta1), and its `openAPIV3Schema` as written (descriptions included, `x-kubernetes-validations` CEL rules and all). tests/crd_schema.py
validates the lab's custom resources against these files, so the tests never need the CRDs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

# The Gateway API stamps its release on every CRD; a mismatch means the wrong files were given.
BUNDLE_VERSION = "gateway.networking.k8s.io/bundle-version"


def kinds_of(path: Path, version: str, tag: str, upstream: str) -> dict[str, dict]:
    found = {}
    for crd in yaml.safe_load_all(path.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        bundle = (crd["metadata"].get("annotations") or {}).get(BUNDLE_VERSION)
        if bundle and bundle != tag:
            sys.exit(f"{path}: {crd['metadata']['name']} is from {bundle}, not {tag}")
        spec = crd["spec"]
        chosen = [v for v in spec["versions"] if v["name"] == version]
        if not chosen:
            sys.exit(f"{path}: {crd['metadata']['name']} has no version {version}")
        v = chosen[0]
        found[spec["names"]["kind"]] = {
            "group": spec["group"], "version": version, "served": v.get("served", False),
            "storage": v.get("storage", False), "scope": spec["scope"], "plural": spec["names"]["plural"],
            "file": upstream, "openAPIV3Schema": v["schema"]["openAPIV3Schema"]}
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="owner/name of the upstream repository")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--path", required=True, help="the CRD files' folder in the repository")
    parser.add_argument("--version", default="v1", help="the API version to keep (default v1)")
    parser.add_argument("-o", "--output", required=True, type=Path)
    parser.add_argument("files", nargs="+", help="CRD files, each LOCAL or LOCAL=UPSTREAM_NAME")
    args = parser.parse_args(argv)
    kinds: dict[str, dict] = {}
    for arg in sorted(args.files):
        local, _, name = arg.partition("=")
        upstream = f"{args.path.rstrip('/')}/{name or Path(local).name}"
        kinds.update(kinds_of(Path(local), args.version, args.tag, upstream))
    out = {"source": {"repo": args.repo, "tag": args.tag, "path": args.path.rstrip("/")},
           "extractedBy": "tests/gateway_crds/extract.py", "kinds": dict(sorted(kinds.items()))}
    # No indentation: the schemas run to tens of thousands of lines indented; one line per kind
    # keeps a regeneration's diff readable per kind.
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in out["kinds"].items()]
    head = json.dumps({k: v for k, v in out.items() if k != "kinds"})[:-1]
    args.output.write_text(head + ', "kinds": {\n' + ",\n".join(lines) + "\n}}\n")


if __name__ == "__main__":
    main()
