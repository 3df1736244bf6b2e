"""The fake CLI's `stack ls`, `stack export` and `state delete`, as pulumi/pulumi v3.259.0 has them.

- `stack ls --json` (pkg/cmd/pulumi/stack/stack_list.go): the current project's stacks sorted
  by name, each {"name", "current", "lastUpdate" (RFC 5424, ms), "resourceCount"}; the last
  two only once the stack has been updated. An empty backend prints [].
- `stack export` (stack_export.go): the untyped deployment, {"version": 3, "deployment":
  {"manifest", "resources": [...]}}, the stack resource first and holding the outputs.
- `state delete URN... [--yes] [--force] [--target-dependents]` (state/state_delete.go, several
  URNs since v3.228.0): each URN must be in the state; the targets are deleted dependents
  first, and one that something else still depends on (a child, a dependency, a property
  dependency, deletedWith, replaceWith, or a provider reference: graph.OnlyDependsOn) fails
  the whole edit unless --target-dependents; a protected one fails unless --force. Nothing is
  saved unless every deletion succeeds (TotalStateEdit). Prints "Resource deleted" or
  "N resources deleted". Errors exit 1, the code v3.259.0 gives any unclassified error
  (pkg/cmd/pulumi/cmd/exit_codes.go).
"""

from __future__ import annotations

import json
import sys

import __main__ as cli  # the fake CLI's own helpers (the `pulumi` script runs as __main__)

ERROR = 1


def stack_urn(stack: str) -> str:
    return f"urn:pulumi:{stack}::{cli.PROJECT}::pulumi:pulumi:Stack::{cli.PROJECT}-{stack}"


def refs(resource: dict) -> set[str]:
    """The URNs a resource depends on, in each way the engine records one."""
    found = set(resource.get("dependencies") or ())
    for urns in (resource.get("propertyDependencies") or {}).values():
        found |= set(urns)
    found |= {u for u in (resource.get("parent"), resource.get("deletedWith")) if u}
    found |= set(resource.get("replaceWith") or ())
    if resource.get("provider"):
        found.add(resource["provider"].rsplit("::", 1)[0])  # a reference is URN::ID
    return found


def depended_on(resources: list[dict], start: set[str]) -> set[str]:
    """`start` and everything its resources depend on, directly or not."""
    by_urn = {r["urn"]: r for r in resources}
    seen, todo = set(), list(start)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo.extend(refs(by_urn[urn]) if urn in by_urn else ())
    return seen


def dependents(resources: list[dict], urn: str) -> list[str]:
    """Everything that depends on `urn`, directly or not (OnlyDependsOn)."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for r in resources:
            if r["urn"] not in found and r["urn"] != urn and refs(r) & (found | {urn}):
                found.add(r["urn"])
                changed = True
    return [r["urn"] for r in resources if r["urn"] in found]


def stack_ls(args: list[str]) -> None:
    flags, rest = cli.take_flags(args, set(), {"--json", "-j", "--all", "-a"})
    if rest:
        cli.fail(f"unknown command \"{rest[0]}\" for \"pulumi stack ls\"")
    if not (flags.get("--json") or flags.get("-j")):
        cli.fail("(the fake) stack ls prints only --json", code=2)
    folder = cli.backend_dir() / ".pulumi" / "stacks" / cli.PROJECT
    current = cli.current_path().read_text().strip() if cli.current_path().exists() else None
    listed = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        state = json.loads(path.read_text())
        entry = {"name": path.stem, "current": path.stem == current}
        if state.get("time"):  # the stack resource too, while anything is left
            entry.update(lastUpdate=state["time"], resourceCount=len(state["resources"]) + bool(state["resources"]))
        listed.append(entry)
    print(json.dumps(listed, indent=4))


def stack_export(args: list[str]) -> None:
    flags, _ = cli.take_flags(args, {"--stack", "-s", "--file", "--version"}, {"--show-secrets"})
    name = cli.chosen_stack(flags)
    state = cli.require_stack(name)
    root = {"urn": stack_urn(name), "custom": False, "type": "pulumi:pulumi:Stack", "outputs": state["outputs"]}
    resources = [root, *state["resources"]] if state["resources"] else []  # a destroy takes the stack resource too
    deployment = {"version": 3, "deployment": {"manifest": {"time": state.get("time") or "0001-01-01T00:00:00Z"},
                                               "resources": resources}}
    print(json.dumps(deployment, indent=4))


def state_delete(args: list[str]) -> None:
    flags, urns = cli.take_flags(args, {"--stack", "-s"}, {"--yes", "-y", "--force", "--target-dependents", "--all"})
    name = cli.chosen_stack(flags)
    state = cli.require_stack(name)
    if not urns:
        cli.fail("Must supply <resource URN> unless pulumi is run interactively", code=ERROR)
    resources = [{"urn": stack_urn(name), "type": "pulumi:pulumi:Stack"}, *state["resources"]]
    known = {r["urn"] for r in resources}
    for urn in urns:
        if not urn.startswith("urn:pulumi:") or urn.count("::") < 3:
            cli.fail(f"{json.dumps(urn)} is not a valid resource URN", code=ERROR)
        if urn not in known:
            cli.fail(f"No such resource {json.dumps(urn)} exists in the current state", code=ERROR)
    for urn in ordered(resources, set(urns)):
        target = next((r for r in resources if r["urn"] == urn), None)
        if target is None:
            continue  # went as a dependent of an earlier target
        if target.get("protect") and not flags.get("--force"):
            cli.fail(f"{urn} can't be safely deleted because it is protected. "
                     "Re-run this command with --force to force deletion", code=ERROR)
        held = dependents(resources, urn)
        if held and not flags.get("--target-dependents"):
            listed = "".join(f" * {json.dumps(u.split('::')[-1]):<15} ({u})\n" for u in held)
            cli.fail(f"{urn} can't be safely deleted because the following resources depend on it:\n{listed}"
                     "\nDelete those resources first or pass --target-dependents.", code=ERROR)
        resources = [r for r in resources if r["urn"] != urn and r["urn"] not in held]
    assert all(refs(r) <= {x["urn"] for x in resources} for r in resources), "state edit produced an invalid snapshot"
    cli.stack_path(name).write_text(json.dumps({**state, "resources": resources[1:]}))
    print("Resource deleted" if len(urns) == 1 else f"{len(set(urns))} resources deleted")


def ordered(resources: list[dict], targets: set[str]) -> list[str]:
    """computeStateDeleteOrder: a target only once no other remaining target depends on it."""
    left, order = set(targets), []
    while left:
        ready = sorted(u for u in left if not set(dependents(resources, u)) & left)
        if not ready:
            cli.fail("could not order deletions: selected resources have cyclic or conflicting dependencies; "
                     "try deleting them one at a time", code=ERROR)
        order.append(ready[0])
        left.discard(ready[0])
    return order


if __name__ == "__main__":
    sys.exit("run through the fake `pulumi` script")
