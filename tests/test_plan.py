"""`./lab plan`: the offline plan, the lab model's cost and time, and the outputs they feed."""

import dataclasses
from collections import Counter
import datetime as dt
import io
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml

from labtools import UsageError, manifests, plan, plan_text, simulate
from labtools.simulate import ROOT
from stacks import estimates, prices
from stacks.model import lab_model
from tests.graph_checks import billed, graph_nodes
from tests.programs import run_lab, run_program

LB = "aws:lb/loadBalancer:LoadBalancer"
GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
PRICES_DAY = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)  # prices.PRICES_AS_OF
# statusUpdateRequeueTime in controllers/gateway/gateway_controller.go of the controller v3.5.0.
UPSTREAM_GATEWAY_REQUEUE_MINUTES = 2


def settings_for(overrides=None):
    graph = run_lab(overrides)
    return graph, lab_model(plan_settings(overrides))


def plan_settings(overrides=None):
    return plan.stack_settings(overrides=overrides)


def report_of(overrides=None):
    graph, model = settings_for(overrides)
    return graph, model, plan.build_report(graph, model)


@pytest.fixture(scope="module")
def default():
    return report_of()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("manifests")
    out, err = io.StringIO(), io.StringIO()
    code = plan.run(SimpleNamespace(stack="dev", manifests=folder, json=True, diagram=None), out, err)
    assert code == 0, err.getvalue()
    return folder, json.loads(out.getvalue()), err.getvalue()


# --- what it lists --------------------------------------------------------

def test_every_kubernetes_object_has_a_file(written):
    folder, report, _ = written
    files = {p.name: yaml.safe_load(p.read_text()) for p in folder.glob("*.yaml")}
    objects = {(m["kind"], m["metadata"]["name"], m["metadata"].get("namespace"))
               for m in run_lab().manifests()}
    in_files = {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace"))
                for name, o in files.items() if not name.startswith("helm-")}
    assert in_files == objects
    # named as the posts name things
    for name in ("service-app-nodeport-svc.yaml", "deployment-app1-deploy.yaml", "ingress-app-ingress.yaml"):
        assert name in files
    assert sorted(report["manifests"]["files"]) == sorted(files)


def test_helm_values_files_say_which_chart(written):
    folder, _, _ = written
    text = (folder / "helm-traefik-values.yaml").read_text()
    assert "# chart traefik, version 41.3.0, repo https://traefik.github.io/charts" in text
    assert yaml.safe_load(text)["ports"]["websecure"]["nodePort"] == 30843
    assert {p.name for p in folder.glob("helm-*")} == {
        "helm-aws-load-balancer-controller-values.yaml", "helm-ingress-nginx-values.yaml", "helm-traefik-values.yaml"}


def test_secrets_never_reach_the_files(written):
    folder, _, _ = written
    assert not [p.name for p in folder.glob("*") if "PRIVATE KEY" in p.read_text()]
    secret = yaml.safe_load((folder / "secret-traefik-lab-tls.yaml").read_text())
    assert secret["stringData"] == {"tls.crt": manifests.REDACTED, "tls.key": manifests.REDACTED}


def test_stale_files_of_a_module_turned_off_go_but_others_stay(tmp_path):
    (tmp_path / "notes.yaml").write_text("mine: true\n")
    manifests.write_manifests(run_lab(), tmp_path, "dev")
    assert (tmp_path / "ingress-traefik-ingress.yaml").exists()
    manifests.write_manifests(run_lab({"lab:modules": {"traefik": False}}), tmp_path, "dev")
    assert not (tmp_path / "ingress-traefik-ingress.yaml").exists()
    assert (tmp_path / "notes.yaml").exists()


def test_a_file_the_plan_did_not_write_is_never_replaced(tmp_path):
    mine = tmp_path / "service-app-nodeport-svc.yaml"
    mine.write_text("# my own notes\n")
    with pytest.raises(UsageError, match="service-app-nodeport-svc.yaml"):
        manifests.write_manifests(run_lab(), tmp_path, "dev")
    assert mine.read_text() == "# my own notes\n"
    assert [p.name for p in tmp_path.iterdir()] == [mine.name]  # nothing written at all


