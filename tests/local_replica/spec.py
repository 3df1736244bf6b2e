"""What the lab promises per entry point: the program's own `entrypoints` output,
with the addresses of the cloud replaced by the replica's."""

from __future__ import annotations

from typing import Any

from tests.local_replica.manifests import lab_outputs

VPC_CIDR = "127.10.0.0/16"  # holds render.SNAT_NODE and render.INGRESS_POD, not 127.0.0.1
ADDRESS_KEYS = ("url", "nodePort", "httpUrl", "caCertificate")


def expectations() -> dict[str, dict[str, Any]]:
    """Per entry point: layer, routes, notFound... without where it is reached."""
    return {name: {k: v for k, v in entry.items() if k not in ADDRESS_KEYS}
            for name, entry in lab_outputs()["entrypoints"].items()}


def entry(name: str, address: dict[str, Any]) -> dict[str, Any]:
    """The expectations of entry point `name` plus where the replica serves it."""
    return {**address, **expectations()[name]}


def outputs(entrypoints: dict[str, dict[str, Any]], replicas: dict[str, int]) -> dict[str, Any]:
    program = lab_outputs()
    return {
        "clusterName": "local-replica", "region": "local",
        "vpcCidr": VPC_CIDR,
        "replicas": replicas,
        "entrypoints": entrypoints,
        "internal": program["internal"],
        # No kubeconfig: there is no cluster, so the in-cluster checks must SKIP.
    }
