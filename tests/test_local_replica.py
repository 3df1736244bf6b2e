"""The real smoke suite against a local replica of the lab (real processes, real nginx).

One replica (6 app processes + nginx) serves the whole module: each test writes
the replica's outputs in the contract and runs `python -m pytest smoke_tests
--outputs FILE` in a subprocess, exactly as against a stack. A fault case injects
its fault, must FAIL that run with a message naming the entry point and the
fault, and the fixture then undoes the fault (Replica.reset) for the next test.
The healthy run comes last, after every fault: it also proves that reset undoes them.
The wide-area benchmark is tests/benchmark_wide_area.py (BENCHMARK.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from smoke_tests.outputs import parse_contract
from tests.local_replica.fronts import LateFront
from tests.local_replica.procs import free_port
from tests.local_replica.replica import PUBLIC_NODE, Replica
from tests.test_smoke_report import report_rows, says_ok

ROOT = Path(__file__).resolve().parents[1]

# Small deadlines and short backoffs: the replica is up in a second.
FAST = ["--node-address", "127.0.0.1", "--deadline", "20", "--backoff-initial", "0.05",
        "--backoff-cap", "0.5", "--request-timeout", "2"]


@dataclass
class Run:
    code: int
    out: str
    elapsed: float
    report: dict | None

    @property
    def failed(self) -> set[str]:
        # An id may hold brackets itself (`gateway:/canary [x-lab-canary: always]`).
        return set(re.findall(r"^FAILED [^:\s]+::\w+\[(.*?)\](?= - |$)", self.out, re.M))


# Plugins the smoke suite does not use cost ~0.4 s of start-up per run; pytest-html (and
# pytest-metadata, which it needs) load only for the runs that ask for --html.
UNUSED_PLUGINS = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:xdist"]
HTML_PLUGINS = ["-p", "no:html", "-p", "no:metadata"]


# A fault's verdict is the judge's, whichever the mode. Against 127.0.0.1, where a reply takes a
# millisecond, sending a route's samples at once saves no time and costs about 40 % more CPU
# (threads taking turns at the GIL: BENCHMARK.md), so the fault cases send theirs one after another.
# The whole-suite run at the end, the class's smoke run (test_class_run.py) and
# test_smoke_concurrency.py keep the concurrent mode users run.
SEQUENTIAL = "--sequential"


def run_suite(outputs: Path, *extra: str, timeout: float = 150) -> Run:
    report = outputs.with_suffix(".report.json")
    plugins = UNUSED_PLUGINS + ([] if any(a.startswith("--html") for a in extra) else HTML_PLUGINS)
    cmd = [sys.executable, "-m", "pytest", "smoke_tests", "--outputs", str(outputs), "-q",
           *plugins, *FAST, "--report-json", str(report), *extra]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})
    elapsed = time.monotonic() - started
    data = json.loads(report.read_text()) if report.exists() else None
    return Run(done.returncode, done.stdout + done.stderr, elapsed, data)


@pytest.fixture(scope="module")
def shared_replica(tmp_path_factory):
    with Replica(tmp_path_factory.mktemp("replica")) as r:
        yield r


@pytest.fixture
def replica(shared_replica):
    """The module's replica, healthy at the start of every test whatever the last one broke."""
    shared_replica.reset()
    yield shared_replica
    shared_replica.reset()


def ingress(manifests: list[dict], name: str) -> dict:
    return next(m for m in manifests if m["kind"] == "Ingress" and m["metadata"]["name"] == name)


def ingress_of(manifests: list[dict], cls: str, with_hosts: bool = False) -> dict:
    """Find by class, not name, so the program's own names work too."""
    for m in manifests:
        if m["kind"] != "Ingress" or m["spec"].get("ingressClassName") != cls:
            continue
        if any(r.get("host") for r in m["spec"]["rules"]) == with_hosts:
            return m
    raise AssertionError(f"the program registers no Ingress of class {cls}")


