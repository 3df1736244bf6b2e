"""How many requests a weighted route gets (smoke_tests/stats.py), pinned for several weight sets
and replica counts, each n checked against an independent computation in exact integers.

The definition (the README's "Smoke tests"): n is the smallest count for which
(a) the union bound on missing a replica, sum over apps of r_a * (1 - w_a / (W r_a))^n, is at most
    10^-6, and
(b) for uneven weights, at every m in n .. n + max(10, isqrt(n)), an even split is accepted with
    probability at most 10^-6 by the test of each app whose share is not the even one.
The test is the exact two-sided binomial test, "minlike" p-value: the mass of every count no likelier
than the observed one, likelihoods equal within a relative 1e-7 counting as equal, as
scipy.stats.binomtest computes it (scipy/stats/_binomtest.py, `rerr = 1 + 1e-7`; R's binom.test does
the same); a count is accepted when its p-value is at least alpha (10^-6, divided by the number of apps
for three or more: Bonferroni).

Here every probability is an integer ratio (math.comb, no floats, no log-gamma) and n is found by
scanning up from 1, proving each smaller count fails, so nothing is shared with stats.py's search.
"""

from __future__ import annotations

import bisect
import math
from fractions import Fraction
from functools import lru_cache
from statistics import NormalDist

import pytest

from smoke_tests import stats

MILLION = 10 ** 6  # 1 / MISS_PROBABILITY, 1 / ALPHA, 1 / BETA
SAME = 10 ** 7  # likelihoods within a relative 1 / SAME are equal: scipy's rerr = 1 + 1e-7


def misses_too_often(weights: dict[str, int], replicas: int, n: int) -> bool:
    """(a) fails: sum r (1 - w / (W r))^n > 10^-6, over the common denominator (W r)^n."""
    d = sum(weights.values()) * replicas
    return MILLION * sum(replicas * (d - w) ** n for w in weights.values()) > d ** n


