"""The account preflight for a whole class: room for N labs at once, and each student's cluster name.

The same reads and verdicts as `./lab preflight --labs N` (labtools/account.py, account_judge.py)
for one lab of the class (they differ only in names), with two class-wide differences: what any
lab of this class already holds (an earlier `./lab class up`, maybe half done) is the class's
own, not usage, so a second run needs nothing new; and every student's cluster name must be
free, not only the first's. How many labs the read quotas hold at once bounds maxParallel.
"""

from __future__ import annotations

from typing import Any

from labtools.account import Answer, Facts, cluster_tags, make_clients, own, read_account, run_batch
from labtools.account_judge import EKS_CLUSTER_TAG, SHORT, Check, cluster_check, judge
from labtools.class_plan import Row, labs_held, matrix, max_parallel
from labtools.quotas import needs
from labtools.roster import Roster, lab_settings
from stacks.model import LabModel, lab_model

TAGGED = ("vpcs", "internet-gateways", "addresses")


def class_models(roster: Roster) -> list[LabModel]:
    return [lab_model(lab_settings(roster, s)) for s in roster.students]


def read_class(models: list[LabModel], clients: dict[str, Any] | None = None) -> tuple[Facts, dict[str, Answer]]:
    """The account as `./lab preflight` reads it for the first lab, and every other lab's cluster."""
    c = clients or make_clients(models[0].settings.region)
    facts = read_account(models[0], c)
    eks = c["eks"]
    others = run_batch({m.settings.cluster_name: (lambda name=m.settings.cluster_name: cluster_tags(eks, name))
                        for m in models[1:]})
    return facts, others


def without_class_labs(facts: Facts, models: list[LabModel], clusters: dict[str, Answer]) -> Facts:
    """The facts with whatever a lab of this class made left out of the usage."""
    def ours(tags: dict[str, str]) -> bool:
        return any(own(tags, m) for m in models)

    answers = dict(facts.answers)
    everyone = {models[0].settings.cluster_name: facts.answers["cluster"], **clusters}
    live = {name for name, a in everyone.items() if a.error is None and a.value is not None and ours(a.value)}

    def keep(name: str, test) -> None:
        a = answers.get(name)
        if a is not None and a.error is None and a.value is not None:
            answers[name] = Answer([x for x in a.value if not test(x)])

    for name in TAGGED:
        keep(name, lambda x: ours(x[1]))
    keep("nat-gateways", lambda x: ours(x[2]))
    keep("instances", lambda x: x["tags"].get(EKS_CLUSTER_TAG) in live)
    keep("clusters", lambda x: x in live)
    lb_tags = {arn: t for k, a in answers.items() if k.startswith("lb-tags:") and a.value for arn, t in a.value.items()}
    keep("load-balancers", lambda x: ours(lb_tags.get(x[0], {})))
    return Facts(answers, facts.batches)


def checks_for(models: list[LabModel], facts: Facts, clusters: dict[str, Answer]) -> list[Check]:
    mine = without_class_labs(facts, models, clusters)
    found = judge(models[0], mine, len(models))
    return found + [cluster_check(m, Facts({"cluster": clusters[m.settings.cluster_name]})) for m in models[1:]]


def room(models: list[LabModel], checks: list[Check]) -> list[Row]:
    """Each quota's room for the class, as read (None where the value was assumed or the usage unknown)."""
    model, n = models[0], len(models)
    quota_checks = [c for c in checks if c.quotaCode][:len(needs(model, 1))]
    rows = []
    for need, check in zip(needs(model, 1), quota_checks):
        known = not check.assumed and check.value is not None and check.used is not None
        rows.append(Row(need.quota.key, need.quota.label, need.quota.code, need.zone, need.amount, n,
                        check.value - check.used if known else None))
    return rows


def document(roster: Roster, models: list[LabModel], account: str | None, checks: list[Check]) -> dict[str, Any]:
    held, bound = labs_held(room(models, checks))
    n = len(models)
    return {"class": roster.class_name, "roster": str(roster.path), "region": models[0].settings.region,
            "account": account, "students": n, "holds": not any(c.verdict == SHORT for c in checks),
            "accountHolds": {"labs": held, "limitedBy": bound, "assumed": False},
            "maxParallel": max_parallel(n, held), "checks": [c.as_json() for c in checks],
            "matrix": matrix(roster)}


def preflight(roster: Roster, clients: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read the account and judge it for the class (raises account.Unreachable)."""
    models = class_models(roster)
    facts, clusters = read_class(models, clients)
    return document(roster, models, facts.value("identity"), checks_for(models, facts, clusters))
