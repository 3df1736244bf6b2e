"""`./lab destroy` when the lab's cluster is gone (labtools/gone_cluster.py): only EKS's
ResourceNotFoundException lets the Kubernetes side leave the state; a running cluster's
objects are deleted for real; a question EKS could not answer stops everything.

As functions with scripted tools, the drop plan on the real program's resources, the EKS
question against moto, and through the real ./lab with the strict fake CLI, whose destroy
fails on Kubernetes resources while their cluster is gone, as pulumi-kubernetes does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import boto3
import pytest
from botocore.stub import Stubber

from labtools import teardown_tools
from labtools.gone_cluster import Eks, Exported, StateResource, drop_plan, state_resources
from labtools.teardown import print_json, teardown
from tests.programs import run_lab
from tests.test_lab_destroy import REGION, lab_network, vpc_exists
from tests.test_lab_stacks import Project, moto_endpoint  # noqa: F401 (a fixture)
from tests.test_teardown import CLUSTER, STACK, Scripted

P = "urn:pulumi:ci-3::eks-networking-lab::"
K8S_PROVIDER = f"{P}lab:index:LabCluster$pulumi:providers:kubernetes::k8s"


def res(urn: str, *refs: str) -> StateResource:
    return StateResource(P + urn, urn.split("::")[0].split("$")[-1], frozenset(refs))


# A small lab's state, in the state's order: the provider, a release, a Service that waits for
# it, a yaml/v2 component with its CRD, and a component that holds only Kubernetes objects.
STATE = (
    res("lab:index:LabCluster$pulumi:providers:kubernetes::k8s"),
    res("aws:ec2/vpc:Vpc::vpc"),
    res("kubernetes:helm.sh/v3:Release::aws-load-balancer-controller", K8S_PROVIDER),
    res("lab:index:LabServices::services"),
    res("lab:index:LabServices$kubernetes:core/v1:Service::app-lb-svc", K8S_PROVIDER,
        P + "lab:index:LabServices::services", P + "kubernetes:helm.sh/v3:Release::aws-load-balancer-controller"),
    res("kubernetes:yaml/v2:ConfigFile::gateway-api-crds", K8S_PROVIDER),
    res("kubernetes:yaml/v2:ConfigFile$kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition::gateways",
        K8S_PROVIDER, P + "kubernetes:yaml/v2:ConfigFile::gateway-api-crds"),
)
K8S = [r.urn for r in reversed(STATE) if r.type.startswith("kubernetes:")]


def gone(**kw) -> Scripted:
    return Scripted(eks=Eks(), exported=Exported(STATE), **kw)


def down(script: Scripted, yes: bool = True):
    said: list[str] = []
    result = teardown(STACK, CLUSTER, "us-east-1", yes, script.tools(), say=said.append)
    return result, said


# --------------------------------------------------------------------------
# The sequence


def test_a_gone_clusters_kubernetes_side_leaves_the_state_then_the_aws_side_is_destroyed():
    script = gone()

    result, said = down(script)

    assert script.names() == ["export", "drop", "destroy", "sweep", "audit"]
    assert script.calls[1] == ("drop", STACK, tuple(K8S))  # dependents first
    assert result.exit_status == 0 and result.eks == "gone" and result.dropped == tuple(K8S)
    assert said[0] == (f"EKS has no cluster {CLUSTER} in us-east-1: any Kubernetes objects left in the state went "
                       "with it (Pulumi cannot delete them through an API server that is gone)")
    assert said[1].startswith(f"dropping 4 Kubernetes resources of stack {STACK} from the state")
    assert said[2:] == ["  - kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition gateways",
                        "  - kubernetes:core/v1:Service app-lb-svc",
                        "  - kubernetes:helm.sh/v3:Release aws-load-balancer-controller",
                        "  - kubernetes:yaml/v2:ConfigFile gateway-api-crds"]


def test_while_the_cluster_exists_nothing_is_dropped():
    for status in ("ACTIVE", "DELETING", "CREATING"):
        script = Scripted(destroys=[1, 1], eks=Eks(status), exported=Exported(STATE))
        result, said = down(script)
        assert "export" not in script.names() and "drop" not in script.names()
        assert result.eks == status and result.dropped == ()
        assert said == [f"EKS reports cluster {CLUSTER} in us-east-1 ({status}): its Kubernetes objects are deleted "
                        "through its API, nothing is dropped from the state"]


@pytest.mark.parametrize("error", ["DescribeCluster: AccessDeniedException: User: arn:aws:sts::1:assumed-role/x "
                                   "is not authorized to perform: eks:DescribeCluster",
                                   'DescribeCluster: Could not connect to the endpoint URL: "https://eks..."'])
def test_a_question_eks_could_not_answer_stops_everything(error):
    script = gone()
    script.eks = Eks(error=error)

    result, said = down(script)

    assert script.calls == [] and said == []
    assert result.exit_status == 2 and result.eks is None
    assert result.problems == (f"could not ask EKS whether cluster {CLUSTER} exists in us-east-1 ({error}): "
                               "nothing was dropped or destroyed. The Kubernetes side leaves the state only when EKS "
                               "says the cluster is gone: check the credentials (eks:DescribeCluster) and the "
                               "network, then run ./lab destroy again",)


def test_without_yes_the_drop_is_a_dry_run_and_nothing_is_destroyed():
    script = gone()

    result, said = down(script, yes=False)

    assert script.names() == ["export"]
    assert said[1] == f"dry run: 4 Kubernetes resources of stack {STACK} would be dropped from the state before " \
                      "pulumi destroy:"
    assert result.exit_status == 1 and result.problems[0].endswith(f"./lab destroy --stack {STACK} --yes")


def test_a_state_that_holds_no_kubernetes_resources_goes_straight_to_destroy():
    script = Scripted(eks=Eks(), exported=Exported(tuple(r for r in STATE if not r.type.startswith("kubernetes:"))))

    result, said = down(script, yes=False)

    assert script.names() == ["export", "destroy", "sweep", "audit"]
    assert said[1] == f"no Kubernetes resources left in the state of stack {STACK}: nothing to drop"
    assert result.exit_status == 0


@pytest.mark.parametrize("script, problem", [
    (Scripted(eks=Eks(), exported=Exported(None, "exit 1: incorrect passphrase")),
     f"could not read the state of stack {STACK} (pulumi stack export: exit 1: incorrect passphrase)"),
    (gone(drop=1), "pulumi state delete failed (its error is above): nothing was dropped, and nothing destroyed"),
    (Scripted(eks=Eks(), exported=Exported((*STATE, res("aws:iam/role:Role::r", K8S[0])))),
     f"{P}aws:iam/role:Role::r depends on the Kubernetes resource {K8S[0]}"),
], ids=["export fails", "state delete fails", "an AWS resource depends on one"])
def test_no_destroy_after_a_drop_that_could_not_be_made(script, problem):
    result, _ = down(script)

    assert "destroy" not in script.names()
    assert result.exit_status == 1 and result.problems[0].startswith(problem)


def test_the_json_twin_says_what_eks_said_and_what_was_dropped(capsys):
    print_json(down(gone())[0], sys.stdout)

    data = json.loads(capsys.readouterr().out)
    assert data["eks"] == "gone" and data["dropped"] == K8S and data["refused"] is False


# --------------------------------------------------------------------------
# The plan on the real program's state


def checkpoint(graph) -> list[dict]:
    """The simulated lab as a checkpoint holds it: default providers first, a provider
    reference on each custom resource, and the yaml/v2 component's CRDs as its children."""
    found, defaults = [], {}
    for r in graph.resources:
        entry = {"urn": r.urn, "custom": r.custom, "type": r.type, "parent": r.parent,
                 "dependencies": r.deps, "propertyDependencies": {k: v for k, v in r.property_deps.items() if v}}
        if r.custom and not r.type.startswith("pulumi:providers:"):
            package = r.type.split(":")[0]
            ref = f"{r.urn.split('::')[0]}::eks-networking-lab::pulumi:providers:{package}::default::id"
            entry.update(id=f"{r.name}-id", provider=r.provider or defaults.setdefault(package, ref))
        found.append(entry)
        if r.type == "kubernetes:yaml/v2:ConfigFile":
            crd = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
            head, project, chain, _ = r.urn.split("::")
            found.append({"urn": f"{head}::{project}::{chain}${crd}::gateways.gateway.networking.k8s.io",
                          "custom": True, "type": crd, "parent": r.urn, "provider": r.provider, "id": "gateways"})
    providers = [{"urn": ref.rsplit("::", 1)[0], "custom": True, "id": "id", "type": f"pulumi:providers:{pkg}"}
                 for pkg, ref in sorted(defaults.items())]
    return providers + found


