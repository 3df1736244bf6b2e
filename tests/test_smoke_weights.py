"""Weighted routes and request headers in the smoke suite: the contract, the statistics (how many
requests, the exact binomial test), the judge's messages, a probe of a small server, the summary."""

from __future__ import annotations

import copy
import json
import math
import threading
from fractions import Fraction
from http.server import BaseHTTPRequestHandler

import pytest

from smoke_tests import html_report, judge, stats, summary
from smoke_tests.outputs import ContractError, Route, parse_contract
from smoke_tests.probes import EntrypointResult, Settings, probe_all, ready_check, samples_for
from smoke_tests.transport import Client, Reply, Target
from tests import test_smoke_probes as probe_tests
from tests.test_smoke_probes import serve

W8020 = {"app1": 80, "app2": 20}
GATEWAY = {"url": "http://lb.example", "layer": "L7", "gateway": "lab-gateway", "routes": [
    {"path": "/v1", "app": "app1", "appSees": "/"}, {"path": "/v1/x", "app": "app1", "appSees": "/x"},
    {"path": "/v2", "app": "app2", "appSees": "/"}, {"path": "/v2/y", "app": "app2", "appSees": "/y"},
    {"path": "/canary", "weights": W8020, "appSees": "/canary"},
    {"path": "/canary", "headers": {"x-lab-canary": "always"}, "app": "app2", "appSees": "/canary"},
], "notFound": ["/", "/v3", "/v1abc"]}


def outputs(gateway: dict | None = None, replicas: int = 3) -> dict:
    return {"replicas": {"app1": replicas, "app2": replicas}, "entrypoints": {"gateway": gateway or GATEWAY}}


# ---- the contract --------------------------------------------------------------

def test_good_gateway_parses_with_headers_and_weights():
    ep = parse_contract(outputs()).entrypoints["gateway"]
    weighted, header = ep.routes[4], ep.routes[5]
    assert weighted.weighted and weighted.app is None and weighted.apps == ("app1", "app2")
    assert dict(weighted.weights) == W8020 and weighted.label == "/canary"
    assert dict(header.headers) == {"x-lab-canary": "always"} and not header.weighted
    assert header.label == "/canary [x-lab-canary: always]"
    assert len({r.label for r in ep.routes}) == len(ep.routes)
    assert Route("/c", None, "/c", weights=W8020).weights == (("app1", 80), ("app2", 20))  # mappings kept as pairs


R4, R5, DROP = "entrypoints.gateway.routes[4]", "entrypoints.gateway.routes[5]", object()


@pytest.mark.parametrize("index,key,value,message", [
    (4, "app", "app1", f"{R4}: both app and weights; expected exactly one of app (one app: app1, app2) "
                       "or weights (app name -> positive integer weight, two apps or more)"),
    (4, "weights", DROP, f"{R4}.app: missing; expected one of app1, app2 (or weights"),
    (4, "weights", {"app1": 80, "app3": 20}, f"{R4}.weights.app3: 'app3' is not in replicas; expected one"),
    (4, "weights", {"app1": 80, "app2": True}, f"{R4}.weights.app2: expected a positive integer weight, got true"),
    (4, "weights", {"app1": 80, "app2": 0}, f"{R4}.weights.app2: expected a positive integer weight, got 0"),
    (4, "weights", {"app1": 80, "app2": 2.5}, f"{R4}.weights.app2: expected a positive integer weight, got 2.5"),
    (4, "weights", {"app1": 100}, f"{R4}.weights: one app (app1); expected two apps or more (a route to one "
                                  "app uses app, not weights)"),
    (4, "weights", {}, f"{R4}.weights: empty; expected two apps or more"),
    (4, "weights", [80, 20], f"{R4}.weights: expected an object of app name -> weight (apps: app1, app2)"),
    (4, "weights", {"app1": 51, "app2": 49}, f"{R4}.weights: app1 51, app2 49: too close to an even split"),
    (5, "headers", {"x lab": "always"}, f"{R5}.headers.x lab: 'x lab' is not a valid header name"),
    (5, "headers", {"x-lab:canary": "always"}, f"{R5}.headers.x-lab:canary: 'x-lab:canary' is not a valid"),
    (5, "headers", {"x-lab-canary": 1}, f"{R5}.headers.x-lab-canary: expected a string, got 1"),
    (5, "headers", {"x-lab-canary": "a\r\nx: y"}, f"{R5}.headers.x-lab-canary: 'a\\r\\nx: y'; expected a header "
                                                  "value without control characters"),
    (5, "headers", {"Host": "h"}, f"{R5}.headers.Host: set Host with the route's host key"),
    (5, "headers", {"X-A": "1", "x-a": "2"}, f"{R5}.headers.x-a: the same header as X-A"),
    (5, "headers", {}, f"{R5}.headers: empty; expected header name -> value"),
    (5, "headers", "x-lab-canary: always", f"{R5}.headers: expected an object"),
    (5, "headers", DROP, f"{R5}: the same route as {R4} ('/canary'); routes of one entry point differ in path, "
                         "host or headers"),
])
def test_bad_route_names_the_key_path(index, key, value, message):
    gateway = copy.deepcopy(GATEWAY)
    route = gateway["routes"][index]
    route.pop(key) if value is DROP else route.update({key: value})
    with pytest.raises(ContractError) as err:
        parse_contract(outputs(gateway))
    assert message in str(err.value)