def route_rule(manifests: list[dict], path: str, headers: bool = False) -> tuple[list[dict], dict]:
    """(its HTTPRoute's rules, the rule matching `path` with header matches or without), found by
    content, not by name."""
    for route in (m for m in manifests if m["kind"] == "HTTPRoute"):
        for rule in route["spec"]["rules"]:
            if any(m["path"]["value"] == path and bool(m.get("headers")) == headers for m in rule["matches"]):
                return route["spec"]["rules"], rule
    raise AssertionError(f"the program registers no HTTPRoute rule for {path}")


def assert_failed(run: Run, entry: str, *phrases: str) -> None:
    assert run.code == 1, run.out
    for phrase in phrases:
        assert phrase in run.out, f"missing {phrase!r} in:\n{run.out}"
    assert run.failed and all(t.startswith(entry + ":") for t in run.failed), (run.failed, run.out)


# ---- what the healthy run's reports must show -----------------------------------

def report_shares(html: str) -> dict[tuple[str, str], dict[str, float]]:
    """(entry point, route) -> pod -> share, read back from the HTML report's bars."""
    found: dict[tuple[str, str], dict[str, float]] = {}
    for row in re.finditer(r'<tr data-entrypoint="([^"]+)" data-route="([^"]+)">(.*?)</tr>', html, re.S):
        found[(row.group(1), row.group(2))] = {
            pod: float(pct) for pod, pct in re.findall(r'data-pod="([^"]+)" data-share="([0-9.]+)"', row.group(3))}
    return found


def assert_every_check_has_a_row(html: str, outputs: Path) -> None:
    """The report's title says which lab, where and when; every check of the outputs has its row,
    every notFound and redirect ok, the in-cluster checks skipped with the reason (no cluster)."""
    assert re.search(r'<h1 id="title">Smoke tests of local-replica \(outputs outputs.json\) in local, '
                     r"\d{4}-\d\d-\d\d \d\d:\d\d UTC</h1>", html), html.split("<body")[1][:300]
    rows = report_rows(html)
    eps = parse_contract(json.loads(outputs.read_text())).entrypoints.values()
    checks = {(ep.name, f"notFound {nf.label}") for ep in eps for nf in ep.not_found}
    checks |= {(ep.name, "redirectsToHttps") for ep in eps if ep.redirects_to_https}
    internal = {key for key in rows if key[0] == "in-cluster"}
    assert set(rows) == {(ep.name, r.label) for ep in eps for r in ep.routes} | checks | internal
    assert ("traefik", "redirectsToHttps") in checks and all(rows[c][0] == "ok" for c in checks), rows
    assert len(internal) == 2 and all(rows[c][0] == "skipped" and "no kubeconfig output" in rows[c][1]
                                      for c in internal), rows


# ---- fault cases: each must fail, naming the entry point and the fault -------

def test_fault_route_sent_to_other_app(replica, tmp_path):
    manifests = replica.manifests
    alb = ingress_of(manifests, "alb")
    v1 = next(p for r in alb["spec"]["rules"] for p in r["http"]["paths"] if p["path"] == "/v1")
    v1["backend"]["service"]["name"] = "app2-svc"
    replica.reconfigure(manifests)
    run = run_suite(replica.write_outputs(tmp_path / "outputs.json"), "--only", "alb", "--only", "nginx", SEQUENTIAL)
    assert_failed(run, "alb", "alb /v1: expected app1, got app2 from pod app2-deploy-", "route sent to the wrong app")


def test_fault_one_replica_down(replica, tmp_path):
    victim = next(p for p in replica.pods_of("app1") if p.node != PUBLIC_NODE)
    replica.kill(victim.name)
    run = run_suite(replica.write_outputs(tmp_path / "outputs.json"),
                    *(a for name in ("nodeport", "nodeport-local", "nginx") for a in ("--only", name)), SEQUENTIAL)
    assert run.code == 1, run.out
    assert "nodeport /: replicas seen 2 of 3 (missing one replica" in run.out
    assert "nginx /v1/x: replicas seen 2 of 3" in run.out
    assert "nodeport-local:/" not in run.failed  # its pod is on the public node, still up


