"""Verdicts that must not pass silently (smoke_tests/judge.py): checks that never ran or errored,
failed requests, a single wrong reply, replies of another app counted as this one's, and the split
of a weighted route one app never answered."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from types import SimpleNamespace

import pytest

from smoke_tests import judge, stats, summary
from smoke_tests.outputs import Entrypoint, Route
from smoke_tests.probes import CheckResult, EntrypointResult, RouteResult, Sample
from smoke_tests.transport import ProbeError
from tests import test_smoke_probes as probes, test_smoke_weights as weights

ALB = probes.CONTRACT.entrypoints["alb"]
TRAEFIK = Entrypoint("traefik", "L7", (Route("/", "app2", "/", host="admin.example.com"),),
                     url="https://lb.example", redirects_to_https=True)
RESET = ProbeError("reset", "connection reset by 127.0.0.1:80")


# ---- notFound and the https redirect --------------------------------------------

def test_a_not_found_check_that_never_ran_fails_with_the_reason():
    assert judge.judge_not_found(ALB, None, EntrypointResult(ALB)) == [
        "alb notFound: not checked, the entry point never became ready"]
    assert judge.judge_not_found(ALB, None, EntrypointResult(ALB, setup_error="no public node address")) == [
        "alb notFound: not checked, the entry point never became ready (no public node address)"]


def test_a_not_found_check_that_errored_fails_and_a_404_passes():
    assert judge.judge_not_found(ALB, CheckResult("/nope", None, RESET), EntrypointResult(ALB)) == [
        "alb notFound /nope: connection reset by 127.0.0.1:80"]
    assert judge.judge_not_found(ALB, CheckResult("/nope", probes.reply(status=404), None), EntrypointResult(ALB)) == []


def test_a_redirect_check_that_never_ran_or_errored_fails():
    assert judge.judge_redirect(TRAEFIK, EntrypointResult(TRAEFIK)) == [
        "traefik redirectsToHttps: not checked, the entry point never became ready"]
    errored = EntrypointResult(TRAEFIK, redirect=CheckResult("http://lb.example/", None, RESET))
    assert judge.judge_redirect(TRAEFIK, errored) == [
        "traefik redirectsToHttps: http://lb.example/: connection reset by 127.0.0.1:80"]


# ---- one route ------------------------------------------------------------------------

def test_a_route_of_an_entry_point_that_could_not_start_or_was_never_probed_fails():
    route = ALB.routes[0]
    assert judge.judge_route(ALB, route, EntrypointResult(ALB, setup_error="no public node address"),
                             probes.CONTRACT) == ["alb /v1: no public node address"]
    assert judge.judge_route(ALB, route, EntrypointResult(ALB), probes.CONTRACT) == ["alb /v1: never probed"]

def test_failed_requests_are_counted_and_the_first_error_named():
    route = Route("/v1", "app1", "/v1")
    samples = [Sample(r, None) for r in probes.three_pods()] + [Sample(None, RESET), Sample(None, ProbeError(
        "timeout", "timed out"))]
    result = SimpleNamespace(setup_error=None, routes={"/v1": RouteResult(route, True, 0.0, 1, samples=samples)})
    assert judge.judge_route(ALB, route, result, probes.CONTRACT) == [
        "alb /v1: 2 of 11 requests failed, first: connection reset by 127.0.0.1:80"]


def test_a_single_wrong_reply_is_named():
    assert probes.verdict(probes.three_pods() + [probes.reply(app="app2", pod="app2-deploy-x-1")]) == [
        "alb /v1: expected app1, got app2 from pod app2-deploy-x-1 (1 of 10 requests; route sent to the wrong app)"]


def test_another_apps_pods_are_not_counted_as_replicas_of_this_one():
    got = [probes.reply(pod="app1-deploy-abc12-a"), probes.reply(pod="app1-deploy-abc12-b"),
           probes.reply(app="app2", pod="app2-deploy-x-1")] * 3
    assert probes.verdict(got)[1:] == [
        "alb /v1: replicas seen 2 of 3 (missing one replica; seen app1-deploy-abc12-a, app1-deploy-abc12-b)"]


def test_missing_and_extra_replicas_are_counted():
    assert probes.verdict([probes.reply(pod="p1")] * 9) == [
        "alb /v1: replicas seen 1 of 3 (missing 2 replicas; seen p1)"]
    assert probes.verdict([probes.reply(pod=f"p{i}") for i in range(4)] * 3) == [
        "alb /v1: replicas seen 4, expected 3 (stale endpoints or extra pods?)"]


def test_a_local_entry_point_that_only_another_app_answers_fails():
    ep = Entrypoint("nodeport-local", "L4", (Route("/", "app1", "/"),), node_port=30002,
                    external_traffic_policy="Local")
    got = [probes.reply(app="app2", pod="app2-x", path="/")] * 3
    assert probes.verdict(got, ep.routes[0], ep)[1:] == [
        "nodeport-local /: no app1 replica answered (externalTrafficPolicy Local)"]


def test_clients_are_judged_only_where_the_route_says_and_the_contract_has_a_vpc():
    outside = probes.three_pods(client="203.0.113.9")
    assert probes.verdict(outside, Route("/v1", "app1", "/v1")) == []  # clientPreserved unset
    no_vpc = dataclasses.replace(probes.CONTRACT, vpc_cidr=None)
    assert probes.verdict(outside, Route("/v1", "app1", "/v1", client_preserved=False), contract=no_vpc) == []
    unknown = probes.verdict(probes.three_pods(client="unknown"), Route("/v1", "app1", "/v1", client_preserved=False))
    assert unknown == ["alb /v1: app saw client unknown outside vpcCidr 10.0.0.0/16, expected a node/proxy "
                       "address (clientPreserved false)"]  # not an address: not inside


# ---- a weighted route ------------------------------------------------------------------

def test_a_weighted_route_no_weighted_app_answered_names_both():
    got = [weights.reply("app3", i) for i in range(3)]
    assert weights.verdict(got)[1:] == [
        "gateway /canary: app1 never answered (weights app1 80, app2 20; n=0, no app answered)",
        "gateway /canary: app2 never answered (weights app1 80, app2 20; n=0, no app answered)"]


def test_another_apps_replies_on_another_node_are_not_this_local_routes():
    ep = Entrypoint("nodeport-local", "L4", (weights.CANARY,), node_port=30002, external_traffic_policy="Local")
    contract = dataclasses.replace(weights.CONTRACT, entrypoints={"nodeport-local": ep})
    got = weights.replies(178, 44) + [probes.reply(app="app3", pod="app3-x", path="/canary", node="n2")]
    assert probes.verdict(got, weights.CANARY, ep, contract) == [
        "nodeport-local /canary: expected one of app1, app2 (weights), got app3 from pod app3-x (1 of 223 requests; "
        "route sent to the wrong app)"]


def test_a_route_without_weights_has_no_split():
    assert judge.split_of(weights.HEADER, weights.replies(0, 37)) is None


def test_a_rejected_split_of_three_apps_names_the_worst_app_and_bonferroni():
    split = stats.split_test({"a": 70, "b": 100, "c": 70}, {"a": 50, "b": 25, "c": 25})
    worst = min(split.apps, key=lambda a: a.p_value)
    assert worst.app == "a" and split.rejected and split.p_value == worst.p_value
    assert judge.split_problem(split) == (
        "split a 29.2% (70) / b 41.7% (100) / c 29.2% (70) of n=240 is not 50/25/25 (accepts "
        f"a in {judge.accepts(split, split.apps[0])}, b in {judge.accepts(split, split.apps[1])}, "
        f"c in {judge.accepts(split, split.apps[2])}, p={worst.p_value:.2g} for a, Bonferroni alpha 3e-07)")


def test_a_p_value_that_underflowed_is_said_so():
    assert (judge.p_text(0.0), judge.p_text(1.5e-7)) == ("p<1e-300", "p=1.5e-07")

def exact_p_value(k: int, n: int, p: Fraction) -> float:
    """The minlike two-sided p-value in exact fractions (as tests/test_smoke_weights.py defines it)."""
    return float(weights.exact_p_value(k, n, p))


def test_another_apps_replies_are_not_counted_in_a_split_nor_its_n():
    got = weights.replies(222, 0) + [weights.reply("app3", i) for i in range(8)]
    assert weights.verdict(got) == [
        "gateway /canary: expected one of app1, app2 (weights), got app3 from pod app3-deploy-abc12-0, "
        "app3-deploy-abc12-1, app3-deploy-abc12-2 (8 of 230 requests; route sent to the wrong app)",
        "gateway /canary: app2 never answered (weights app1 80, app2 20; n=222, all from app1)"]


def test_an_app_that_never_answered_still_gets_the_right_n_and_p_value_in_the_summary():
    row = summary.split_row(judge.split_of(weights.CANARY, weights.replies(222, 0)))
    assert (row["n"], row["rejected"], row["apps"]["app2"]["count"]) == (222, True, 0)
    assert row["p_value"] == pytest.approx(exact_p_value(222, 222, Fraction(4, 5)), rel=1e-9)
    assert row["apps"]["app1"]["share"] == 100.0 and row["apps"]["app2"]["share"] == 0.0


def test_a_split_of_no_reply_accepts_and_shares_nothing():
    split = stats.split_test({}, weights.W8020)
    assert (split.n, split.rejected, split.p_value) == (0, False, 1.0)
    assert [(a.count, a.accepts, a.share(0)) for a in split.apps] == [(0, (0, 0), 0.0), (0, (0, 0), 0.0)]
