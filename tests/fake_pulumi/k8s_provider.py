"""What pulumi-kubernetes does when `pulumi destroy` deletes a stack's Kubernetes resources.

Read from pulumi/pulumi-kubernetes v4.32.0 (the store's newest tag; the lab pins 4.34.2),
provider/pkg/provider/provider.go:
- Configure never fails for a cluster it cannot reach: it marks it unreachable, with a
  reason such as "unable to load schema information from the API server: ..." (the
  endpoint of a deleted EKS cluster no longer resolves).
- Delete of an ordinary object then logs the warning "configured Kubernetes cluster is
  unreachable: REASON" and fails with "configured Kubernetes cluster is unreachable. If the
  cluster was deleted, you can remove this resource from Pulumi state by rerunning the
  operation with the PULUMI_K8S_DELETE_UNREACHABLE environment variable set to "true"";
  with PULUMI_K8S_DELETE_UNREACHABLE=true (or the provider's deleteUnreachable) it logs and
  succeeds, and the engine drops the object from the state.
- Delete of a helm.sh/v3 Release fails whatever that setting says (pulumi-kubernetes#2675):
  "can't delete Helm Release with unreachable cluster. Reason: %q".
The cluster answers here while moto's EKS has it, unless $FAKE_PULUMI_K8S_UNREACHABLE is set
(a cluster that exists but whose API endpoint does not admit this machine).
"""

from __future__ import annotations

import json
import os

import aws_api
from state_cmds import depended_on

PREFIX = "kubernetes:"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
ENDPOINT = "0123456789ABCDEF0123456789ABCDEF.gr7.{region}.eks.amazonaws.com"
OBJECT_ERROR = ("configured Kubernetes cluster is unreachable. If the cluster was deleted, you can remove this "
                "resource from Pulumi state by rerunning the operation with the PULUMI_K8S_DELETE_UNREACHABLE "
                "environment variable set to \"true\"")


def unreachable_reason(cluster: str | None, region: str | None) -> str | None:
    """None while the cluster answers; else why not, as the provider words it."""
    host = ENDPOINT.format(region=region or "us-east-1")
    if os.environ.get("FAKE_PULUMI_K8S_UNREACHABLE"):
        return ("unable to load schema information from the API server: Get "
                f"\"https://{host}/openapi/v2?timeout=32s\": dial tcp 203.0.113.10:443: i/o timeout")
    try:
        aws_api.eks(region, "GET", f"/clusters/{cluster or ''}")
    except aws_api.ApiError as err:
        if err.code != "ResourceNotFoundException":
            raise
        return ("unable to load schema information from the API server: Get "
                f"\"https://{host}/openapi/v2?timeout=32s\": dial tcp: lookup {host}: no such host")
    return None


def destroy(resources: list[dict], cluster: str | None, region: str | None) -> tuple[list[dict], dict[str, list[str]]]:
    """(the resources left in the state, {urn: the diagnostics of each that failed})."""
    custom = [r for r in resources if r["type"].startswith(PREFIX) and r.get("custom")]
    if not custom:
        return resources, {}
    reason = unreachable_reason(cluster, region)
    failures: dict[str, list[str]] = {}
    if reason is not None:
        warning = f"warning: configured Kubernetes cluster is unreachable: {reason}"
        skip = os.environ.get("PULUMI_K8S_DELETE_UNREACHABLE") == "true"
        for r in custom:
            if r["type"] == HELM_RELEASE:
                # Go's %q: a double-quoted string with its quotes escaped, as JSON writes it.
                failures[r["urn"]] = [f"error: can't delete Helm Release with unreachable cluster. "
                                      f"Reason: {json.dumps(reason)}"]
            elif not skip:
                failures[r["urn"]] = [warning, f"error: {OBJECT_ERROR}"]
    if failures:
        # A resource goes only after all that depend on it: what a failed one depends on stays too.
        held = depended_on(resources, set(failures))
        return [r for r in resources if r["urn"] in held or not r["type"].startswith(PREFIX)], failures
    return [r for r in resources if not r["type"].startswith(PREFIX)], {}


def diagnostics(stack: str, project: str, failures: dict[str, list[str]]) -> str:
    """Pulumi's report of the failed deletes (stdout), then the stack's "update failed"."""
    lines = ["Diagnostics:"]
    for urn in sorted(failures):
        kind, name = urn.split("::")[2].split("$")[-1], urn.split("::")[-1]
        lines += [f"  {kind} ({name}):", *(f"    {line}" for line in failures[urn]), ""]
    lines += [f"  pulumi:pulumi:Stack ({project}-{stack}):", "    error: update failed", ""]
    return "\n".join(lines)
