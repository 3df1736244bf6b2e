"""`python -m stacks plan`: see the lab before paying for it.

Runs the real program offline under the simulated cloud (stacks/simulate.py),
with the stack's settings validated exactly as `pulumi up` would, and shows
what it would build: the resource tree, every Kubernetes object as YAML, the
hourly cost (stacks/prices.py), the time to a ready lab (stacks/estimates.py)
and each entry point's packet path. Nothing is created; no credentials needed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import pulumi
import yaml

from stacks import estimates, prices, simulate
from stacks.config_reader import NAMESPACE
from stacks.lifecycle import UsageError
from stacks.settings import LabSettings, load
from stacks.simulate import Graph, Resource, plain, as_pulumi_passes, run_program, stack_config

WIDTH = 100
REDACTED = "<redacted: a Pulumi secret>"
MARKER = "# Written by `python -m stacks plan`"  # first line of every file we own (and may replace)
COMPONENT_PREFIX = estimates.COMPONENT_PREFIX


# --- arguments ------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", metavar="NAME",
                        help="read Pulumi.NAME.yaml (default %(default)s)")
    parser.add_argument("--manifests", default="manifests", metavar="DIR", type=Path,
                        help="folder for the Kubernetes objects and Helm values (default ./%(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Show what the lab would build, cost and take, offline (no AWS, no Pulumi CLI)."""
    out, err = out or sys.stdout, err or sys.stderr
    _check_stack(args.stack)
    if args.manifests.exists() and not args.manifests.is_dir():
        raise UsageError(f"argument --manifests: {args.manifests} exists and is not a folder")
    now = dt.datetime.now(dt.timezone.utc)

    print(f"plan: simulating the program for stack {args.stack} (offline, nothing is created)...", file=err)
    with contextlib.redirect_stdout(err):  # keep stdout for the plan (one JSON object with --json)
        graph, error = run_program(stack=args.stack, now=now)
    if error is not None:
        return _program_failed(error, err)
    settings = stack_settings(args.stack, now)

    k8s_count = len(graph.k8s_objects())
    print(f"plan: writing {k8s_count} manifests and the Helm values to {args.manifests}/...", file=err)
    files = write_manifests(graph, args.manifests, args.stack)
    report = build_report(graph, settings, now.date())
    report["manifests"] = {"dir": str(args.manifests.resolve()), "files": [f.name for f in files]}
    if args.json:
        json.dump(report, out, indent=2)
        print(file=out)
    else:
        print_report(report, graph, out)
    return 0


def _check_stack(stack: str) -> None:
    root = simulate.ROOT  # looked up here: tests point it at a folder of their own
    if not (root / f"Pulumi.{stack}.yaml").is_file():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise UsageError(f"argument --stack: no Pulumi.{stack}.yaml in {root}; "
                         f"stacks available: {', '.join(known) or '(none)'}")


def _program_failed(error: BaseException, err: TextIO) -> int:
    if isinstance(error, pulumi.RunError):  # the program's own message: bad settings
        print(f"plan: {error}", file=err)
        return 2
    print(f"plan: the program failed under the simulated cloud: {type(error).__name__}: {error}", file=err)
    return 1


def stack_settings(stack: str, now: dt.datetime) -> LabSettings:
    """The settings as the program read them (run_program has validated them already)."""
    config = as_pulumi_passes(stack_config(stack))
    prefix = f"{NAMESPACE}:"
    raw = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    return load(raw, config.get("aws:region"), stack, now)


# --- the graph, as the models see it --------------------------------------

def component_of(graph: Graph, r: Resource) -> str:
    """Type of the lab component that holds `r` ("" at the top level)."""
    by_urn = {x.urn: x for x in graph.resources}
    parent = by_urn.get(r.parent)
    while parent is not None and not parent.type.startswith(COMPONENT_PREFIX):
        parent = by_urn.get(parent.parent)
    return parent.type if parent else ""


def priced(graph: Graph) -> list[prices.Res]:
    return [prices.Res(r.type, r.name, r.inputs, component_of(graph, r)) for r in graph.resources]


