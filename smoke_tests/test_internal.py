"""In-cluster checks of the internal Services, from a short-lived pod.

Without a cluster (no kubeconfig output, or an API that does not answer within
a few seconds) these are SKIPPED with the reason; they never pass by default.
"""

from __future__ import annotations

import pytest

from smoke_tests import cluster
from smoke_tests.probes import requests_needed

NAMESPACE = "default"


@pytest.fixture
def core(core_api):
    api, why = core_api
    if api is None:
        pytest.skip(f"in-cluster checks need a cluster: {why}")
    return api


def _internal(contract, key: str) -> dict:
    found = contract.internal.get(key)
    if not found:
        pytest.skip(f"no internal.{key} in the outputs")
    return found


def test_clusterip_every_replica_answers(core, contract, pytestconfig, judge_or_fail):
    spec = _internal(contract, "clusterIp")
    want = contract.replicas[spec["app"]]
    logs, err = cluster.run_pod_e(core, NAMESPACE, cluster.clusterip_script(spec["service"], requests_needed(want)),
                                  deadline_s=min(pytestconfig.option.deadline, 300))
    if err:
        judge_or_fail([f"clusterIp {spec['service']}: {err}"])
    replies = cluster.pods_in(logs)
    wrong = sorted({r.get("app", "?") for r in replies if r.get("app") != spec["app"]})
    pods = {r["pod"] for r in replies if r.get("app") == spec["app"] and "pod" in r}
    problems = []
    if wrong:
        problems.append(f"clusterIp {spec['service']}: expected {spec['app']}, got {', '.join(wrong)}")
    if len(pods) != want:
        problems.append(f"clusterIp {spec['service']}: replicas seen {len(pods)} of {want}")
    judge_or_fail(problems)


def test_externalname_resolves_to_cname(core, contract, pytestconfig, judge_or_fail):
    spec = _internal(contract, "externalName")
    logs, err = cluster.run_pod_e(core, NAMESPACE, f"nslookup {spec['service']}; true",
                                  deadline_s=min(pytestconfig.option.deadline, 300))
    if err:
        judge_or_fail([f"externalName {spec['service']}: {err}"])
    if not cluster.cname_in(logs, spec["cname"]):
        judge_or_fail([f"externalName {spec['service']}: no CNAME to {spec['cname']} in: {logs.strip()[-300:]}"])
