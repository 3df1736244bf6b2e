"""The smoke suite's HTML report, built from results made here: a row per check (routes, notFound
paths, the https redirect, the in-cluster checks), and no "ok" in the row of a route that fails.
The report of a real run against the local replica is checked in tests/test_local_replica.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from smoke_tests import html_report
from smoke_tests.html_report import InternalCheck
from smoke_tests.outputs import ContractError, parse_contract
from smoke_tests.probes import CheckResult, EntrypointResult
from smoke_tests.transport import ProbeError, Reply
from tests import test_smoke_probes as probe_tests
from tests.test_smoke_weights import CANARY, CONTRACT, EP, replies, reply


def report_rows(html: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(entry point, route or check) -> (verdict, the row's text without tags)."""
    found = {}
    for row in re.finditer(r'<tr data-entrypoint="([^"]+)" data-(?:route|check)="([^"]+)">(.*?)</tr>', html, re.S):
        verdict = re.search(r'data-verdict="(\w+)"', row[3])
        found[(row[1], row[2])] = (verdict[1] if verdict else "", re.sub(r"<[^>]+>", " ", row[3]))
    return found


def says_ok(text: str) -> bool:
    return re.search(r"\bok\b", text) is not None


def canary_result(got) -> EntrypointResult:
    return EntrypointResult(EP, routes={"/canary": probe_tests.route_result(CANARY, got)})


def test_a_weighted_route_that_fails_another_check_reads_ok_nowhere():
    # 178/44 is the declared 80/20, but app2 has only two replicas answering.
    got = replies(178, 0) + [reply("app2", i % 2) for i in range(44)]
    verdict, text = report_rows(html_report.section({"gateway": canary_result(got)}, CONTRACT))[("gateway", "/canary")]
    assert verdict == "failed" and "app2 replicas seen 2 of 3" in text
    assert not says_ok(text) and "split not rejected" in text, text
    # The same split with every replica: ok, twice (the split and the verdict).
    verdict, text = report_rows(html_report.section({"gateway": canary_result(replies(178, 44))}, CONTRACT))[
        ("gateway", "/canary")]
    assert verdict == "ok" and "split ok" in text


def test_the_says_ok_check_finds_an_ok():
    assert says_ok(" n=222, split ok (p=0.5) ") and not says_ok("app1-deploy-bcdfg token")


TRAEFIK = {"url": "https://lb.example", "layer": "L7", "httpUrl": "http://lb.example", "redirectsToHttps": True,
           "caCertificate": "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
           "routes": [{"path": "/api", "host": "myapp.example.com", "app": "app1", "appSees": "/api"}],
           "notFound": ["/", {"host": "myapp.example.com", "path": "/nope"}]}


def test_every_notfound_path_and_the_redirect_get_a_row_even_unchecked():
    contract = parse_contract({"replicas": {"app1": 3}, "entrypoints": {"traefik": TRAEFIK}})
    ep = contract.entrypoints["traefik"]
    not_found = {"/": CheckResult("/", Reply(404, {}, "", 2.0, None), None),
                 "myapp.example.com/nope": CheckResult("myapp.example.com/nope", Reply(200, {}, "", 3.0, None), None)}
    result = EntrypointResult(ep, not_found=not_found, redirect=CheckResult(
        "http://myapp.example.com/api", None, ProbeError("refused", "connection refused by lb.example:80")))
    rows = report_rows(html_report.section({"traefik": result}, contract))
    assert rows[("traefik", "notFound /")][0] == "ok"
    verdict, text = rows[("traefik", "notFound myapp.example.com/nope")]
    assert verdict == "failed" and "answered 200, expected 404" in text
    verdict, text = rows[("traefik", "redirectsToHttps")]
    assert verdict == "failed" and "connection refused by lb.example:80" in text
    # Never probed (the entry point was not ready): still a row each, failed, saying so.
    rows = report_rows(html_report.section({"traefik": EntrypointResult(ep, setup_error="no address")}, contract))
    assert {k: v[0] for k, v in rows.items()} == {
        ("traefik", "myapp.example.com/api"): "failed", ("traefik", "notFound /"): "failed",
        ("traefik", "notFound myapp.example.com/nope"): "failed", ("traefik", "redirectsToHttps"): "failed"}
    assert "not checked, the entry point never became ready (no address)" in rows[("traefik", "notFound /")][1]