def nodes(graph: Graph) -> list[estimates.Node]:
    """The dependency graph with the waits estimates.py names: providers, pods on nodes, children."""
    urns = {r.urn for r in graph.resources}
    node_groups = [r.urn for r in graph.of_type(estimates.NODE_GROUP)]
    out = []
    for r in graph.resources:
        preds = list(r.deps)
        provider = r.provider.rsplit("::", 1)[0] if r.provider else ""
        if provider in urns:
            preds.append(provider)
        if r.type in estimates.RUNS_PODS:
            preds += node_groups
        preds += [c.urn for c in graph.children(r)]
        out.append(estimates.Node(r.urn, r.type, r.name, preds, r.inputs))
    return out


# --- the report -----------------------------------------------------------

def build_report(graph: Graph, s: LabSettings, today: dt.date) -> dict[str, Any]:
    report: dict[str, Any] = {
        "stack": s.stack, "region": s.region,
        "resources": [{"type": r.type, "name": r.name, "component": component_of(graph, r) or None}
                      for r in graph.resources],
        "counts": dict(sorted(Counter(r.type for r in graph.resources).items())),
    }
    report.update(cost_report(graph, s, today))
    minutes, steps = estimates.critical_path(nodes(graph))
    report["provisionMinutes"] = round(minutes, 1)
    report["criticalPath"] = [{"type": x.type, "name": x.name, "minutes": x.minutes} for x in steps]
    report["entrypoints"] = {name: "\n".join(" -> ".join(p) for p in paths)
                             for name, paths in packet_paths(graph, s).items()}
    return report


def cost_report(graph: Graph, s: LabSettings, today: dt.date) -> dict[str, Any]:
    try:
        items = prices.cost_items(s, priced(graph), today)
    except prices.PriceError as err:
        return {"hourlyCostUsd": None, "dailyCostUsd": None, "costItems": [], "moduleCostsUsd": {},
                "costError": str(err), "pricesAsOf": prices.PRICES_AS_OF.isoformat()}
    hourly = prices.hourly(items)
    return {
        "hourlyCostUsd": round(hourly, 4), "dailyCostUsd": round(24 * hourly, 2),
        "costItems": [{"what": i.what, "module": i.module, "quantity": i.quantity,
                       "unitUsdHour": i.unit_usd_hour, "usdHour": i.usd_hour} for i in items],
        "moduleCostsUsd": {k: round(v, 4) for k, v in prices.module_costs(s, items).items()},
        "pricesAsOf": prices.PRICES_AS_OF.isoformat(),
    }


def print_report(report: dict[str, Any], graph: Graph, out: TextIO) -> None:
    def p(line: str = "") -> None:
        print(line, file=out)

    p(f"Plan of stack {report['stack']} in {report['region']}: simulated offline, nothing was created.")
    p()
    _print_tree(graph, p)
    _print_counts(report["counts"], p)
    m = report["manifests"]
    p(f"Kubernetes objects and Helm values: {len(m['files'])} files in {m['dir']}")
    p("  (Secrets redacted; IDs and ARNs in them are the simulation's placeholders)")
    p()
    _print_costs(report, p)
    _print_time(report, p)
    p("Packet paths (entry points of the stack output `entrypoints`)")
    for name, text in report["entrypoints"].items():
        for i, line in enumerate(text.splitlines()):
            p(_wrap(line, f"  {name + ':' if i == 0 else '':<16}"))


def _wrap(path: str, head: str) -> str:
    """A packet path folded at arrows to fit WIDTH columns."""
    lines, line = [], head
    for i, step in enumerate(path.split(" -> ")):
        piece = step if i == 0 else f" -> {step}"
        if len(line) + len(piece) > WIDTH and line.strip():
            lines.append(line)
            line = " " * (len(head) + 2) + piece.lstrip()
        else:
            line += piece
    return "\n".join([*lines, line])


