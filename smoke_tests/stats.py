"""How many requests a route needs, and whether a split between apps matches its weights.

Pure Python (no scipy): exact binomial pmfs from log-gamma. Two errors are held
to one in a million each: missing a replica that is up (MISS_PROBABILITY) and
the binomial test's own errors, rejecting the declared split when it holds
(ALPHA) or accepting an even split declared as uneven weights (BETA).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist
from typing import Mapping

MISS_PROBABILITY = 1e-6
ALPHA = 1e-6
BETA = 1e-6
MAX_REQUESTS = 10_000
"""The most requests the suite sends for one route; weights closer to even than that can
tell apart are refused by the contract."""
RERR = 1 + 1e-7  # pmfs equal up to float noise count as equally likely (scipy's binomtest does the same)


def requests_needed(k: int, miss: float = MISS_PROBABILITY) -> int:
    """Smallest n with k * (1 - 1/k)^n <= miss.

    Under uniform balancing one given replica is missed by n requests with
    probability (1 - 1/k)^n; the union bound over k replicas gives
    P(some replica unseen) <= k * (1 - 1/k)^n. k=3 -> 37, k=2 -> 21, k=1 -> 1.
    """
    if k <= 1:
        return 1
    return math.ceil(math.log(miss / k) / math.log(1 - 1 / k))  # both logs negative: at least 1


# ---- the exact binomial test ------------------------------------------------

def binom_pmfs(n: int, p: float) -> list[float]:
    """P(X = k) for k = 0..n, X ~ Binomial(n, p), 0 < p < 1.

    The mode from log-gamma, the rest by the ratio pmf(k+1)/pmf(k) = (n-k)/(k+1) * p/(1-p)
    (a multiply a step: n runs to thousands; the relative error stays ~1e-12, far below RERR).
    """
    mode = min(n, int((n + 1) * p))
    pmf = [0.0] * (n + 1)
    pmf[mode] = peak = math.exp(math.lgamma(n + 1) - math.lgamma(mode + 1) - math.lgamma(n - mode + 1)
                                + mode * math.log(p) + (n - mode) * math.log1p(-p))
    odds, v = p / (1 - p), peak
    for k in range(mode, n):
        v *= (n - k) / (k + 1) * odds
        if v == 0.0:
            break  # underflow: every count further out is smaller still
        pmf[k + 1] = v
    v = peak
    for k in range(mode, 0, -1):
        v *= k / ((n - k + 1) * odds)
        if v == 0.0:
            break
        pmf[k - 1] = v
    return pmf


def _p_values(n: int, p: float) -> list[float]:
    """Two-sided "minlike" p-value of every count 0..n: the mass of all counts no likelier."""
    pmf = binom_pmfs(n, p)
    ordered = sorted(pmf)
    below = [0.0]
    for v in ordered:
        below.append(below[-1] + v)
    return [min(1.0, below[bisect.bisect_right(ordered, v * RERR)]) for v in pmf]


def binom_p_value(k: int, n: int, p: float) -> float:
    """What scipy.stats.binomtest(k, n, p).pvalue gives (alternative two-sided)."""
    return _p_values(n, p)[k]


@lru_cache(maxsize=4096)
def acceptance_interval(n: int, p: float, alpha: float = ALPHA) -> tuple[int, int]:
    """[lo, hi]: the counts the test accepts (p-value >= alpha).

    An interval: the p-value only grows with the pmf of the count, and the pmf is
    unimodal, so the accepted counts are those of pmf above one threshold.
    """
    accepted = [k for k, pv in enumerate(_p_values(n, p)) if pv >= alpha]
    return accepted[0], accepted[-1]


# ---- how many requests --------------------------------------------------------

def miss_bound(weights: Mapping[str, int], replicas: Mapping[str, int], n: int) -> float:
    """Union bound on P(some replica of a weighted app unseen in n requests):
    sum over apps of r_a * (1 - w_a / (W * r_a))^n."""
    total = sum(weights.values())
    return sum(replicas[a] * (1 - w / (total * replicas[a])) ** n for a, w in weights.items())


def alpha_per_app(apps: int) -> float:
    """Two apps: one test (the second count is n minus the first). More: Bonferroni, alpha/k."""
    return ALPHA if apps <= 2 else ALPHA / apps


def even_accepted(weights: Mapping[str, int], n: int) -> float:
    """P(the test accepts | the traffic is split evenly): the power's complement.

    Each app's count is tested against its declared share; an even split is
    rejected when any app's test rejects, so P(accept) <= the smallest P(one
    app's test accepts), which is what this returns (exact pmfs under the even
    split, summed over that app's acceptance interval). Sound for any k; for two
    apps it is exact.
    """
    total, k = sum(weights.values()), len(weights)
    even = binom_pmfs(n, 1 / k)
    alpha = alpha_per_app(k)
    smallest = 1.0
    for w in set(weights.values()):
        if w * k == total:
            continue  # this app's share is the even one: its test cannot tell
        lo, hi = acceptance_interval(n, w / total, alpha)
        smallest = min(smallest, math.fsum(even[lo:hi + 1]))
    return smallest


def is_even(weights: Mapping[str, int]) -> bool:
    return len(set(weights.values())) == 1


def window(n: int) -> int:
    """How far past n the power must also hold: even_accepted(n) is a sawtooth (the
    acceptance bounds move by whole counts), so n is taken where it has settled."""
    return max(10, math.isqrt(n))


def weighted_requests_needed(weights: Mapping[str, int], replicas: Mapping[str, int]) -> int:
    """Smallest n such that (a) miss_bound(n) <= MISS_PROBABILITY and (b), for uneven
    weights, even_accepted(m) <= BETA for every m in n .. n + window(n).

    (a) is monotone in n: bisection. (b) is not quite (see window): a scan up from there
    that skips what a failure rules out. Raises ValueError past MAX_REQUESTS.
    """
    return _needed(tuple(sorted(weights.items())), tuple(sorted((a, replicas[a]) for a in weights)))


@lru_cache(maxsize=256)
def _needed(weights: tuple, replicas: tuple) -> int:
    w, r = dict(weights), dict(replicas)
    n = _smallest(lambda n: miss_bound(w, r, n) <= MISS_PROBABILITY, 1)
    if n > MAX_REQUESTS:
        raise ValueError(f"seeing every replica needs {n} requests, more than the {MAX_REQUESTS} the suite sends")
    if is_even(w):
        return n
    guess = _normal_guess(w)
    if guess > 2 * MAX_REQUESTS:
        raise ValueError(_too_even(guess))  # at once, not after a scan up to MAX_REQUESTS
    holds = lru_cache(maxsize=None)(lambda m: even_accepted(w, m) <= BETA)
    # n is good when (b) holds on all of n .. n + window(n). A failure at m rules out every n up
    # to m (their windows reach m, as window grows with n): each window is read from its top, and
    # the scan goes on past the highest failure. So the n returned is the smallest good one.
    while (failed := next((m for m in range(n + window(n), n - 1, -1) if not holds(m)), None)) is not None:
        n = failed + 1
        if n > MAX_REQUESTS:
            raise ValueError(_too_even(guess))
    return n


def _too_even(guess: int) -> str:
    return (f"too close to an even split: telling them apart needs more than {MAX_REQUESTS} requests "
            f"(about {guess})")


def _smallest(pred, start: int) -> int:
    """Smallest n >= start with pred(n), pred monotone: doubling, then bisection."""
    if pred(start):
        return start
    lo, hi = start, start * 2
    while not pred(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if pred(mid) else (mid, hi)
    return hi


def _normal_guess(weights: Mapping[str, int]) -> int:
    """Normal approximation of (b), for the app whose share is furthest from even."""
    total, k = sum(weights.values()), len(weights)
    q = 1 / k
    p = max((w / total for w in weights.values()), key=lambda s: abs(s - q))
    z_a, z_b = NormalDist().inv_cdf(1 - alpha_per_app(k) / 2), NormalDist().inv_cdf(1 - BETA)
    return math.ceil(((z_a * math.sqrt(p * (1 - p)) + z_b * math.sqrt(q * (1 - q))) / (p - q)) ** 2)


# ---- judging a split ------------------------------------------------------------

@dataclass(frozen=True)
class AppSplit:
    app: str
    count: int
    declared: float
    """Declared share, 0..1."""
    accepts: tuple[int, int]
    """The counts the test accepts for this app, [lo, hi]."""
    p_value: float

    def share(self, n: int) -> float:
        return self.count / n if n else 0.0


@dataclass(frozen=True)
class Split:
    n: int
    alpha: float
    apps: tuple[AppSplit, ...]

    @property
    def rejected(self) -> bool:
        return any(a.p_value < self.alpha for a in self.apps)

    @property
    def p_value(self) -> float:
        return min(a.p_value for a in self.apps)


def split_test(counts: Mapping[str, int], weights: Mapping[str, int]) -> Split:
    """Each weighted app's count (of the replies from the weighted apps) against its share."""
    n, total = sum(counts.get(a, 0) for a in weights), sum(weights.values())
    alpha = alpha_per_app(len(weights))
    apps = []
    for app, w in weights.items():
        count = counts.get(app, 0)
        lo_hi = acceptance_interval(n, w / total, alpha) if n else (0, 0)
        apps.append(AppSplit(app, count, w / total, lo_hi, binom_p_value(count, n, w / total) if n else 1.0))
    return Split(n, alpha, tuple(apps))