def test_fault_rewrite_missing(replica, tmp_path):
    manifests = replica.manifests
    del ingress_of(manifests, "nginx")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/rewrite-target"]
    replica.reconfigure(manifests)
    run = run_suite(replica.write_outputs(tmp_path / "outputs.json"), "--only", "nginx", "--only", "alb", SEQUENTIAL)
    assert_failed(run, "nginx", "nginx /v1/x: app saw /v1/x, expected /x", "rewrite missing?")


def test_fault_app_answers_500(replica, tmp_path):
    replica.restart_app("app2", RESPONSE_STATUS="500")
    html = tmp_path / "smoke-report.html"
    run = run_suite(replica.write_outputs(tmp_path / "outputs.json"), f"--html={html}", "--self-contained-html",
                    SEQUENTIAL)
    assert run.code == 1, run.out
    assert "alb /v2: status 500 from pod app2-deploy-" in run.out
    row = re.search(r'<tr data-entrypoint="alb" data-route="/v2">(.*?)</tr>', html.read_text(), re.S).group(1)
    assert "alb /v2: status 500 from pod app2-deploy-" in row  # the failure, classified, in the report
    # A failing route reads "ok" nowhere in its row: the Gateway's split is as declared, its 500s are not.
    rows = report_rows(html.read_text())
    failing = {key: text for key, (verdict, text) in rows.items() if verdict == "failed"}
    assert ("gateway", "/canary") in failing and "split not rejected" in failing[("gateway", "/canary")]
    assert not [key for key, text in failing.items() if says_ok(text)], failing
    # Exactly the routes that reach app2 fail; app1's keep passing.
    app2_routes = {f"{name}:{r.get('host', '')}{r['path']}{header_label(r)}"
                   for name, entry in replica.outputs()["entrypoints"].items()
                   for r in entry["routes"] if r.get("app") == "app2" or "app2" in r.get("weights", {})}
    assert app2_routes and run.failed == app2_routes, run.out


def header_label(route: dict) -> str:
    headers = sorted((k.lower(), v) for k, v in route.get("headers", {}).items())
    return f" [{', '.join(f'{k}: {v}' for k, v in headers)}]" if headers else ""


def test_fault_not_found_answers_200(replica, tmp_path):
    manifests = replica.manifests
    rules = ingress_of(manifests, "nginx")["spec"]["rules"]
    rules[0]["http"]["paths"].append({"path": "/", "pathType": "Prefix",
                                      "backend": {"service": {"name": "app2-svc", "port": {"number": 3000}}}})
    replica.reconfigure(manifests)
    run = run_suite(replica.write_outputs(tmp_path / "outputs.json"), "--only", "nginx", SEQUENTIAL)
    assert_failed(run, "nginx", "nginx notFound /v3 answered 200, expected 404")


def test_fault_entrypoint_never_ready(replica, tmp_path):
    closed = free_port()  # nothing listens there: connection refused until the deadline

    def point_nlb_at_closed_port(data):
        data["entrypoints"]["nlb"]["url"] = f"http://127.0.0.1:{closed}"

    deadline = 1.5
    # Only the broken entry point: the others' readiness is not what this test is about.
    run = run_suite(replica.write_outputs(tmp_path / "outputs.json", point_nlb_at_closed_port),
                    "--deadline", str(deadline), "--only", "nlb")
    assert_failed(run, "nlb", "nlb /: not ready after", f"connection refused by 127.0.0.1:{closed}")
    waited = next(r["waited_s"] for r in run.report["routes"] if r["entrypoint"] == "nlb")
    assert deadline - 0.2 <= waited < deadline + 1.5, waited  # one deadline for the run, from its start
    assert run.elapsed < deadline + 10, f"the run took {run.elapsed:.1f}s: it must stop at the deadline"


# ---- the Gateway API: faults in the program's HTTPRoutes --------------------

def reconfigure_gateway(replica: Replica, tmp_path: Path, fault) -> Run:
    manifests = replica.manifests
    fault(manifests)
    replica.reconfigure(manifests)
    return run_suite(replica.write_outputs(tmp_path / "outputs.json"), "--only", "gateway", SEQUENTIAL)