def _print_tree(graph: Graph, p) -> None:
    p(f"Resources ({len(graph.resources)}) by component")
    components = [r for r in graph.resources if r.type.startswith(COMPONENT_PREFIX)]
    top = [r for r in graph.resources if r.parent not in {x.urn for x in graph.resources}
           and not r.type.startswith(COMPONENT_PREFIX)]
    for c in components:
        inside = _descendants(graph, c)
        p(f"  {c.type} {c.name} ({len(inside)})")
        for r in inside:
            p(f"    {r.name:<36} {r.type}")
    if top:
        p(f"  (top level) ({len(top)})")
        for r in top:
            p(f"    {r.name:<36} {r.type}")
    p()


def _descendants(graph: Graph, parent: Resource) -> list[Resource]:
    found = []
    for child in graph.children(parent):
        found += [child, *_descendants(graph, child)]
    return found


def _print_counts(counts: dict[str, int], p) -> None:
    p("Counts by type")
    for type_, n in counts.items():
        p(f"  {n:>3}  {type_}")
    p()


def _print_costs(report: dict[str, Any], p) -> None:
    p(f"Estimated cost in {report['region']} (on-demand list prices as of {report['pricesAsOf']},"
      " stacks/prices.py;")
    p("  without data transfer and LCU/NLCU usage: check the AWS pricing pages)")
    if report["hourlyCostUsd"] is None:
        p(f"  not estimated: {report['costError']}")
        p()
        return
    p(f"  {'item':<62} {'$/hour':>9}  module")
    for i in report["costItems"]:
        p(f"  {i['what'][:62]:<62} {i['usdHour']:>9.4f}  {i['module'] or '-'}")
    p(f"  {'total':<62} {report['hourlyCostUsd']:>9.4f}  = ${report['dailyCostUsd']:.2f} a day")
    p("  by module (those on; off ones cost nothing):")
    for k, v in report["moduleCostsUsd"].items():
        p(f"    {k:<24} ${v:.4f}/h")
    p()


def _print_time(report: dict[str, Any], p) -> None:
    p(f"Estimated time to a ready lab: ~{report['provisionMinutes']:.0f} min (longest dependency chain;"
      " typical figures,")
    p("  not guarantees: stacks/estimates.py)")
    total = 0.0
    for step in report["criticalPath"]:
        total += step["minutes"]
        p(f"  {total:>5.1f} min  +{step['minutes']:<4.1f} {step['name']:<30} {step['type']}")
    p()


# --- manifests ------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None  # the app's source stays readable
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def redact(value: Any) -> Any:
    """Every Pulumi secret replaced by a marker; nothing secret reaches a file."""
    from stacks.simulate import secret_value

    if secret_value(value) is not None:
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def manifest(r: Resource) -> dict[str, Any]:
    keys = ("apiVersion", "kind", "metadata", "spec", "data", "stringData", "type")
    obj = {k: r.inputs[k] for k in keys if k in r.inputs}
    if obj.get("kind") == "Secret":  # every value, secret-marked or not: keys only
        from stacks.simulate import secret_value

        for k in ("data", "stringData"):
            if k in obj:
                inner = secret_value(obj[k])
                obj[k] = {name: REDACTED for name in (inner if inner is not None else obj[k])}
    return plain(redact(obj))


def manifest_names(objs: list[dict[str, Any]]) -> list[str]:
    """kind-name.yaml, as the posts name things; kind-namespace-name.yaml when two collide."""
    def short(o: dict) -> str:
        return f"{o['kind'].lower()}-{o['metadata']['name']}"
    seen = Counter(short(o) for o in objs)
    return [f"{o['kind'].lower()}-{o['metadata'].get('namespace', 'cluster')}-{o['metadata']['name']}.yaml"
            if seen[short(o)] > 1 else f"{short(o)}.yaml" for o in objs]


