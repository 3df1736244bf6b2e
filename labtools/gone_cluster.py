"""When the lab's cluster is gone: what EKS says, and the Kubernetes side dropped from the state.

`pulumi destroy` deletes the Kubernetes objects through the cluster's API. Once EKS has
deleted the cluster (in the console, by an account clean-up, by a destroy that stopped
midway) each of those deletes fails ("configured Kubernetes cluster is unreachable"), and
the AWS side that waits for them stays: VPC, NAT gateway, IAM roles. The objects went with
the cluster; their entries in the state are all that is left of them. So, and only when
EKS answers DescribeCluster with ResourceNotFoundException, every `kubernetes:*` resource
is removed from the state by `pulumi state delete`, and the destroy goes on.

The provider's own way out (PULUMI_K8S_DELETE_UNREACHABLE, or deleteUnreachable) is not
used: it cannot tell a cluster that is gone from one this machine cannot reach (its API
endpoint admits only lab:apiAccessCidrs), where dropping a Service would leave its load
balancer billing; and helm.v3.Release ignores it (pulumi-kubernetes#2675).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

K8S_PREFIX = "kubernetes:"


@dataclass(frozen=True)
class Eks:
    """What EKS said of the cluster: its status, that it has none of that name, or why it could not say."""

    status: str | None = None  # ACTIVE, CREATING, DELETING, ...
    error: str | None = None  # AccessDeniedException, a network error ...: nothing is known

    @property
    def gone(self) -> bool:
        return self.status is None and self.error is None


@dataclass(frozen=True)
class StateResource:
    """One resource of `pulumi stack export`, with every URN it depends on."""

    urn: str
    type: str
    refs: frozenset[str]

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class Exported:
    resources: tuple[StateResource, ...] | None
    error: str = ""  # why the state could not be read


def state_resources(export: Any) -> tuple[StateResource, ...]:
    """The resources of `pulumi stack export`'s JSON; ValueError when it is not one."""
    try:
        raw = export["deployment"].get("resources") or []
        found = []
        for r in raw:
            refs = set(r.get("dependencies") or ())
            for urns in (r.get("propertyDependencies") or {}).values():
                refs |= set(urns)
            refs |= {u for u in (r.get("parent"), r.get("deletedWith")) if u} | set(r.get("replaceWith") or ())
            if r.get("provider"):
                refs.add(r["provider"].rsplit("::", 1)[0])  # a provider reference is URN::ID
            found.append(StateResource(r["urn"], r["type"], frozenset(refs)))
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"not a Pulumi deployment ({type(err).__name__}: {err})") from None
    return tuple(found)


@dataclass(frozen=True)
class DropPlan:
    drop: tuple[StateResource, ...]  # dependents first (the state's order, reversed)
    held: tuple[tuple[str, str], ...]  # (a kept resource, the dropped one it depends on)


def drop_plan(resources: tuple[StateResource, ...]) -> DropPlan:
    """Every `kubernetes:*` resource: objects, Helm releases, yaml/v2 components and their
    children. The Kubernetes providers stay (deleting a provider resource calls no plugin:
    pulumi/pulumi providers/registry.go Delete), and so do the lab's components (a
    component's delete calls no provider); neither needs the cluster."""
    drop, seen = [], set()
    for r in reversed(resources):
        if r.type.startswith(K8S_PREFIX) and r.urn not in seen:
            seen.add(r.urn)
            drop.append(r)
    held = sorted({(r.urn, ref) for r in resources if r.urn not in seen for ref in r.refs & seen})
    return DropPlan(tuple(drop), tuple(held))


# --------------------------------------------------------------------------
# Words for people


def eks_line(eks: Eks, cluster: str, region: str) -> str:
    if eks.gone:
        return (f"EKS has no cluster {cluster} in {region}: any Kubernetes objects left in the state went with it "
                "(Pulumi cannot delete them through an API server that is gone)")
    return (f"EKS reports cluster {cluster} in {region} ({eks.status}): its Kubernetes objects are deleted through "
            "its API, nothing is dropped from the state")


def plan_lines(plan: DropPlan, stack: str, yes: bool) -> list[str]:
    if not plan.drop:
        return [f"no Kubernetes resources left in the state of stack {stack}: nothing to drop"]
    count = f"{len(plan.drop)} Kubernetes resource{'s' if len(plan.drop) != 1 else ''}"
    head = (f"dropping {count} of stack {stack} from the state (pulumi state delete), so that pulumi destroy "
            "can delete the AWS side:" if yes else
            f"dry run: {count} of stack {stack} would be dropped from the state before pulumi destroy:")
    return [head, *(f"  - {t} {n}" for t, n in sorted((r.type, r.name) for r in plan.drop))]


def cannot_ask(eks: Eks, cluster: str, region: str) -> str:
    return (f"could not ask EKS whether cluster {cluster} exists in {region} ({eks.error}): nothing was dropped or "
            "destroyed. The Kubernetes side leaves the state only when EKS says the cluster is gone: check the "
            "credentials (eks:DescribeCluster) and the network, then run ./lab destroy again")


def held_problem(plan: DropPlan) -> str:
    kept, dropped = plan.held[0]
    more = f" (and {len(plan.held) - 1} more)" if len(plan.held) > 1 else ""
    return (f"{kept} depends on the Kubernetes resource {dropped}{more}: dropping that would break the state, so "
            "nothing was dropped or destroyed")


def dry_run_problem(plan: DropPlan, cluster: str, stack: str) -> str:
    return (f"cluster {cluster} is gone: its {len(plan.drop)} Kubernetes resources (listed above) must leave the "
            "state before pulumi destroy can finish; without --yes nothing was dropped or destroyed. To drop them "
            f"and destroy: ./lab destroy --stack {stack} --yes")

