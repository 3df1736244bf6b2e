"""`teardown`: what `./lab destroy` does, step by step, and what to do after a refusal.

First EKS is asked whether the lab's cluster exists: when it says the cluster is gone, the
Kubernetes side is dropped from the state (labtools/gone_cluster.py), as nothing could
delete it any more; when it cannot say (a denied call, the network), nothing else runs.
Then pulumi destroy; when it fails (most often AWS's DependencyViolation on a subnet or the
VPC: an interface or a security group the controllers left holds it) the sweep frees
what it can, and pulumi destroy runs once more; then a sweep and the audit. The exit
status is 0 only when the last destroy succeeded and the audit found nothing.

The sequence is `teardown()`: it takes the stack, cluster, region and --yes and the
tools, and returns the steps as data. The tools that really run (the Pulumi CLI,
the sweep and the audit) are in teardown_tools; the words for people are here, apart.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Callable, TextIO

from labtools import gone_cluster as gone
from labtools.gone_cluster import Eks, Exported


@dataclass(frozen=True)
class Ran:
    """How a tool finished: its exit status, and whether the user (or `timeout`) interrupted it."""

    status: int
    interrupted: bool = False


@dataclass(frozen=True)
class Step:
    name: str  # drop | destroy | sweep | audit
    attempt: int  # 1, or 2 for the destroy after a refusal and the sweep after it
    command: str  # what ran, as a person would type it
    status: int
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.interrupted


@dataclass(frozen=True)
class Teardown:
    stack: str
    cluster: str | None
    region: str | None
    yes: bool
    steps: tuple[Step, ...]
    problems: tuple[str, ...]  # empty exactly when the teardown is complete
    eks: str | None = None  # what EKS said of the cluster: its status, "gone", or None (not asked, or no answer)
    dropped: tuple[str, ...] = ()  # the URNs dropped from the state (the cluster was gone)
    refused: bool = False  # EKS could not be asked: nothing ran

    @property
    def exit_status(self) -> int:
        return 2 if self.refused else 1 if self.problems else 0


@dataclass(frozen=True)
class Tools:
    destroy: Callable[[str, bool], Ran]  # (stack, yes)
    sweep: Callable[[str, str, bool], Ran]  # (cluster, region, yes)
    audit: Callable[[str, str], Ran]  # (cluster, region)
    eks: Callable[[str, str], Eks]  # (cluster, region): DescribeCluster
    export: Callable[[str], Exported]  # (stack): pulumi stack export
    state_delete: Callable[[str, list[str]], Ran]  # (stack, urns)


Starting = Callable[[str, int, str], None]  # (name, attempt, command)


def _commands(stack: str, cluster: str | None, region: str | None, yes: bool) -> dict[str, str]:
    flag = " --yes" if yes else ""
    where = f"--cluster {cluster} --region {region}"
    return {"destroy": f"pulumi destroy --stack {stack}{flag}", "sweep": f"./lab sweep {where}{flag}",
            "audit": f"./lab audit {where}", "drop": f"pulumi state delete --stack {stack} --yes URN..."}


def teardown(stack: str, cluster: str | None, region: str | None, yes: bool, tools: Tools,
             starting: Starting = lambda *_: None, finished: Callable[[Step], None] = lambda _: None,
             say: Callable[[str], None] = lambda _: None) -> Teardown:
    """Ask EKS; a gone cluster's Kubernetes side leaves the state (with --yes); destroy; after a
    failure: sweep, destroy once more (only with --yes: without it the sweep deletes nothing,
    so the same refusal would come back); then sweep and audit."""
    commands = _commands(stack, cluster, region, yes)
    known = bool(cluster and region)
    steps: list[Step] = []
    eks = tools.eks(cluster, region) if known else None

    def stop(problem: str) -> Teardown:  # before pulumi destroy: nothing of the lab was deleted
        return Teardown(stack, cluster, region, yes, tuple(steps), (problem,), _eks_word(eks),
                        refused=bool(eks and eks.error))

    def run(name: str, attempt: int, call: Callable[[], Ran]) -> Step:
        starting(name, attempt, commands[name])
        ran = call()
        steps.append(Step(name, attempt, commands[name], ran.status, ran.interrupted))
        finished(steps[-1])
        return steps[-1]

    def destroy(attempt: int) -> Step:
        return run("destroy", attempt, lambda: tools.destroy(stack, yes))

    def sweep(attempt: int) -> Step | None:
        return run("sweep", attempt, lambda: tools.sweep(cluster, region, yes)) if known else None

    dropped: tuple[str, ...] = ()
    if eks and eks.error:
        return stop(gone.cannot_ask(eks, cluster, region))
    if eks:
        say(gone.eks_line(eks, cluster, region))
    if eks and eks.gone:
        problem, dropped = _drop_kubernetes_side(stack, cluster, yes, tools, say, lambda urns: run(
            "drop", 1, lambda: tools.state_delete(stack, urns)))
        if problem:
            return stop(problem)
    last = destroy(1)
    sweep(1)  # after a refusal: frees what held the subnet or the VPC (with --yes), or lists it
    if not last.ok and yes and not last.interrupted:
        last = destroy(2)
        sweep(2)
    audit = run("audit", 1, lambda: tools.audit(cluster, region)) if known else None
    problems = _problems(stack, cluster, region, last, audit)
    return Teardown(stack, cluster, region, yes, tuple(steps), tuple(problems), _eks_word(eks), dropped)


def _eks_word(eks: Eks | None) -> str | None:
    return None if eks is None or eks.error else "gone" if eks.gone else eks.status


def _drop_kubernetes_side(stack: str, cluster: str, yes: bool, tools: Tools, say: Callable[[str], None],
                          delete: Callable[[list[str]], Step]) -> tuple[str | None, tuple[str, ...]]:
    """(a problem that stops the teardown, or None; the URNs dropped)."""
    exported = tools.export(stack)
    if exported.resources is None:
        return (f"could not read the state of stack {stack} (pulumi stack export: {exported.error}): nothing "
                "was dropped or destroyed"), ()
    plan = gone.drop_plan(exported.resources)
    if plan.held:
        return gone.held_problem(plan), ()
    for line in gone.plan_lines(plan, stack, yes):
        say(line)
    if not plan.drop:
        return None, ()
    if not yes:
        return gone.dry_run_problem(plan, cluster, stack), ()
    if not delete([r.urn for r in plan.drop]).ok:
        return "pulumi state delete failed (its error is above): nothing was dropped, and nothing destroyed", ()
    return None, tuple(r.urn for r in plan.drop)


def _problems(stack: str, cluster: str | None, region: str | None, last: Step, audit: Step | None) -> list[str]:
    again = f"./lab destroy --stack {stack} --yes"
    problems = []
    if last.interrupted:
        problems.append(f"pulumi destroy was interrupted, so it was not retried; to finish: {again}")
    elif last.attempt == 2 and not last.ok:
        between = ", before and after the sweep" if audit else ""
        problems.append(f"pulumi destroy failed twice{between}: Pulumi's errors above say what AWS refused")
    elif not last.ok:
        problems.append("pulumi destroy failed and was not retried: without --yes the sweep only listed what holds "
                        f"the lab (a retry would meet the same refusal); to delete that and retry: {again}")
    if audit is None:
        problems.append(f"stack {stack} names no cluster (no outputs, no readable Pulumi.{stack}.yaml): nothing was "
                        "swept or audited; check with ./lab audit --cluster NAME --region REGION")
    elif audit.status == 1:
        problems.append(f"the audit found what is left of cluster {cluster} in {region} (listed above)")
    elif not audit.ok:
        problems.append(f"the audit could not finish (exit {audit.status}; its error is above)")
    return problems


# --------------------------------------------------------------------------
# Words for people


def starting_line(name: str, attempt: int, cluster: str | None, region: str | None, stack: str) -> str:
    if name == "destroy":
        return f"pulumi destroy of stack {stack}" + (" once more, after the sweep" if attempt == 2 else "")
    if name == "drop":
        return f"dropping the Kubernetes side of stack {stack} from the state"
    if name == "sweep":
        return f"sweeping what the controllers left for cluster {cluster} in {region}"
    return f"auditing what is left of cluster {cluster} in {region}"


def _destroy_outcome(step: Step, yes: bool) -> str:
    if step.interrupted:
        return f"interrupted (exit {step.status}); not retried"
    if step.ok:
        return "done" + (" on the second attempt" if step.attempt == 2 else "")
    if step.attempt == 2:
        return f"failed again (exit {step.status})"
    return f"failed (exit {step.status}); " + ("it runs once more" if yes else "not retried without --yes")


_SWEEP = {0: "nothing left by the controllers, or all of it deleted", 1: "some items kept or not deleted (above)"}
_SWEEP_DRY = {0: "dry run, nothing deleted (what it found, if anything, is listed above)"}
_AUDIT = {0: "clean", 1: "leaks (listed above)"}


def outcome_line(step: Step, yes: bool) -> str:
    if step.name == "destroy":
        said = _destroy_outcome(step, yes)
    elif step.name == "drop":
        said = "done" if step.ok else f"failed (exit {step.status}); nothing was dropped"
    elif step.name == "sweep":
        said = (_SWEEP if yes else _SWEEP_DRY).get(step.status, f"refused or failed (exit {step.status}; above)")
    else:
        said = _AUDIT.get(step.status, f"could not finish (exit {step.status})")
    return f"{step.command}: {said}"


def summary_lines(result: Teardown) -> list[str]:
    if not result.problems:
        dropped = (f" ({len(result.dropped)} Kubernetes resources dropped from the state first: the cluster was "
                   "gone)") if result.dropped else ""
        return [f"teardown of stack {result.stack} complete: nothing of cluster {result.cluster} left in "
                f"{result.region}{dropped}"]
    return [f"teardown of stack {result.stack} finished with problems (exit {result.exit_status}); "
            "see README, 'When a destroy fails':", *(f"  - {p}" for p in result.problems)]


def print_json(result: Teardown, out: TextIO) -> None:
    data = asdict(result)
    data["exit_status"] = result.exit_status
    print(json.dumps(data, indent=2, sort_keys=True), file=out)