def test_colliding_names_get_the_namespace():
    objs = [{"kind": "Service", "metadata": {"name": "x", "namespace": "a"}},
            {"kind": "Service", "metadata": {"name": "x", "namespace": "b"}},
            {"kind": "Namespace", "metadata": {"name": "x"}}]
    assert manifests.manifest_names(objs) == ["service-a-x.yaml", "service-b-x.yaml", "namespace-x.yaml"]


def test_every_resource_is_in_the_tree(default):
    graph, _, _ = default
    out = io.StringIO()
    report = {**default[2], "manifests": {"dir": "/x", "files": []}}
    plan_text.print_report(report, graph, out)
    text = out.getvalue()
    tree = text.split("Counts by type")[0]
    for r in graph.resources:
        assert any(r.name in line and r.type in line for line in tree.splitlines()), (r.type, r.name)
    assert max(len(line) for line in text.splitlines()) <= 100


# --- cost -----------------------------------------------------------------

def test_costs_add_up(default):
    _, _, report = default
    items = report["costItems"]
    assert sum(i["usdHour"] for i in items) == pytest.approx(report["hourlyCostUsd"], abs=1e-4)
    assert report["dailyCostUsd"] == pytest.approx(24 * report["hourlyCostUsd"], abs=0.01)
    for i in items:
        assert i["usdHour"] == pytest.approx(i["quantity"] * i["unitUsdHour"])


def test_default_lab_cost_by_hand(default):
    _, _, report = default
    p = prices.PRICES["ap-northeast-2"]
    nodes = 2 + 1
    by_hand = (0.10                      # EKS control plane, 1.36 in standard support
               + nodes * 0.026           # t3.small
               + nodes * 20 * 0.0912 / 730  # gp3 root volumes
               + 1 * 0.059               # one NAT gateway (single)
               + 4 * 0.0225              # NLB app-lb-svc, ALB of the group, Traefik's NLB, ALB of the Gateway
               + (1 + 1 + 2 + 2 + 2 + 2) * 0.005)  # NAT EIP, public node, 2 zones x 4 load balancers
    assert report["hourlyCostUsd"] == pytest.approx(by_hand, abs=1e-4)
    assert (p.ec2["t3.small"], p.nat_gateway, p.public_ipv4) == (0.026, 0.059, 0.005)
    assert report["moduleCostsUsd"] == pytest.approx(
        {"loadBalancerController": 0.0, "nlb": 0.0325, "alb": 0.0325, "ingressNginx": 0.0, "traefik": 0.0325,
         "gatewayApi": 0.0325})


def test_traefik_off_removes_its_nlb_and_cost(default):
    graph, _, report = report_of({"lab:modules": {"traefik": False}})
    assert graph.of_type(LB) == []
    assert "traefik" not in report["moduleCostsUsd"]
    assert not [i for i in report["costItems"] if "traefik" in i["what"]]
    assert report["hourlyCostUsd"] == pytest.approx(default[2]["hourlyCostUsd"] - 0.0325, abs=1e-4)


def test_nginx_as_load_balancer_adds_one_nlb(default):
    _, _, report = report_of({"lab:ingressNginx": {"serviceType": "LoadBalancer"}})
    nlbs = [i for i in report["costItems"] if i["what"].startswith("NLB") and i["module"] == "ingressNginx"]
    assert len(nlbs) == 1
    assert report["moduleCostsUsd"]["ingressNginx"] == pytest.approx(0.0225 + 2 * 0.005)
    assert report["hourlyCostUsd"] == pytest.approx(default[2]["hourlyCostUsd"] + 0.0325, abs=1e-4)


