"""`./lab class plan --roster FILE [--parallel K] [--json]`: a class of labs, offline.

Per student the stack, the cluster name and the settings; for the class the cost (N x one
lab, from the lab model), what the account must hold (the preflight's needs x N, against AWS's
default quotas, said to be assumed: the plan reads no account) and the time to have every lab
ready K at a time. No AWS, no Pulumi CLI.

Every lab of a class stays up until the class is destroyed, so the account must hold all N
at once; running them K at a time only bounds how many Pulumi builds at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labtools import quotas
from labtools.roster import BASE_STACK, Roster, lab_config, lab_overrides, lab_settings
from stacks import estimates, prices
from stacks.model import LabModel, lab_model

# At most this many labs are built at once unless --parallel says otherwise: within GitHub's 20
# concurrent jobs of its Free plan (docs.github.com/actions/reference/limits), and every lab's
# Pulumi shares the account's API request rates (EC2 and EKS throttle per account and region).
DEFAULT_MAX_PARALLEL = 10
MATRIX_MAX = 256  # jobs one GitHub Actions matrix may generate (the same page)
# Per-rule, not per-lab: each lab has its own security groups (quotas.needs says so too).
NOT_PER_LAB = {"sg-inbound-rules"}
NEED_KEYS = {"vpcs": "vpcs", "internet-gateways": "internetGateways", "nat-gateways": "natGateways",
             "elastic-ips": "elasticIps", "vcpus": "vcpus", "albs": "albs", "nlbs": "nlbs",
             "eks-clusters": "eksClusters"}


@dataclass(frozen=True)
class Row:
    """One quota: what one lab takes of it, what the class takes, and what is there for it."""

    key: str
    label: str
    code: str
    zone: str | None
    per_lab: int
    labs: int
    available: int | None
    """Room left for the class (a value, less other usage); None when not known."""

    @property
    def for_class(self) -> int:
        return self.per_lab if self.key in NOT_PER_LAB else self.per_lab * self.labs

    @property
    def labs_held(self) -> int | None:
        """How many labs this quota holds at once; None when it is not known or bounds none."""
        if self.available is None or (self.key in NOT_PER_LAB and self.per_lab <= self.available):
            return None
        if self.key in NOT_PER_LAB or not self.per_lab:
            return 0 if self.per_lab else None
        return max(0, self.available // self.per_lab)

    @property
    def name(self) -> str:
        return f"{self.label} in {self.zone}" if self.zone else self.label


def default_rows(model: LabModel, labs: int) -> list[Row]:
    """Every quota the lab takes, against AWS's default (what a new account starts with)."""
    return [Row(n.quota.key, n.quota.label, n.quota.code, n.zone, n.amount, labs, n.quota.default)
            for n in quotas.needs(model, 1)]


def labs_held(rows: list[Row]) -> tuple[int | None, list[str]]:
    """How many labs the known room holds at once, and the quotas that bound it."""
    known = [(r.labs_held, r.name) for r in rows if r.labs_held is not None]
    if not known:
        return None, []
    least = min(h for h, _ in known)
    return least, [name for h, name in known if h == least]


def max_parallel(students: int, held: int | None) -> int:
    """Labs built at once: the students, at most DEFAULT_MAX_PARALLEL and what the account holds."""
    return max(1, min(students, DEFAULT_MAX_PARALLEL, students if held is None else held))


def ready_minutes(students: int, parallel: int, per_lab: float) -> tuple[int, float]:
    """(rounds, minutes) until every lab is ready, `parallel` at a time, each taking `per_lab`."""
    rounds = math.ceil(students / max(1, min(parallel, students)))
    return rounds, round(rounds * per_lab, 1)


def model_of(roster: Roster) -> LabModel:
    """One lab of the class (they differ only in names and admins: the same cost and needs)."""
    return lab_model(lab_settings(roster, roster.students[0]))


def needs_of(rows: list[Row]) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in rows:
        if r.key in NEED_KEYS:
            found[NEED_KEYS[r.key]] = found.get(NEED_KEYS[r.key], 0) + r.for_class
    return found


def build(roster: Roster, parallel: int | None = None) -> dict[str, Any]:
    model = model_of(roster)
    s, n = model.settings, len(roster.students)
    rows = default_rows(model, n)
    held, bound = labs_held(rows)
    best = max_parallel(n, held)
    k = parallel or best
    per_lab_minutes = estimates.provision_minutes(model)
    rounds, minutes = ready_minutes(n, k, per_lab_minutes)
    hourly = prices.hourly_usd(model)
    return {
        "class": roster.class_name, "roster": str(roster.path), "region": s.region, "students": n,
        "settingsFrom": f"Pulumi.{BASE_STACK}.yaml",
        "labs": [{"id": st.id, "stack": st.stack, "clusterName": st.cluster_name,
                  "adminPrincipalArns": [st.admin_arn], "overrides": lab_overrides(roster, st),
                  "settings": lab_config(roster, st)} for st in roster.students],
        "perLab": {"hourlyCostUsd": hourly, "provisionMinutes": per_lab_minutes},
        "hourlyCostUsd": None if hourly is None else round(n * hourly, 4),
        "dailyCostUsd": None if hourly is None else round(24 * n * hourly, 2),
        "pricesAsOf": prices.PRICES_AS_OF.isoformat(),
        "accountNeeds": needs_of(rows),
        "quotas": [{"name": r.name, "quotaCode": r.code, "zone": r.zone, "perLab": r.per_lab,
                    "class": r.for_class, "awsDefault": r.available, "labsAtDefault": r.labs_held}
                   for r in rows],
        "accountHolds": {"labs": held, "limitedBy": bound, "assumed": True,
                         "source": "AWS's default quotas (the plan reads no account; ./lab class preflight does)"},
        "fits": held is None or held >= n,
        "maxParallel": best, "parallel": k, "rounds": rounds, "readyMinutes": minutes,
        "readyMinutesByParallel": {str(p): ready_minutes(n, p, per_lab_minutes)[1]
                                   for p in sorted({1, 5, DEFAULT_MAX_PARALLEL, best, k, n}) if p <= n},
        "teardownParallel": min(n, DEFAULT_MAX_PARALLEL),
        "matrix": matrix(roster),
        "workflowFits": n <= MATRIX_MAX,
    }


def matrix(roster: Roster) -> dict[str, list[dict[str, str]]]:
    """The class workflow's matrix: one job per student (fromJSON of this)."""
    return {"include": [{"id": s.id, "stack": s.stack, "clusterName": s.cluster_name} for s in roster.students]}