@pytest.mark.parametrize("app1, app2", [(20, 80), (50, 50)], ids=["weights-reversed", "even-split"])
def test_fault_gateway_split(replica, tmp_path, app1, app2):
    def set_weights(manifests):
        for ref in route_rule(manifests, "/canary")[1]["backendRefs"]:
            ref["weight"] = {"app1-svc": app1, "app2-svc": app2}[ref["name"]]

    run = reconfigure_gateway(replica, tmp_path, set_weights)
    assert_failed(run, "gateway", "gateway /canary: split app1 ", "is not 80/20 (accepts app1 in")
    assert run.failed == {"gateway:/canary"}, run.out


def test_fault_gateway_header_rule_missing(replica, tmp_path):
    def drop_header_rule(manifests):
        rules, rule = route_rule(manifests, "/canary", headers=True)
        rules.remove(rule)

    run = reconfigure_gateway(replica, tmp_path, drop_header_rule)
    assert_failed(run, "gateway", "gateway /canary [x-lab-canary: always]: expected app2, got app1",
                  "route sent to the wrong app")
    assert run.failed == {"gateway:/canary [x-lab-canary: always]"}, run.out


def test_fault_gateway_rewrite_missing(replica, tmp_path):
    run = reconfigure_gateway(replica, tmp_path, lambda ms: route_rule(ms, "/v1")[1].pop("filters"))
    assert_failed(run, "gateway", "gateway /v1/x: app saw /v1/x, expected /x", "rewrite missing?")
    assert run.failed == {"gateway:/v1", "gateway:/v1/x"}, run.out


# ---- an entry point that is slow to come up must pass ------------------------

def test_late_entrypoint_passes(replica, tmp_path):
    nginx_port = int(replica.entrypoints()["nginx"]["url"].rsplit(":", 1)[1])
    with LateFront(nginx_port, refuse_for=0.8, unavailable_requests=6) as front:
        def behind_front(data):
            data["entrypoints"]["nginx"]["url"] = f"http://127.0.0.1:{front.port}"

        run = run_suite(replica.write_outputs(tmp_path / "outputs.json", behind_front), "--only", "nginx")
    assert run.code == 0, run.out
    # Counted, not timed: the routes' first requests met the 503s and were retried past them.
    assert front.unavailable_served == 6
    routes = [r for r in run.report["routes"] if r["entrypoint"] == "nginx"]
    retried = sum(r["sent"] - r["samples"] - 1 for r in routes)  # readiness attempts before each route's first answer
    assert retried >= 6, f"the routes were retried {retried} times; 6 requests met a 503"


# ---- ./lab tour --run: one request per lesson's curl, and the printed curls themselves ----

def run_tour(outputs: Path, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    cmd = [sys.executable, "-m", "labtools", "tour", "--outputs", str(outputs), "--run", "--json",
           "--ca-dir", str(tmp_path), "--request-timeout", "2", *extra]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout or "null")


def tour_curls(report: dict) -> list[dict]:
    return [s for lesson in report["lessons"] for s in lesson["steps"] if s["kind"] != "kubectl"]


def test_tour_runs_every_lessons_curl(replica, tmp_path):
    data = replica.outputs()
    code, report = run_tour(replica.write_outputs(tmp_path / "outputs.json"), tmp_path, "--node-address", "127.0.0.1")
    curls = tour_curls(report)
    every = sum(len(e["routes"]) + len(e.get("notFound", [])) + bool(e.get("redirectsToHttps"))
                for e in data["entrypoints"].values())
    assert code == 0 and len(curls) == every, report
    assert report["summary"] == {"ran": every, "asExpected": every, "differ": 0, "notRun": 0}
    # The lines as printed, run by curl itself, get what the lesson expects.
    routes = {(ep, r.label): r for ep, e in parse_contract(data).entrypoints.items() for r in e.routes}
    for step in curls:
        done = subprocess.run(["bash", "-c", step["command"].replace("curl -s", "curl -s -m 5", 1)],
                              capture_output=True, text=True, timeout=30)
        if step["kind"] == "route":
            route, reply = routes[(step["entrypoint"], step["check"])], json.loads(done.stdout)
            assert reply["app"] in route.apps and reply["path"] == route.app_sees, (step, reply)
        else:
            assert done.stdout.startswith("404" if step["kind"] == "notFound" else ("308 https://", "301 https://"))