def control_plane_problems(overrides: dict, run=run_lab) -> list[str]:
    """The plan's control-plane line names the support type the program gives the cluster, at its price."""
    graph = run(overrides, now=PRICES_DAY)
    support = graph.one("eks:index:Cluster").inputs.get("upgradePolicy", {}).get("supportType", "EXTENDED (EKS's default)")
    report = plan.build_report(graph, lab_model(plan.stack_settings(now=PRICES_DAY, overrides=overrides)))
    (line,) = [i for i in report["costItems"] if i["what"].startswith("EKS control plane")]
    price = {"STANDARD": 0.10, "EXTENDED": 0.60}.get(support)
    if f"(upgradePolicy {support})" not in line["what"] or line["unitUsdHour"] != price:
        return [f"the cluster's supportType is {support}, the plan says {line['what']!r} at ${line['unitUsdHour']}/h"]
    return []


@pytest.mark.parametrize("overrides, support", [
    (None, "STANDARD"),
    ({"lab:allowExtendedSupport": True}, "STANDARD"),  # allowed, not needed: 1.36 is in standard support
    ({"lab:kubernetesVersion": "1.33", "lab:allowExtendedSupport": True}, "EXTENDED"),  # past it since July
], ids=["default", "allowed-unneeded", "extended"])
def test_the_control_plane_is_priced_at_the_clusters_support_type(overrides, support):
    assert control_plane_problems(overrides or {}) == []
    graph = run_lab(overrides, now=PRICES_DAY)
    assert graph.one("eks:index:Cluster").inputs["upgradePolicy"] == {"supportType": support}


def test_a_cost_line_unlike_the_cluster_is_caught(monkeypatch):
    # A control-plane price that ignores the cluster's support type.
    monkeypatch.setattr(prices, "_unit", lambda item, s, p: 0.60 if item.kind == "control-plane" else 0.0)
    # The patched prices, so the program's run too (not the kept one).
    assert "the cluster's supportType is STANDARD" in control_plane_problems({}, simulate.run_lab)[0]


def test_a_region_without_prices_says_which_regions_the_table_covers():
    model = lab_model(dataclasses.replace(plan_settings(), region="eu-west-1"))
    with pytest.raises(prices.PriceError, match="ap-northeast-2, us-east-1"):
        prices.cost_items(model)
    assert prices.hourly_usd(model) is None


def test_an_instance_type_without_a_price_is_named():
    model = lab_model(plan_settings({"lab:privateNodeGroup": {"instanceType": "m5.large", "desiredSize": 2,
                                                              "minSize": 2, "maxSize": 3}}))
    with pytest.raises(prices.PriceError, match="instance type m5.large .*ng-private.* it knows t3.small"):
        prices.cost_items(model)


# --- time -----------------------------------------------------------------

def test_critical_path_of_the_default_lab(default):
    _, _, report = default
    chain = [(x["type"], x["name"]) for x in report["criticalPath"]]
    assert ("eks:index:Cluster", "eks-test") in chain
    # ends at the Gateway's routes: the Gateway is awaited until its ALB is active, and its
    # HTTPRoutes come after it (the ALB Ingress ends 0.2 min sooner: its wait is the last step).
    assert chain[-1] == ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "app-route")  # ties by name
    assert [name for _, name in chain[-5:-1]] == ["aws-load-balancer-controller", "lab-gateway-targets",
                                                  "lab-gateway-lb", "lab-gateway"]
    assert report["provisionMinutes"] == pytest.approx(sum(x["minutes"] for x in report["criticalPath"]), abs=0.1)
    assert 15 <= report["provisionMinutes"] <= 30


def test_adding_an_edge_changes_the_critical_chain(default):
    graph, _, report = default
    graph = dataclasses.replace(graph, resources=[dataclasses.replace(r) for r in graph.resources])
    nlb = graph.one(LB)
    last = report["criticalPath"][-1]
    slow = graph.one(last["type"], last["name"])
    nlb.deps = [*nlb.deps, slow.urn]  # the Traefik NLB now waits for the end of the longest chain
    minutes, steps = estimates.critical_path(graph_nodes(graph))
    names = [s.name for s in steps]
    assert names[names.index(last["name"]) + 1] == "traefik-nlb"
    assert minutes == pytest.approx(report["provisionMinutes"] + 3.0 + estimates.SECONDS, abs=0.1)


