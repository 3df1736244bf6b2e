"""Every way into the lab: each route reaches the expected app, every replica answers."""

from __future__ import annotations

from smoke_tests.judge import judge_not_found, judge_redirect, judge_route


def test_route(route_case, smoke_results, contract, judge_or_fail):
    ep, route = route_case
    judge_or_fail(judge_route(ep, route, smoke_results[ep.name], contract))


def test_not_found(not_found_case, smoke_results, judge_or_fail):
    ep, nf = not_found_case
    result = smoke_results[ep.name]
    judge_or_fail(judge_not_found(ep, result.not_found.get(nf.label), result))


def test_redirects_to_https(redirect_case, smoke_results, judge_or_fail):
    judge_or_fail(judge_redirect(redirect_case, smoke_results[redirect_case.name]))