@pytest.fixture(scope="module")
def lab_state():
    return checkpoint(run_lab())


def test_the_plan_for_the_lab_drops_every_kubernetes_resource_and_nothing_else(lab_state):
    resources = state_resources({"deployment": {"resources": lab_state}})

    plan = drop_plan(resources)

    k8s = {r["urn"] for r in lab_state if r["type"].startswith("kubernetes:")}
    assert {r.urn for r in plan.drop} == k8s and plan.held == ()
    assert {"kubernetes:helm.sh/v3:Release", "kubernetes:yaml/v2:ConfigFile",
            "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"} <= {r.type for r in plan.drop}
    kept = {r["type"] for r in lab_state if r["urn"] not in k8s}
    assert {"pulumi:providers:kubernetes", "lab:index:LabServices", "eks:index:Cluster"} <= kept


# --------------------------------------------------------------------------
# What EKS is asked, as boto3 asks it


def test_eks_is_asked_and_only_its_not_found_says_gone(moto_endpoint, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    assert teardown_tools.describe_cluster("never-made", "eu-west-1") == Eks()
    eks = boto3.client("eks", region_name="eu-west-1")
    eks.create_cluster(name="made", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": []})
    assert teardown_tools.describe_cluster("made", "eu-west-1") == Eks("ACTIVE")

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: a network error
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    answer = teardown_tools.describe_cluster("made", "eu-west-1")
    assert answer.error.startswith("DescribeCluster: Could not connect to the endpoint URL") and not answer.gone


def test_a_denied_describe_cluster_is_no_answer(monkeypatch):
    client = boto3.client("eks", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_client_error("describe_cluster", "AccessDeniedException", "not authorized to perform: "
                          "eks:DescribeCluster")
    stub.activate()
    monkeypatch.setattr("labtools.aws.make_session", lambda region: type("S", (), {"client": lambda _s, _n: client})())

    answer = teardown_tools.describe_cluster("lab", "eu-west-1")

    assert answer == Eks(error="DescribeCluster: AccessDeniedException: not authorized to perform: "
                               "eks:DescribeCluster")


# --------------------------------------------------------------------------
# Through ./lab, the strict fake CLI and moto


@pytest.fixture
def project(tmp_path, moto_endpoint, lab_state):  # noqa: F811
    project = Project(tmp_path, moto_endpoint)
    (tmp_path / "resources.json").write_text(json.dumps(lab_state))
    project.env["FAKE_PULUMI_UP_RESOURCES"] = str(tmp_path / "resources.json")
    return project


def lab_up(project: Project, stack: str) -> tuple[str, dict]:
    """A lab as `up` leaves it: the program's resources in the state, its VPC in moto."""
    cluster = f"lab-{stack}"
    net = lab_network(project, cluster)
    outputs = json.dumps({"clusterName": cluster, "region": REGION, "vpcId": net["vpc"]})
    shutil.copy2(project.dir / "Pulumi.dev.yaml", project.dir / f"Pulumi.{stack}.yaml")
    assert project.pulumi("stack", "init", stack).returncode == 0
    up = subprocess.run(["pulumi", "up", "--stack", stack, "--yes"], cwd=project.dir, capture_output=True,
                        env={**project.env, "FAKE_PULUMI_UP_OUTPUTS": outputs}, text=True, timeout=60)
    assert up.returncode == 0, up.stderr
    return cluster, net


def kubernetes_left(project: Project, stack: str) -> list[str]:
    exported = json.loads(project.pulumi("stack", "export", "--stack", stack).stdout)
    return [r["urn"] for r in exported["deployment"]["resources"] if r["type"].startswith("kubernetes:")]


def lab(project: Project, *args: str, **env: str) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """./lab and the Pulumi CLI calls it made."""
    before = len(project.calls())
    return project.lab(*args, **env), project.calls()[before:]


def named(calls: list[list[str]], *words: str) -> list[list[str]]:
    return [c for c in calls if c[:len(words)] == list(words)]


def test_the_fake_destroy_fails_as_the_provider_does_while_the_cluster_is_gone(project):
    _, net = lab_up(project, "ci-19")
    before = kubernetes_left(project, "ci-19")

    plain = project.pulumi("destroy", "--stack", "ci-19", "--yes")
    skip = subprocess.run(["pulumi", "destroy", "--stack", "ci-19", "--yes"], cwd=project.dir, text=True,
                          env={**project.env, "PULUMI_K8S_DELETE_UNREACHABLE": "true"}, capture_output=True)

    assert plain.returncode == 1 and "configured Kubernetes cluster is unreachable. If the cluster was deleted" \
        in plain.stdout
    assert skip.returncode == 1 and "can't delete Helm Release with unreachable cluster. Reason: " in skip.stdout
    left = kubernetes_left(project, "ci-19")
    kinds = {u.split("::")[2].split("$")[-1] for u in left}
    # The releases stay, with what they depend on; the Services and Ingresses that waited for them went.
    assert sum(k == "kubernetes:helm.sh/v3:Release" for k in map(lambda u: u.split("::")[2].split("$")[-1], left)) == 3
    assert not kinds & {"kubernetes:core/v1:Service", "kubernetes:networking.k8s.io/v1:Ingress"}
    assert len(before) > len(left) and vpc_exists(project, net["vpc"])
    refused = project.pulumi("state", "delete", "--stack", "ci-19", "--yes", left[0])
    assert refused.returncode == 1 and "Delete those resources first or pass --target-dependents" in refused.stderr
    assert kubernetes_left(project, "ci-19") == left  # all or nothing


def test_destroy_of_a_lab_whose_cluster_is_gone_finishes_clean(project):
    cluster, net = lab_up(project, "ci-20")
    k8s = kubernetes_left(project, "ci-20")

    result, made = lab(project, "destroy", "--stack", "ci-20", "--yes")

    assert result.returncode == 0, result.stderr + result.stdout
    (delete,) = named(made, "state", "delete")
    assert sorted(delete[5:]) == sorted(k8s) and delete[:5] == ["state", "delete", "--stack", "ci-20", "--yes"]
    assert f"{len(k8s)} resources deleted" in result.stdout
    assert f"==> EKS has no cluster {cluster} in {REGION}" in result.stderr
    assert f"==> dropping {len(k8s)} Kubernetes resources of stack ci-20 from the state" in result.stderr
    assert "==> pulumi destroy --stack ci-20 --yes: done\n" in result.stderr
    assert f"clean: nothing of cluster {cluster} left in {REGION}" in result.stdout
    assert not vpc_exists(project, net["vpc"])
    assert json.loads(project.pulumi("stack", "export", "--stack", "ci-20").stdout)["deployment"]["resources"] == []


def test_a_running_clusters_objects_are_deleted_for_real_never_dropped(project):
    cluster, net = lab_up(project, "ci-21")
    boto3.client("eks", region_name=REGION, endpoint_url=project.env["AWS_ENDPOINT_URL"],
                 aws_access_key_id="testing", aws_secret_access_key="testing").create_cluster(
        name=cluster, roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []})
    k8s = kubernetes_left(project, "ci-21")

    # Running, but its API does not admit this machine: the provider's skip is not passed on.
    unreachable, first = lab(project, "destroy", "--stack", "ci-21", "--yes", FAKE_PULUMI_K8S_UNREACHABLE="1",
                             PULUMI_K8S_DELETE_UNREACHABLE="true")
    assert unreachable.returncode == 1
    assert f"==> EKS reports cluster {cluster} in {REGION} (ACTIVE)" in unreachable.stderr
    assert "PULUMI_K8S_DELETE_UNREACHABLE is not passed on to pulumi destroy" in unreachable.stderr
    assert kubernetes_left(project, "ci-21") == k8s

    result, then = lab(project, "destroy", "--stack", "ci-21", "--yes")

    assert result.returncode == 0, result.stderr + result.stdout
    assert named(first + then, "state") == [] and named(first + then, "stack", "export") == []
    assert not vpc_exists(project, net["vpc"]) and kubernetes_left(project, "ci-21") == []