# ---- statistics: the exact binomial test -------------------------------------------

def exact_p_value(k: int, n: int, p: Fraction) -> Fraction:
    pmf = [math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(n + 1)]
    return sum(v for v in pmf if v <= pmf[k] * (1 + Fraction(1, 10 ** 7)))


def test_p_values_agree_with_hand_computed_cases():
    assert stats.binom_p_value(0, 10, 0.5) == pytest.approx(2 / 1024, rel=1e-12)
    assert stats.binom_p_value(5, 10, 0.5) == pytest.approx(1.0)
    for k in range(13):  # asymmetric: the two tails are not mirror images
        want = exact_p_value(k, 12, Fraction(1, 4))
        assert stats.binom_p_value(k, 12, 0.25) == pytest.approx(float(want), rel=1e-9), k


def test_acceptance_interval_is_exactly_the_accepted_counts():
    for n, p, alpha in ((60, 0.3, 0.01), (40, 0.8, 1e-3), (222, 0.8, 1e-6)):
        lo, hi = stats.acceptance_interval(n, p, alpha)
        accepted = [k for k in range(n + 1) if stats.binom_p_value(k, n, p) >= alpha]
        assert accepted == list(range(lo, hi + 1))


# scipy.stats.binomtest(k, n, p).pvalue, recorded with scipy 1.17.1 (the suite needs no scipy).
SCIPY_1_17_1 = {(3, 20, 0.3): 0.22041826738070913, (147, 222, 0.8): 1.373214056214669e-06,
                (111, 222, 0.8): 2.1731012042265758e-23, (40, 300, 0.2): 0.003030809926581285,
                (204, 222, 0.8): 1.961256624991626e-06, (205, 222, 0.8): 5.41010400922133e-07}


@pytest.mark.parametrize("case", SCIPY_1_17_1, ids=str)
def test_p_values_agree_with_scipy(case):
    assert stats.binom_p_value(*case) == pytest.approx(SCIPY_1_17_1[case], rel=1e-9)


# ---- statistics: how many requests ---------------------------------------------------

def holds_b(weights, n) -> bool:  # (b): an even split is rejected with probability >= 1 - BETA
    return stats.even_accepted(weights, n) <= stats.BETA


@pytest.mark.parametrize("replicas,n,binds", [(2, 222, "b"), (3, 222, "b"), (20, 1673, "a")])
def test_requests_for_80_20_are_the_smallest_that_hold(replicas, n, binds):
    r = {"app1": replicas, "app2": replicas}
    assert stats.weighted_requests_needed(W8020, r) == n
    # n holds both: every replica seen, and the power holds from n on (its sawtooth settled).
    assert stats.miss_bound(W8020, r, n) <= stats.MISS_PROBABILITY
    assert all(holds_b(W8020, m) for m in range(n, n + stats.window(n) + 1))
    # n - 1 fails the one that binds.
    if binds == "a":
        assert stats.miss_bound(W8020, r, n - 1) > stats.MISS_PROBABILITY
    else:
        assert not holds_b(W8020, n - 1)