def test_tour_shows_a_reply_that_differs_and_what_it_could_not_run(replica, tmp_path):
    manifests = replica.manifests
    alb = ingress_of(manifests, "alb")
    next(p for r in alb["spec"]["rules"] for p in r["http"]["paths"] if p["path"] == "/v1")[
        "backend"]["service"]["name"] = "app2-svc"
    replica.reconfigure(manifests)
    code, report = run_tour(replica.write_outputs(tmp_path / "outputs.json"), tmp_path)  # no node address
    curls = tour_curls(report)
    assert code == 1
    differ = {(s["entrypoint"], s["check"]): s["result"] for s in curls if s["result"]["ok"] is False}
    assert sorted(differ) == [("alb", "/v1"), ("alb", "/v1/x")], report["summary"]
    assert differ[("alb", "/v1")]["problems"][0].startswith("alb /v1: expected app1, got app2 from pod app2-deploy-")
    assert differ[("alb", "/v1")]["got"].startswith("200 app2 pod app2-deploy-")
    not_run = [s for s in curls if s["result"]["ok"] is None]
    assert {s["entrypoint"] for s in not_run} == {"nodeport", "nodeport-local"}
    assert all(s["result"]["got"].startswith("not run: no public node address") for s in not_run)
    assert report["summary"]["notRun"] == len(not_run) == 4 and report["summary"]["differ"] == 2


# ---- the suite passes on the replica, whole again after every fault ----------

def test_suite_passes_on_the_replica_whole_again_after_the_faults(replica, tmp_path):
    """Runs last in the module: every fault above was injected into this same replica, and two
    more here (a pod killed, an app restarted answering 503); after Replica.reset the whole suite
    passes, so the fault cases' verdicts were theirs alone."""
    replica.kill(replica.pods_of("app2")[0].name)
    replica.restart_app("app1", RESPONSE_STATUS="503")
    replica.reset()
    outputs = replica.write_outputs(tmp_path / "outputs.json")
    junit = tmp_path / "smoke.junit.xml"
    html = tmp_path / "smoke-report.html"
    run = run_suite(outputs, f"--junitxml={junit}", f"--html={html}", "--self-contained-html")
    assert run.code == 0, run.out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("failures")) == 0 and int(suite.get("errors")) == 0
    assert int(suite.get("tests")) >= 20
    # No kubeconfig: the in-cluster checks are skipped with the reason, never passed.
    assert int(suite.get("skipped")) == 2
    assert "in-cluster checks SKIPPED: no kubeconfig output" in run.out
    assert "smoke summary" in run.out and "p95ms" in run.out
    assert set(run.report["entrypoints"]) == {"nodeport", "nodeport-local", "nlb", "alb", "alb-hosts",
                                              "nginx", "traefik", "gateway"}
    # The Gateway's weighted route: its binomial test in the report, n requests split near 80/20.
    canary = next(r for r in run.report["routes"] if (r["entrypoint"], r["route"]) == ("gateway", "/canary"))
    split = canary["split"]
    assert not split["rejected"] and split["n"] >= 200 and split["n"] == canary["samples"], canary
    assert split["apps"]["app1"]["declared"] == 80 and split["apps"]["app2"]["declared"] == 20
    app1 = split["apps"]["app1"]
    assert app1["accepts"][0] <= app1["share"] <= app1["accepts"][1] and abs(app1["share"] - 80) < 15, split
    assert f"weights, n={split['n']}: app1" in run.out and "split ok" in run.out
    # The HTML report: every pod that answered appears with its share, for every route.
    shares = report_shares(html.read_text())
    assert {(r["entrypoint"], r["route"]) for r in run.report["routes"]} == set(shares)
    for row in run.report["routes"]:
        assert shares[(row["entrypoint"], row["route"])] == pytest.approx(row["share"], abs=0.05), row
    assert "<script src=" not in html.read_text() and "http://" not in html.read_text().split("<body")[0]
    assert_every_check_has_a_row(html.read_text(), outputs)