def write_manifests(graph: Graph, folder: Path, stack: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.yaml"):  # a module turned off must not leave its files behind
        with old.open() as f:
            if f.readline().startswith(MARKER):
                old.unlink()
    header = f"{MARKER} for stack {stack}, from the simulated cloud (nothing created).\n"
    objs = [manifest(r) for r in graph.k8s_objects()]
    written = []
    for name, obj in zip(manifest_names(objs), objs):
        written.append(_write(folder / name, header, obj))
    for r in graph.of_type(prices.RELEASE):
        i = r.inputs
        repo = (i.get("repositoryOpts") or {}).get("repo", "?")
        head = header + f"# chart {i.get('chart')}, version {i.get('version')}, repo {repo}\n"
        written.append(_write(folder / f"helm-{i.get('name', r.name)}-values.yaml", head,
                              plain(redact(i.get("values") or {}))))
    return written


def _write(path: Path, header: str, obj: Any) -> Path:
    path.write_text(header + yaml.dump(obj, Dumper=_Dumper, sort_keys=False, default_flow_style=False))
    return path


# --- packet paths ---------------------------------------------------------

class _Lab:
    """Lookups over the graph for the packet paths."""

    def __init__(self, graph: Graph, s: LabSettings):
        self.graph, self.s = graph, s

    def spec(self, kind: str, name: str) -> dict:
        return plain(self.graph.k8s(kind, name).inputs.get("spec") or {})

    def annotations(self, kind: str, name: str) -> dict:
        return self.graph.k8s(kind, name).inputs.get("metadata", {}).get("annotations") or {}

    def pod(self, app: str, target_port: Any) -> str:
        """`pod app1 :8080`, the Service's targetPort resolved through the Deployment's ports."""
        port = target_port
        for d in self.graph.k8s_objects():
            if d.inputs["kind"] == "Deployment" and d.inputs["metadata"].get("labels", {}).get("app") == app:
                for c in plain(d.inputs["spec"])["template"]["spec"]["containers"]:
                    for cp in c.get("ports", []):
                        if target_port in (cp.get("name"), cp["containerPort"]):
                            port = cp["containerPort"]
        return f"pod {app} :{port}"

    def backend(self, service: str, port: Any) -> list[str]:
        spec = self.spec("Service", service)
        (sp,) = [x for x in spec["ports"] if port in (x.get("port"), x.get("name"))]
        return [f"Service {service}:{sp['port']}", self.pod(spec["selector"]["app"], sp["targetPort"])]

    def rules(self, ingress: str) -> list[tuple[str | None, str, str, str, Any]]:
        """(host, path, pathType, service, port) per path of the Ingress."""
        found = []
        for rule in self.spec("Ingress", ingress)["rules"]:
            for p in rule["http"]["paths"]:
                svc = p["backend"]["service"]
                port = svc["port"].get("number", svc["port"].get("name"))
                found.append((rule.get("host"), p["path"], p["pathType"], svc["name"], port))
        return found


def packet_paths(graph: Graph, s: LabSettings) -> dict[str, list[list[str]]]:
    """Each entry point's way in, step by step, as post 004 draws it."""
    lab = _Lab(graph, s)
    builders = {"nodeport": _nodeport, "nodeport-local": _nodeport, "nlb": _nlb, "alb": _alb,
                "alb-hosts": _alb, "nginx": _nginx, "traefik": _traefik}
    paths = {}
    for name, entry in (graph.outputs.get("entrypoints") or {}).items():
        build = builders.get(name)
        paths[name] = build(lab, entry) if build else [["(no packet path known to stacks/plan.py)"]]
    return paths


def _nodeport(lab: _Lab, entry: dict) -> list[list[str]]:
    svc = entry["service"]
    spec = lab.spec("Service", svc)
    (port,) = spec["ports"]
    local = spec.get("externalTrafficPolicy") == "Local"
    proxy = ("kube-proxy (externalTrafficPolicy Local: no SNAT, the client address is kept)" if local
             else "kube-proxy (SNAT, externalTrafficPolicy Cluster)")
    service, pod = lab.backend(svc, port["port"])
    where = "(only pods on that node; a node without one drops it)" if local else "(any node)"
    return [["client", f"public node ({lab.s.public_nodes.name}) :{port['nodePort']} (NodePort)", proxy,
             service, f"{pod} {where}"]]


def _nlb(lab: _Lab, entry: dict) -> list[list[str]]:
    svc = entry["service"]
    spec = lab.spec("Service", svc)
    (port,) = spec["ports"]
    target = lab.annotations("Service", svc).get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type")
    service, pod = lab.backend(svc, port["port"])
    return [["client", "DNS (the NLB's name, known after up)",
             f"NLB of Service {svc} :{port['port']} (TCP, {target} targets)",
             "node:NodePort (assigned by Kubernetes)", "kube-proxy (SNAT, externalTrafficPolicy Cluster)",
             service, f"{pod} (any node)"]]


def _alb(lab: _Lab, entry: dict) -> list[list[str]]:
    ing = entry["ingress"]
    a = {k.rsplit("/", 1)[-1]: v for k, v in lab.annotations("Ingress", ing).items()}
    listen = ", ".join(f"{proto} :{port}" for x in json.loads(a.get("listen-ports", "[]")) for proto, port in x.items())
    front = ["client", "DNS (the ALB's name, known after up)",
             f"ALB {a.get('load-balancer-name', '')} {listen} (IngressGroup {a.get('group.name', ing)})"]
    paths = []
    for host, path, path_type, svc, port in lab.rules(ing):
        service, pod = lab.backend(svc, port)
        paths.append([*front, f"Ingress {ing} rule {host or '(any host)'} {path} ({path_type})",
                      f"{service} ({a.get('target-type')} targets: no NodePort)", f"{pod} (pod IP, directly)"])
    return paths


def _nginx(lab: _Lab, entry: dict) -> list[list[str]]:
    ing = entry["ingress"]
    values = plain(lab.graph.one(prices.RELEASE, "ingress-nginx").inputs["values"])
    service = values["controller"]["service"]
    if service["type"] == "NodePort":
        front = ["client", f"public node ({lab.s.public_nodes.name}) :{service['nodePorts']['http']} (NodePort)",
                 "kube-proxy"]
    else:
        target = service["annotations"].get("service.beta.kubernetes.io/aws-load-balancer-nlb-target-type")
        front = ["client", "DNS (the NLB's name, known after up)", f"NLB :80 (TCP, {target} targets)"]
    rewrite = lab.annotations("Ingress", ing).get("nginx.ingress.kubernetes.io/rewrite-target")
    paths = []
    for _, path, _, svc, port in lab.rules(ing):
        prefix = path.split("(")[0]
        paths.append([*front, "ingress-nginx controller pod :80",
                      f"Ingress {ing} rule {path} (rewrite {rewrite}: {prefix}/x becomes /x)", *lab.backend(svc, port)])
    return paths


def _traefik(lab: _Lab, entry: dict) -> list[list[str]]:
    g = lab.graph
    nlb = g.one(prices.AWS_LB).inputs["name"]
    values = plain(g.one(prices.RELEASE, "traefik").inputs["values"])
    node_ports = {int(tg.inputs["port"]): tg for tg in g.of_type("aws:lb/targetGroup:TargetGroup")}
    listeners = {}  # entry point name -> (listener port, node port)
    for lst in g.of_type("aws:lb/listener:Listener"):
        (action,) = lst.inputs["defaultActions"]
        tg = next(t for t in node_ports.values() if action["targetGroupArn"].endswith(f"/{t.name}"))
        ep = next(k for k, v in values["ports"].items() if v.get("nodePort") == int(tg.inputs["port"]))
        listeners[ep] = (int(lst.inputs["port"]), int(tg.inputs["port"]))
    ing = entry["ingress"]
    paths = []
    for host, path, _, svc, port in lab.rules(ing):
        lport, nport = listeners["websecure"]
        paths.append(["client", f"DNS {host}", f"NLB {nlb} :{lport} (TCP)", f"node:{nport} (NodePort)",
                      "kube-proxy", "Traefik pod websecure (TLS ends)", f"Ingress {ing} rule {host}{path}",
                      *lab.backend(svc, port)])
    if "web" in listeners:
        lport, nport = listeners["web"]
        redirect = values["ports"]["web"].get("http", {}).get("redirections", {}).get("entryPoint", {})
        paths.append(["client", "DNS (any host)", f"NLB {nlb} :{lport} (TCP)", f"node:{nport} (NodePort)",
                      "kube-proxy", "Traefik pod web",
                      f"redirect to {redirect.get('scheme', 'https')} ({redirect.get('to', '?')})"
                      if redirect else "routers of entry point web"])
    return paths