def test_even_weights_need_only_every_replica_seen_and_near_even_ones_are_refused():
    w, r = {"app1": 1, "app2": 1}, {"app1": 3, "app2": 3}
    n = stats.weighted_requests_needed(w, r)
    assert stats.miss_bound(w, r, n) <= 1e-6 < stats.miss_bound(w, r, n - 1)
    with pytest.raises(ValueError, match="too close to an even split"):
        stats.weighted_requests_needed({"app1": 51, "app2": 49}, r)


def test_three_apps_use_bonferroni_and_reject_an_even_split():
    w = {"a": 50, "b": 25, "c": 25}
    n = stats.weighted_requests_needed(w, {"a": 3, "b": 3, "c": 3})
    assert not holds_b(w, n - 1)
    even = stats.split_test({"a": n // 3, "b": n // 3, "c": n - 2 * (n // 3)}, w)
    assert even.rejected and even.alpha == pytest.approx(1e-6 / 3)
    assert not stats.split_test({"a": n // 2, "b": n // 4, "c": n - n // 2 - n // 4}, w).rejected


def test_split_at_the_bounds_is_accepted_and_one_count_out_rejected():
    n = stats.weighted_requests_needed(W8020, {"app1": 3, "app2": 3})
    lo, hi = stats.acceptance_interval(n, 0.8)
    for count, rejected in ((lo, False), (hi, False), (lo - 1, True), (hi + 1, True)):
        split = stats.split_test({"app1": count, "app2": n - count}, W8020)
        assert split.rejected is rejected, count
    assert stats.split_test({"app1": n // 2, "app2": n - n // 2}, W8020).rejected  # 50/50 declared as 80/20


# ---- judging --------------------------------------------------------------------------

CONTRACT = parse_contract(outputs())
EP = CONTRACT.entrypoints["gateway"]
CANARY, HEADER = EP.routes[4], EP.routes[5]


def reply(app: str, i: int = 0, path: str = "/canary") -> Reply:
    return probe_tests.reply(app=app, pod=f"{app}-deploy-abc12-{i % 3}", path=path)


def replies(app1: int, app2: int, **kw) -> list[Reply]:
    return [reply("app1", i, **kw) for i in range(app1)] + [reply("app2", i, **kw) for i in range(app2)]


def verdict(got: list[Reply], route: Route = CANARY) -> list[str]:
    return probe_tests.verdict(got, route, EP, CONTRACT)


def test_a_split_as_declared_passes():
    assert verdict(replies(178, 44)) == []


def test_a_wrong_app_is_named_with_the_weights():
    problems = verdict(replies(170, 44) + [reply("app3")] * 8)
    assert problems == ["gateway /canary: expected one of app1, app2 (weights), got app3 from pod "
                        "app3-deploy-abc12-0 (8 of 222 requests; route sent to the wrong app)"]


def test_an_app_that_never_answered_is_named():
    assert verdict(replies(222, 0)) == [
        "gateway /canary: app2 never answered (weights app1 80, app2 20; n=222, all from app1)"]


def test_a_missing_replica_names_its_app():
    got = replies(178, 0) + [reply("app2", i % 2) for i in range(44)]
    assert verdict(got) == ["gateway /canary: app2 replicas seen 2 of 3 (missing one replica; "
                            "seen app2-deploy-abc12-0, app2-deploy-abc12-1)"]


def test_an_even_split_is_rejected_with_counts_shares_bounds_and_p_in_judge_and_summary():
    (problem,) = verdict(replies(111, 111))
    p = stats.binom_p_value(111, 222, 0.8)
    assert problem == ("gateway /canary: split app1 50.0% (111) / app2 50.0% (111) of n=222 is not 80/20 "
                       f"(accepts app1 in 66.2%-91.9%, p={p:.2g})")
    result = EntrypointResult(EP, routes={"/canary": probe_tests.route_result(CANARY, replies(111, 111))})
    assert summary.render({"gateway": result}, 1.0, "concurrent")[3] == (
        "  weights, n=222: app1 50.0% (declared 80%, accepts 66.2%-91.9%), app2 50.0% (declared 20%, accepts "
        f"8.1%-33.8%); split REJECTED (p={p:.2g})")


def test_the_header_route_and_app_sees_are_judged_as_before():
    problems = verdict(replies(37, 0, path="/x"), HEADER)
    assert problems[0].startswith("gateway /canary [x-lab-canary: always]: expected app2, got app1")
    assert "app saw /x, expected /canary" in problems[1]


def test_readiness_of_a_weighted_route_wants_one_of_its_apps():
    check = ready_check(CANARY)
    assert check(reply("app2")) is None and check(reply("app1")) is None
    assert "expected one of app1, app2 (weights)" in str(check(reply("app3")))
    assert samples_for(CANARY, CONTRACT.replicas) == 222 and samples_for(HEADER, CONTRACT.replicas) == 37


# ---- a probe against a small server ------------------------------------------------------

class Gateway:
    """Plays the Gateway: x-lab-canary: always -> app2, else 4 of 5 requests to app1; records headers."""

    def __init__(self):
        self.seen: list[tuple[str, dict[str, str]]] = []  # (path, headers) of every request
        self.lock, self.plain = threading.Lock(), 0

    def handler(self):
        gw = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms wait on keep-alive

            def do_GET(self):
                canary = self.headers.get("x-lab-canary") == "always"
                with gw.lock:
                    gw.seen.append((self.path, dict(self.headers)))
                    i = len(gw.seen) if canary else gw.plain
                    gw.plain += 0 if canary else 1
                app = "app2" if canary or i % 5 == 4 else "app1"
                body = json.dumps({"app": app, "pod": f"{app}-pod-{i % 3}", "path": self.path, "node": "n",
                                   "client": "127.0.0.1"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        return H


def test_probe_sends_the_headers_on_every_request_and_n_for_the_weighted_route():
    gw = Gateway()
    routes = [{"path": "/canary", "weights": W8020, "appSees": "/canary"},
              {"path": "/canary", "headers": {"x-lab-canary": "always"}, "app": "app2", "appSees": "/canary"}]
    with serve(gw.handler()) as server:
        contract = parse_contract(outputs({"url": f"http://127.0.0.1:{server.server_address[1]}", "layer": "L7",
                                           "routes": routes}))
        settings = Settings(deadline_s=5, backoff_initial_s=0.05, request_timeout_s=2, per_target=4)
        results, total = probe_all(contract, ["gateway"], settings)
    res = results["gateway"]
    weighted, header = res.routes["/canary"], res.routes["/canary [x-lab-canary: always]"]
    assert len(weighted.samples) == 222 and len(header.samples) == 37
    with_header = [h for _, h in gw.seen if h.get("x-lab-canary") == "always"]
    assert len(with_header) == header.attempts + 37 and len(gw.seen) == weighted.attempts + 222 + len(with_header)
    assert all(h["Host"] == f"127.0.0.1:{server.server_address[1]}" for _, h in gw.seen)
    assert [judge.judge_route(res.entrypoint, r, res, contract) for r in res.entrypoint.routes] == [[], []]
    # The summary: n, each app's share against its declared one and the bounds; the verdict.
    lines = summary.render(results, total, "concurrent")
    (split_line,) = [x for x in lines if x.startswith("  weights")]
    assert split_line.startswith("  weights, n=222: app1 80.2% (declared 80%, accepts 66.2%-91.9%), "
                                 "app2 19.8% (declared 20%, accepts 8.1%-33.8%); split ok (p=")
    row = next(r for r in summary.rows(results) if r["route"] == "/canary")
    assert row["split"]["apps"]["app2"] == {"count": 44, "share": 19.82, "declared": 20.0, "accepts": [8.11, 33.78]}
    html = html_report.section(results, contract)
    assert 'data-app="app1" data-share="80.2"' in html and "app1 80% / app2 20% (weights)" in html
    assert 'title="expected share 6.7%"' in html  # app2's pods: 20% / 3 replicas


def test_client_sends_extra_headers_but_keeps_its_host():
    gw = Gateway()
    with serve(gw.handler()) as server:
        extra = {"x-lab-canary": "always", "host": "evil", "User-Agent": "ua"}
        client = Client(Target("http", "127.0.0.1", server.server_address[1]), False, 2)
        got, err = client.get_e("/", "h", headers=extra)
    assert err is None and got.field("app") == "app2"
    assert {k: gw.seen[0][1][k] for k in ("Host", "User-Agent", "x-lab-canary")} == {
        "Host": "h", "User-Agent": "ua", "x-lab-canary": "always"}