def test_the_in_cluster_checks_get_a_row_each_with_their_outcome():
    checks = [InternalCheck("clusterip every replica answers", "passed"),
              InternalCheck("externalname resolves to cname", "failed", "externalName x: no CNAME to y"),
              InternalCheck("something else", "skipped", "in-cluster checks need a cluster: no kubeconfig output")]
    rows = report_rows(html_report.section({}, CONTRACT, checks))
    assert {check: verdict for (_, check), (verdict, _) in rows.items()} == {
        "clusterip every replica answers": "ok", "externalname resolves to cname": "failed",
        "something else": "skipped"}
    assert "externalName x: no CNAME to y" in rows[("in-cluster", "externalname resolves to cname")][1]
    assert "skipped: in-cluster checks need a cluster: no kubeconfig output" in rows[("in-cluster", "something else")][1]


def test_the_title_names_the_lab_its_stack_or_file_its_region_and_the_runs_start():
    contract = parse_contract({"clusterName": "eks-test", "region": "ap-northeast-2", "replicas": {"app1": 3},
                               "entrypoints": {"traefik": TRAEFIK}})
    started = dt.datetime(2026, 11, 21, 21, 5, 59, tzinfo=dt.timezone(dt.timedelta(hours=9)))
    assert html_report.title(contract, "stack dev", started) == (
        "Smoke tests of eks-test (stack dev) in ap-northeast-2, 2026-11-21 12:05 UTC")


def test_a_cluster_name_or_region_that_is_not_a_string_is_refused_naming_the_key():
    for key in ("clusterName", "region"):
        with pytest.raises(ContractError, match=rf"^outputs\.{key}: expected a string, got 5$"):
            parse_contract({key: 5, "replicas": {"app1": 3}, "entrypoints": {"traefik": TRAEFIK}})


INTERNAL_TESTS = '''
import pytest

@pytest.fixture
def core():
    pytest.skip("in-cluster checks need a cluster: no kubeconfig output")

def test_clusterip_every_replica_answers():
    pass

def test_externalname_resolves_to_cname():
    pytest.fail("externalName x: no CNAME to y\\nin: ...", pytrace=False)

def test_broken_check():
    {}["k"]

def test_needs_a_cluster(core):
    pass
'''


def test_the_in_cluster_outcomes_are_kept_from_the_test_reports(tmp_path):
    from smoke_tests import conftest as smoke_conftest

    (tmp_path / "test_internal.py").write_text(INTERNAL_TESTS)
    (tmp_path / "test_other.py").write_text("def test_route():\n    assert False\n")  # not an in-cluster check
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # none of the project's settings
    kept: dict = {}

    class Keep:
        def pytest_configure(self, config):
            config.stash[smoke_conftest.INTERNAL] = kept
            config.pluginmanager.register(smoke_conftest.SmokeReport(config))

    pytest.main([str(tmp_path), "-q", "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
                 "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:hypothesispytest"], plugins=[Keep()])
    assert kept == {
        "clusterip every replica answers": InternalCheck("clusterip every replica answers", "passed"),
        "externalname resolves to cname": InternalCheck("externalname resolves to cname", "failed",
                                                        "externalName x: no CNAME to y\nin: ..."),
        "broken check": InternalCheck("broken check", "failed", "KeyError: 'k'"),
        "needs a cluster": InternalCheck("needs a cluster", "skipped",
                                         "in-cluster checks need a cluster: no kubeconfig output")}