def gateway_problems(minutes: dict) -> list[str]:
    """The Gateway is ready at the controller's first status check after its ALB is active."""
    took, period, alb = minutes[GATEWAY][0], UPSTREAM_GATEWAY_REQUEUE_MINUTES, estimates.LOAD_BALANCER[0]
    if took % period or not took - period < alb <= took:
        return [f"Gateway {took} min: the controller writes Programmed on a check every {period} min, "
                f"the first after its ALB is active (~{alb} min)"]
    return []


def test_the_gateway_waits_for_the_controllers_status_check():
    assert estimates.GATEWAY_STATUS_REQUEUE == UPSTREAM_GATEWAY_REQUEUE_MINUTES
    assert gateway_problems(estimates.MINUTES) == []
    assert estimates.MINUTES[GATEWAY][0] == 4.0  # ALB ~3 min: checks at 0, 2 (still provisioning), 4
    for took in (3.0, 6.0):  # the ALB's time alone; a check late
        assert gateway_problems({GATEWAY: (took, "")}), took
    assert [estimates.first_check_after(t, 2.0) for t in (0.0, 1.5, 2.0, 2.5)] == [0.0, 2.0, 2.0, 4.0]


def floor_minutes() -> float:
    """VPC -> subnet -> EKS cluster -> a node group -> the controller release -> the slowest load
    balancer to be ready (the Gateway's, reported at the controller's next status check)."""
    m = estimates.MINUTES
    return (m["aws:ec2/vpc:Vpc"][0] + m["aws:ec2/subnet:Subnet"][0] + m["eks:index:Cluster"][0]
            + m["eks:index:ManagedNodeGroup"][0] + m["kubernetes:helm.sh/v3:Release"][0]
            + max(estimates.LOAD_BALANCER[0], m[GATEWAY][0]))


def over_the_floor(minutes: float) -> list[str]:
    limit = 1.05 * floor_minutes()
    return [] if minutes <= limit else [f"{minutes:.1f} min to a ready lab, over 105% of the floor ({limit:.1f})"]


# ingress-nginx as LoadBalancer is longer by design: its chart's Service needs the controller's
# webhook, and the release's await includes that NLB (release + NLB after the controller).
@pytest.mark.parametrize("overrides", [None, {"lab:natGateways": "perAz"}], ids=["default", "perAz"])
def test_the_critical_path_is_at_the_floor(overrides):
    graph, model, report = report_of(overrides)
    assert over_the_floor(report["provisionMinutes"]) == []
    assert over_the_floor(estimates.critical_path(graph_nodes(graph))[0]) == []  # the program's own edges


def test_an_avoidable_edge_puts_the_path_over_the_floor(default):
    graph, _, _ = default
    graph = dataclasses.replace(graph, resources=[dataclasses.replace(r) for r in graph.resources])
    ingress = graph.one("kubernetes:networking.k8s.io/v1:Ingress", "alb-ingress")
    ingress.deps = [*ingress.deps, graph.one("kubernetes:core/v1:Service", "app-lb-svc").urn]  # the old edge
    assert over_the_floor(estimates.critical_path(graph_nodes(graph))[0]) != []


def test_every_type_of_the_lab_has_a_documented_time(default):
    graph, _, _ = default
    types = {r.type for r in graph.resources if not r.type.startswith(estimates.COMPONENT_PREFIX)}
    assert types <= set(estimates.MINUTES)
    assert all(reason for _, reason in estimates.MINUTES.values())


# --- the lab model against the program it describes ----------------------

COMBOS = {
    "default": None,
    "all off": {"lab:modules": {k: False for k in ("loadBalancerController", "nlb", "alb", "ingressNginx", "traefik",
                                                               "gatewayApi")}},
    "only nginx as LoadBalancer": {
        "lab:modules": {"loadBalancerController": True, "nlb": False, "alb": False, "ingressNginx": True,
                        "traefik": False, "gatewayApi": False},
        "lab:ingressNginx": {"serviceType": "LoadBalancer"}},
    "perAz NAT": {"lab:natGateways": "perAz"},
    "larger node groups": {
        "lab:privateNodeGroup": {"instanceType": "t3.small", "desiredSize": 4, "minSize": 2, "maxSize": 5},
        "lab:publicNodeGroup": {"instanceType": "t3.small", "desiredSize": 2, "minSize": 1, "maxSize": 3}},
    "traefik only": {"lab:modules": {"loadBalancerController": False, "nlb": False, "alb": False, "gatewayApi": False,
                                     "ingressNginx": False, "traefik": True}},
}


