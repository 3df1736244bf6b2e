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
from functools import lru_cache

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


def even_accepted_too_often(weights: dict[str, int], m: int) -> bool:
    """(b) fails at m: under an even split, every uneven app's count is accepted with probability
    over 10^-6 (stats.py takes the smallest of these as its bound)."""
    k, total = len(weights), sum(weights.values())
    even = likelihoods(m, 1, k)  # P(X = j) = even[j] / k^m
    return all(MILLION * sum(even[j] for j in accepted(m, w // math.gcd(w, total), total // math.gcd(w, total), k))
               > k ** m for w in set(weights.values()) if w * k != total)


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
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'/'.join(str(w) for _, w in c[0])} x{c[1]}")
def test_n_is_the_independent_computations(case):
    weights, replicas = dict(case[0]), case[1]
    assert stats.weighted_requests_needed(weights, {a: replicas for a in weights}) == CASES[case]
    assert independent_n(weights, replicas) == CASES[case]