def likelihoods(n: int, w: int, total: int) -> list[int]:
    """L_j = C(n, j) w^j (total - w)^(n - j), so that P(X = j) = L_j / total^n (X ~ Bin(n, w / total))."""
    like = [(total - w) ** n]
    for j in range(n):  # L_{j+1} = L_j (n - j) w / ((j + 1)(total - w)), exact in integers
        like.append(like[-1] * (n - j) * w // ((j + 1) * (total - w)))
    return like


def accepted(n: int, w: int, total: int, apps: int) -> list[int]:
    """The counts whose p-value is at least alpha (10^-6, Bonferroni's 10^-6 / apps past two)."""
    like = likelihoods(n, w, total)
    ordered = sorted(like)
    below = [0]
    for v in ordered:
        below.append(below[-1] + v)
    per = MILLION * (apps if apps > 2 else 1)  # p >= 1 / per  <=>  mass * per >= total^n
    scale = total ** n
    return [j for j, v in enumerate(like) if below[bisect.bisect_right(ordered, v * (SAME + 1) // SAME)] * per >= scale]


def even_accepted(weights: dict[str, int], m: int) -> Fraction:
    """Under an even split, the smallest probability that an uneven app's count is accepted
    (stats.py's bound on the power's complement), exactly."""
    k, total = len(weights), sum(weights.values())
    even = likelihoods(m, 1, k)  # P(X = j) = even[j] / k^m
    return min(Fraction(sum(even[j] for j in accepted(m, w // math.gcd(w, total), total // math.gcd(w, total), k)),
                        k ** m) for w in set(weights.values()) if w * k != total)


def even_accepted_too_often(weights: dict[str, int], m: int) -> bool:
    """(b) fails at m."""
    return even_accepted(weights, m) * MILLION > 1


def independent_n(weights: dict[str, int], replicas: int) -> int:
    # (a) weakens as n grows (each term shrinks): the n where it first holds is the one whose n - 1
    # fails. Each term alone must be at most 10^-6, which bounds n from below; from there, up.
    total = sum(weights.values())
    n = max(1, max(math.floor(math.log(replicas * MILLION) / -math.log1p(-w / (total * replicas)))
                   for w in weights.values()) - 1)
    while misses_too_often(weights, replicas, n):
        n += 1
    assert n == 1 or misses_too_often(weights, replicas, n - 1)
    if len(set(weights.values())) == 1:
        return n
    fails = lru_cache(maxsize=None)(lambda m: even_accepted_too_often(weights, m))
    # (b): n is good when the power holds on all of n .. n + window. A failure at j rules out every
    # n up to j (their windows reach j), so the scan jumps past it; each window is read from its top.
    while True:
        failed = next((j for j in range(n + max(10, math.isqrt(n)), n - 1, -1) if fails(j)), None)
        if failed is None:
            return n
        n = failed + 1


# weights, replicas of each app -> n. 80/20 binds on (b) at 1 and 3 replicas, on (a) at 20 (every one of
# app2's 20 replicas seen); 90/10 binds on (a) too; 1:1 has (a) only; three apps use Bonferroni.
CASES = {
    ((("app1", 80), ("app2", 20)), 1): 222,
    ((("app1", 80), ("app2", 20)), 3): 222,
    ((("app1", 80), ("app2", 20)), 20): 1673,
    ((("app1", 90), ("app2", 10)), 3): 440,
    ((("app1", 70), ("app2", 30)), 3): 548,
    ((("app1", 3), ("app2", 1)), 4): 338,
    ((("app1", 1), ("app2", 1)), 3): 86,
    ((("a", 50), ("b", 25), ("c", 25)), 3): 848,
    ((("a", 40), ("b", 40), ("c", 20)), 3): 1053,  # the app furthest from even is below it: c
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'/'.join(str(w) for _, w in c[0])} x{c[1]}")
def test_n_is_the_independent_computations(case):
    weights, replicas = dict(case[0]), case[1]
    assert stats.weighted_requests_needed(weights, {a: replicas for a in weights}) == CASES[case]
    assert independent_n(weights, replicas) == CASES[case]
    if len(set(weights.values())) > 1:  # and the bound on the power's complement there, itself
        assert stats.even_accepted(weights, CASES[case]) == pytest.approx(float(even_accepted(weights, CASES[case])),
                                                                         rel=1e-9)


# ---- the pieces --------------------------------------------------------------------------

def test_the_pmfs_are_the_binomial_ones():
    for n, w, total in ((30, 3, 10), (7, 1, 2), (200, 4, 5)):
        want = [v / total ** n for v in likelihoods(n, w, total)]
        got = stats.binom_pmfs(n, w / total)
        assert len(got) == n + 1 and got == pytest.approx(want, rel=1e-10, abs=1e-300), n


def test_a_p_value_is_at_most_one():
    """Summing every pmf in floats gives 1 + 2e-16 for Bin(3, 0.25); scipy caps at 1.0 too."""
    assert max(stats.binom_p_value(k, 3, 0.25) for k in range(4)) == 1.0


def test_the_window_grows_as_the_square_root_past_100():
    assert [stats.window(n) for n in (1, 100, 120, 121, 1673)] == [10, 10, 10, 11, 40]


def normal_guess(weights: dict[str, int]) -> int:
    """The sample size of a one-sample test of a proportion by the normal approximation
    (Chow, Shao and Wang, Sample Size Calculations in Clinical Research, one-sample proportion):
    n = ((z_{1-alpha/2} sqrt(p(1-p)) + z_{1-beta} sqrt(q(1-q))) / (p - q))^2 for the app whose share
    p is furthest from the even q = 1/k, alpha with Bonferroni past two apps."""
    total, k = sum(weights.values()), len(weights)
    q = Fraction(1, k)
    p = max((Fraction(w, total) for w in weights.values()), key=lambda s: abs(s - q))
    z = NormalDist().inv_cdf
    alpha = 1e-6 if k <= 2 else 1e-6 / k
    return math.ceil(((z(1 - alpha / 2) * math.sqrt(p * (1 - p)) + z(1 - 1e-6) * math.sqrt(q * (1 - q)))
                      / float(p - q)) ** 2)


@pytest.mark.parametrize("weights", [{"app1": 51, "app2": 49}, {"a": 34, "b": 33, "c": 33},
                                     {"a": 34, "b": 34, "c": 32}], ids=str)
def test_weights_too_close_to_even_are_refused_with_the_estimate(weights):
    """At once: the estimate is past twice the limit (nearer ones are refused by the scan, as below).
    The estimate is of the app furthest from even: the largest share, or (34/34/32) the smallest."""
    with pytest.raises(ValueError) as err:
        stats.weighted_requests_needed(weights, {a: 3 for a in weights})
    assert str(err.value) == (f"too close to an even split: telling them apart needs more than 10000 requests "
                              f"(about {normal_guess(weights)})")


def test_the_scan_skips_past_every_failure_in_a_window(monkeypatch):
    """A made-up power with teeth past its threshold (100): n is the smallest whose whole window holds,
    as a scan of every n finds it."""
    weights, replicas = {"x": 80, "y": 20}, {"x": 1, "y": 1}  # (a) holds from 63 on
    for teeth, n in (({110}, 111), ({110, 121}, 122), ({104, 130}, 105), ({109}, 110)):
        monkeypatch.setattr(stats, "even_accepted", lambda w, m: 0.0 if m >= 100 and m not in teeth else 1.0)
        stats._needed.cache_clear()
        try:
            assert stats.weighted_requests_needed(weights, replicas) == n
        finally:
            stats._needed.cache_clear()
        holds = [m >= 100 and m not in teeth for m in range(400)]
        assert n == next(m for m in range(63, 300) if all(holds[m:m + stats.window(m) + 1]))


def test_a_route_needing_exactly_the_most_requests_the_suite_sends_is_accepted(monkeypatch):
    """MAX_REQUESTS is accepted at its end, whether (a) or (b) binds; one more is refused."""
    stats._needed.cache_clear()
    try:
        for first, n in ((1, 1), (10_000, 10_000)):  # (a) holds from `first` on; even weights: (a) alone
            monkeypatch.setattr(stats, "miss_bound", lambda w, r, m: 0.0 if m >= first else 1.0)
            assert stats.weighted_requests_needed({"x": 1, "y": 1}, {"x": 1, "y": 1}) == n
            stats._needed.cache_clear()
        monkeypatch.setattr(stats, "miss_bound", lambda w, r, m: 0.0 if m >= 10_001 else 1.0)
        with pytest.raises(ValueError, match="seeing every replica needs 10001 requests, more than the 10000"):
            stats.weighted_requests_needed({"x": 1, "y": 1}, {"x": 1, "y": 1})
        monkeypatch.undo()
        for first, ok in ((10_000, True), (10_001, False)):  # (b) holds from `first` on
            stats._needed.cache_clear()
            monkeypatch.setattr(stats, "even_accepted", lambda w, m: 0.0 if m >= first else 1.0)
            if ok:
                assert stats.weighted_requests_needed({"x": 80, "y": 20}, {"x": 1, "y": 1}) == 10_000
            else:
                with pytest.raises(ValueError, match="too close to an even split"):
                    stats.weighted_requests_needed({"x": 80, "y": 20}, {"x": 1, "y": 1})
    finally:
        stats._needed.cache_clear()


def test_an_even_split_declared_even_is_always_accepted():
    assert stats.even_accepted({"a": 1, "b": 1}, 50) == 1.0  # no app whose test could tell