@pytest.mark.parametrize("overrides", COMBOS.values(), ids=COMBOS.keys())
def test_the_model_bills_what_the_program_registers(overrides):
    graph, model, report = report_of(overrides)
    assert graph.outputs["estimatedHourlyCostUsd"] == pytest.approx(report["hourlyCostUsd"], abs=1e-4)
    assert Counter((i.kind, i.quantity) for i in model.priced) == billed(graph)


@pytest.mark.parametrize("overrides", COMBOS.values(), ids=COMBOS.keys())
def test_the_models_longest_chain_is_the_programs(overrides):
    graph, model, report = report_of(overrides)
    assert graph.outputs["estimatedProvisionMinutes"] == report["provisionMinutes"]
    program_minutes, program_chain = estimates.critical_path(graph_nodes(graph))
    assert [(x["type"], x["name"]) for x in report["criticalPath"]] == [(x.type, x.name) for x in program_chain]
    assert report["provisionMinutes"] == pytest.approx(program_minutes, abs=0.05)


def test_a_billable_resource_the_model_misses_is_caught(default):
    graph, model, _ = default
    broken = dataclasses.replace(graph, resources=[r for r in graph.resources
                                                   if r.type != "aws:lb/loadBalancer:LoadBalancer"])
    assert Counter((i.kind, i.quantity) for i in model.priced) != billed(broken)


def test_perAz_nat_and_bigger_groups_cost_more(default):
    base = default[2]["hourlyCostUsd"]
    assert report_of(COMBOS["perAz NAT"])[2]["hourlyCostUsd"] == pytest.approx(base + 0.059 + 0.005, abs=1e-4)
    bigger = report_of(COMBOS["larger node groups"])[2]["hourlyCostUsd"]
    assert bigger == pytest.approx(base + 3 * (0.026 + 20 * 0.0912 / 730) + 0.005, abs=1e-4)


# --- the command ----------------------------------------------------------

def test_json_has_the_keys(written):
    _, report, err = written
    for key in ("resources", "hourlyCostUsd", "dailyCostUsd", "costItems", "moduleCostsUsd",
                "provisionMinutes", "criticalPath", "entrypoints", "entrypointSources"):
        assert key in report
    assert {"type", "name"} <= set(report["resources"][0])
    assert "simulating the program" in err


def test_packet_paths(default):
    _, _, report = default
    e = report["entrypoints"]
    assert set(e) == {"nodeport", "nodeport-local", "nlb", "alb", "alb-hosts", "nginx", "traefik", "gateway"}
    assert ("client -> DNS myapp.example.com -> NLB eks-test-traefik :443 (TCP) -> node:30843 (NodePort) "
            "-> kube-proxy -> Traefik pod websecure (TLS ends) -> Ingress traefik-ingress rule "
            "myapp.example.com/api -> Service my-app-service:80 -> pod app1 :8080") in e["traefik"].splitlines()
    assert e["nodeport"].startswith("client -> public node (ng-public) :30001 (NodePort) -> kube-proxy (SNAT")
    assert "Service app-nodeport-svc:3000 -> pod app1 :8080 (any node)" in e["nodeport"]
    assert "no SNAT" in e["nodeport-local"] and "on that node" in e["nodeport-local"]
    assert "instance targets" in e["nlb"] and "node:NodePort" in e["nlb"]
    assert "NodePort" not in e["alb"].replace("no NodePort", "") and "pod IP, directly" in e["alb"]
    assert ":30080 (NodePort)" in e["nginx"] and "/v1/x becomes /x) -> Service app1-svc:3000 -> pod app1 :8080" in e["nginx"]
    gateway = e["gateway"].splitlines()
    assert ("client -> DNS (the ALB's name, known after up) -> ALB eks-test-gateway HTTP :80 (Gateway lab-gateway, "
            "class alb) -> HTTPRoute app-route rule /v1 (PathPrefix) -> rewrite ReplacePrefixMatch: /v1/x becomes /x "
            "-> Service app1-svc:3000 (ip targets: no NodePort) -> pod app1 :8080 (pod IP, directly)") in gateway
    assert sum("header x-lab-canary: always -> Service app2-svc" in p for p in gateway) == 1
    assert sum("weight 80 of 100 -> Service app1-svc" in p for p in gateway) == 1
    assert sum("weight 20 of 100 -> Service app2-svc" in p for p in gateway) == 1


