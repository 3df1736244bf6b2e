"""The Kubernetes side: the public node's address and short-lived probe pods.

All calls take a short timeout; without a reachable API the callers SKIP the
in-cluster checks (with the reason) rather than pass them.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import yaml

API_TIMEOUT_S = 5
PROBE_IMAGE = "busybox:1.36.1"  # pinned: nslookup prints "canonical name =" for CNAMEs


def kubeconfig_dict(text: str) -> dict[str, Any]:
    """The kubeconfig output is JSON or YAML (YAML parses both)."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "clusters" not in data:
        raise ValueError("the kubeconfig output is not a kubeconfig (no clusters)")
    return data


def core_api_e(kubeconfig: str | None) -> tuple[Any, str | None]:
    """A CoreV1Api for the kubeconfig, or (None, why not) when there is no usable cluster."""
    if not kubeconfig:
        return None, "no kubeconfig output (no cluster to reach)"
    try:
        from kubernetes import client, config
        api_client = config.new_client_from_config_dict(kubeconfig_dict(kubeconfig))
        client.VersionApi(api_client).get_code(_request_timeout=API_TIMEOUT_S)
        return client.CoreV1Api(api_client), None
    except Exception as err:  # any failure here means "no cluster", reported as the skip reason
        return None, f"Kubernetes API unreachable within {API_TIMEOUT_S}s: {type(err).__name__}: {str(err)[:200]}"


def public_node_address_e(core) -> tuple[str | None, str | None]:
    """The ExternalIP of a node labelled nodegroup=public."""
    try:
        nodes = core.list_node(label_selector="nodegroup=public", _request_timeout=API_TIMEOUT_S).items
    except Exception as err:
        return None, f"listing nodes failed: {err}"
    for node in nodes:
        for addr in node.status.addresses or []:
            if addr.type == "ExternalIP" and addr.address:
                return addr.address, None
    return None, "no node with label nodegroup=public has an ExternalIP"


def pod_manifest(name: str, script: str, image: str = PROBE_IMAGE) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": "lab-smoke-probe"}},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                 "containers": [{"name": "probe", "image": image, "command": ["sh", "-c", script]}]},
    }


def run_pod_e(core, namespace: str, script: str, deadline_s: float, prefix: str = "lab-smoke",
              poll_s: float = 2.0, clock=time) -> tuple[str | None, str | None]:
    """Run `script` in a one-off pod and return its logs; the pod is deleted whatever happens."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(namespace, pod_manifest(name, script), _request_timeout=API_TIMEOUT_S)
    try:
        end = clock.monotonic() + deadline_s
        phase = None
        while clock.monotonic() < end:
            phase = core.read_namespaced_pod(name, namespace, _request_timeout=API_TIMEOUT_S).status.phase
            if phase in ("Succeeded", "Failed"):
                logs = core.read_namespaced_pod_log(name, namespace, _request_timeout=API_TIMEOUT_S)
                return logs, None if phase == "Succeeded" else f"pod {name} failed: {logs[-300:]}"
            clock.sleep(poll_s)
        return None, f"pod {name} still {phase} after {deadline_s:.0f}s"
    finally:
        delete_pod(core, namespace, name)


def delete_pod(core, namespace: str, name: str) -> None:
    try:
        core.delete_namespaced_pod(name, namespace, grace_period_seconds=0, _request_timeout=API_TIMEOUT_S)
    except Exception:  # already gone: nothing to clean
        pass


def clusterip_script(service: str, n: int) -> str:
    return (f"for i in $(seq {n}); do wget -q -T 5 -O- http://{service}/ "
            "|| printf '{\"error\": \"wget failed\"}'; echo; done")


def pods_in(logs: str) -> list[dict[str, Any]]:
    replies = []
    for line in logs.splitlines():
        try:
            replies.append(json.loads(line))
        except ValueError:
            continue
    return replies


def cname_in(logs: str, cname: str) -> bool:
    want = cname.rstrip(".").lower()
    for line in logs.lower().splitlines():
        if "canonical name" in line and line.split("=")[-1].strip().rstrip(".") == want:
            return True
    return False
