"""The lab's simulated cloud: the real program run under Pulumi mocks, offline.

`run_lab()` reads Pulumi.<stack>.yaml (as the CLI would hand it to the
program), applies overrides, runs `stacks.lab.main()` against a mock monitor,
and returns a `Graph`: every registered resource with its inputs, parent and
dependency edges, plus the stack outputs. The offline plan (`python -m labtools
plan`) and the test suite both stand on it; the mocks answer with values of the
right shape (ARNs, DNS names, a kubeconfig), never real ones.

The mock monitor turns resource references off: with them on, passing
resource objects into pulumi-eks components fails or hangs intermittently
("attached to a different loop", pulumi/pulumi#6561).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pulumi
from pulumi.runtime import mocks, rpc
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.sync_await import _sync_await

from labtools.mocks import LabMocks
# settings_dir is used from here by the plan and the tests.
from labtools.stack_file import as_pulumi_passes, settings_dir, stack_config  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
STACK_TYPE = "pulumi:pulumi:Stack"
K8S_PREFIX = "kubernetes:"


def plain(value: Any) -> Any:
    """A value as the API server receives it: secrets unwrapped, and integers (numbers cross the
    mock monitor as floats; the schema wants integers)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def secret_value(value: Any) -> Any:
    """The plain value of a secret input, or None when `value` is not a secret."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return value["value"]
    return None


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    parent: str
    deps: list[str]
    provider: str
    custom: bool
    transforms: list[Any] = field(default_factory=list)
    """Its resource transforms (the engine runs them on it and its children; the mocks do not)."""
    aliases: list[str] = field(default_factory=list)
    """The full URNs of its `aliases` option: old names the engine matches it to."""
    property_deps: dict[str, list[str]] = field(default_factory=dict)
    """Per input, the URNs of the resources its value came from (sorted)."""

    @property
    def is_k8s_object(self) -> bool:
        return self.type.startswith(K8S_PREFIX) and "apiVersion" in self.inputs and \
            not self.type.startswith("kubernetes:helm")


@dataclass
class Graph:
    resources: list[Resource]
    outputs: dict[str, Any]
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        return next(r for r in self.resources if r.urn == urn)

    def k8s(self, kind: str, name: str) -> Resource:
        found = [r for r in self.k8s_objects() if r.inputs["kind"] == kind
                 and r.inputs.get("metadata", {}).get("name") == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def k8s_objects(self) -> list[Resource]:
        return [r for r in self.resources if r.is_k8s_object]

    def manifests(self) -> list[dict[str, Any]]:
        """Every Kubernetes object the program creates, as the API server would receive it."""
        keys = ("apiVersion", "kind", "metadata", "spec", "data", "stringData", "type")
        found = [plain({k: r.inputs[k] for k in keys if k in r.inputs}) for r in self.k8s_objects()]
        # Registration order varies from run to run; readers want a stable one.
        return sorted(found, key=lambda m: (m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"]))

    def ancestors(self, urn: str) -> set[str]:
        """Everything `urn` waits for: its dependencies, theirs, and their children."""
        seen: set[str] = set()
        todo = list(self.by_urn(urn).deps)
        while todo:
            dep = todo.pop()
            if dep in seen:
                continue
            seen.add(dep)
            todo.extend(self.by_urn(dep).deps)
            # Depending on a component means waiting for every resource inside it.
            todo.extend(r.urn for r in self.resources if r.parent == dep)
        return seen

    def waits_for(self, later: Resource, earlier: Resource) -> bool:
        return earlier.urn in self.ancestors(later.urn)

    def children(self, parent: Resource) -> Iterator[Resource]:
        return (r for r in self.resources if r.parent == parent.urn)


class RecordingMonitor(mocks.MockMonitor):
    """A mock monitor that keeps each registration's parent and dependency edges."""

    def __init__(self, mock: pulumi.runtime.Mocks):
        super().__init__(mock)
        self.registrations: dict[str, dict[str, Any]] = {}
        self.stack_outputs: dict[str, Any] = {}
        self.secret_outputs: set[str] = set()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """A URN as the engine forms it (pulumi/pulumi pkg/resource/deploy/deployment.go,
        generateURN): the parent's whole type chain, without the root stack's type. The stock
        mock keeps only the parent's last type, and the stack's, so its URNs are not a real
        stack's and the SDK's alias URNs would not match them."""
        chain = parent.split("::")[2] if parent else ""
        if chain and chain != STACK_TYPE:
            type_ = f"{chain}${type_}"
        return "::".join(["urn:pulumi:" + pulumi.get_stack(), pulumi.get_project(), type_, name])

    def SupportsFeature(self, request):
        has = request.id not in ("resourceReferences", "outputValues")
        return type("SupportsFeatureResponse", (object,), {"hasSupport": has})

    def GetDeploymentInfo(self, request):
        info = super().GetDeploymentInfo(request)
        # Without alias specs the SDK works out each alias's full URNs itself (parents'
        # aliases included), the URNs the engine matches against the old state.
        dropped = (resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
                   resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS)
        kept = [f for f in info.supportedFeatures if f not in dropped]
        return resource_pb2.DeploymentInfo(supportedFeatures=kept)

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != STACK_TYPE:
            self.registrations[response.urn] = {
                "type": request.type, "name": request.name, "parent": request.parent,
                "deps": list(request.dependencies), "provider": request.provider,
                "custom": bool(request.custom),
                "inputs": rpc.deserialize_properties(request.object),
                # The functions behind the callback tokens, as MockMonitor resolves them.
                "transforms": mocks._resolve_callbacks(request.transforms),
                "aliases": sorted(request.aliasURNs),
                "property_deps": {k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
            }
        return response


def run_lab(overrides: dict[str, Any] | None = None, drop: tuple[str, ...] = (),
            stack: str = "dev", now: dt.datetime | None = None) -> Graph:
    """Run the program with Pulumi.<stack>.yaml plus overrides (keys like `lab:natGateways`)."""
    graph, error = run_program(overrides, drop, stack, now)
    if error is not None:
        raise error
    return graph


def run_program(overrides: dict[str, Any] | None = None, drop: tuple[str, ...] = (),
                stack: str = "dev", now: dt.datetime | None = None,
                ) -> tuple[Graph, BaseException | None]:
    """Like run_lab, but returns the program's error with whatever was registered before it."""
    from stacks import lab

    config = {k: v for k, v in stack_config(stack).items() if k not in drop}
    config.update(overrides or {})
    mocks_ = LabMocks(str(config.get("aws:region") or "ap-northeast-2"))
    monitor = RecordingMonitor(mocks_)
    pulumi.runtime.set_mocks(mocks_, project="eks-networking-lab", stack=stack,
                             preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(as_pulumi_passes(config))

    exported: list[tuple[str, asyncio.Future]] = []

    @pulumi.runtime.test
    def program():
        lab.main(now)
        # The mock stack never registers its outputs; read the exports from it.
        for key, value in pulumi.runtime.get_root_resource().outputs.items():
            out = pulumi.Output.from_input(value)
            out.apply(lambda v, key=key: monitor.stack_outputs.__setitem__(key, v))
            exported.append((key, asyncio.ensure_future(out.is_secret())))

    error = None
    capture, sdk_resource._get_stack_trace = sdk_resource._get_stack_trace, _no_stack_trace
    try:
        program()
    except Exception as err:  # the program's own error, e.g. pulumi.RunError for bad settings
        error = err
    finally:
        sdk_resource._get_stack_trace = capture
        pulumi.runtime.set_all_config({})
    for key, secret in exported:
        if _sync_await(secret):
            monitor.secret_outputs.add(key)
    return _graph(monitor), error


def _no_stack_trace() -> source_pb2.StackTrace:
    """What the SDK sends as a resource's source position, left empty: the mock monitor never
    reads it, and taking it (traceback.extract_stack per resource) was a fifth of a run's CPU."""
    return source_pb2.StackTrace()


def _graph(monitor: RecordingMonitor) -> Graph:
    resources = []
    for urn in stable_order(monitor.registrations):
        reg, state = monitor.registrations[urn], monitor.resources.get(urn)
        resources.append(Resource(urn=urn, type=reg["type"], name=reg["name"], inputs=sorted_keys(reg["inputs"]),
                                  state=sorted_keys(dict(state.state)) if state else {}, parent=reg["parent"],
                                  deps=sorted(reg["deps"]), provider=reg["provider"], custom=reg["custom"],
                                  transforms=reg["transforms"],
                                  aliases=reg["aliases"], property_deps=reg["property_deps"]))
    return Graph(resources=resources, outputs=monitor.stack_outputs,
                 secret_outputs=monitor.secret_outputs)


def stable_order(registrations: dict[str, dict[str, Any]]) -> list[str]:
    """The URNs in an order that is the same for the same program: by depth (a resource comes
    after its parent and its dependencies), then name and type. The SDK registers concurrently,
    so the order it registers in varies from run to run (and with it all read in that order)."""
    depth: dict[str, int] = {}

    def depth_of(urn: str) -> int:
        if urn not in depth:
            reg = registrations[urn]
            before = [u for u in (reg["parent"], *reg["deps"]) if u in registrations and u != urn]
            depth[urn] = 1 + max(map(depth_of, before), default=-1)
        return depth[urn]

    return sorted(registrations, key=lambda u: (depth_of(u), registrations[u]["name"], registrations[u]["type"], u))


def sorted_keys(value: Any) -> Any:
    """Objects with their keys sorted: they cross the mock monitor as protobuf Structs, whose
    key order differs between processes."""
    if isinstance(value, dict):
        return {k: sorted_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value