def _text(graph, report) -> str:
    out = io.StringIO()
    plan_text.print_report({**report, "manifests": {"dir": "/x", "files": []}}, graph, out)
    return out.getvalue()


def test_plan_says_who_may_reach_each_entry_point(default):
    graph, _, report = default
    assert set(report["entrypointSources"]) == set(report["entrypoints"])
    assert report["entrypointSources"]["alb"] == {
        "cidrs": ["0.0.0.0/0"], "by": "the ALB's security group, from the inbound-cidrs of every Ingress of its group"}
    assert "0.0.0.0/0 is anyone: narrow lab:clientCidrs" in _text(graph, report)
    graph, _, narrowed = report_of({"lab:clientCidrs": ["198.51.100.7/32"]})
    assert {e["cidrs"][0] for e in narrowed["entrypointSources"].values()} == {"198.51.100.7/32"}
    section = _text(graph, narrowed).split("Who may reach each entry point (lab:clientCidrs)\n")[1]
    assert "  nlb:            198.51.100.7/32 via the NLB's security group, from app-lb-svc's" in section
    assert "0.0.0.0/0" not in section


def test_nginx_path_through_its_nlb():
    _, _, report = report_of({"lab:ingressNginx": {"serviceType": "LoadBalancer"}})
    assert "NLB :80 (TCP, ip targets) -> ingress-nginx controller pod" in report["entrypoints"]["nginx"]


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "labtools", "plan", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_bad_setting_exits_2_with_the_settings_message(tmp_path, monkeypatch, capsys):
    from labtools.__main__ import main

    _, error = run_program({"lab:nodePort": 5})
    (tmp_path / "Pulumi.bad.yaml").write_text(
        (simulate.settings_dir() / "Pulumi.dev.yaml").read_text() + "  lab:nodePort: 5\n")
    monkeypatch.setenv("LAB_SETTINGS_DIR", str(tmp_path))
    capsys.readouterr()
    assert main(["plan", "--stack", "bad", "--manifests", str(tmp_path / "m")]) == 2
    captured = capsys.readouterr()
    assert str(error) in captured.err and "lab:nodePort = 5" in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "m").exists()  # nothing written for a lab that cannot be built


def test_unknown_stack_names_the_file_and_the_stacks():
    done = _cli("--stack", "nope")
    assert done.returncode == 2
    assert "Pulumi.nope.yaml" in done.stderr and "stacks available: dev" in done.stderr


def test_plan_shows_pods_used_and_free_per_node_group(written):
    _, report, _ = written
    groups = {g["name"]: g for g in report["pods"]["groups"]}
    assert groups["ng-public"] == {"name": "ng-public", "nodes": 1, "instanceType": "t3.small", "capacity": 11,
                                   "daemonsets": 2, "apps": 3, "free": 6}
    assert report["pods"]["freeAfterShared"] == 12


def test_diagram_to_stdout_and_to_a_file(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    args = SimpleNamespace(stack="dev", manifests=tmp_path / "m", json=False, diagram="-")
    assert plan.run(args, out, err) == 0
    assert out.getvalue().startswith("flowchart LR\n") and "ALB eks-test-lab" in out.getvalue()
    assert not (tmp_path / "m").exists()  # only the chart
    args = SimpleNamespace(stack="dev", manifests=tmp_path / "m", json=True, diagram=str(tmp_path / "lab.mmd"))
    assert plan.run(args, io.StringIO(), io.StringIO()) == 0
    assert (tmp_path / "lab.mmd").read_text() == out.getvalue()
