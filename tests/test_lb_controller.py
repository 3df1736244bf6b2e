"""AWS Load Balancer Controller, IRSA, the NLB Service, the ALB Ingress, and their ordering."""

import copy
import hashlib
import json

import pytest

from components.lb_controller import GATEWAY_FEATURE_GATES
from components.lb_controller_policy import POLICY
from stacks import model
from tests import ordering
from tests.chart_values import chart_keys, feature_gates_arg, unknown_keys
from tests.programs import run_lab, run_program

# sha256 of upstream docs/install/iam_policy.json at v3.5.0, keys sorted, no spaces.
UPSTREAM_POLICY_SHA256 = "bb9e48240ace4258c78d152ce98175ee6a118f0715faad4ff5a3e394c9d66171"

# Actions upstream allows on Resource "*" with no condition; nothing else may be.
UNCONDITIONED_WILDCARD_OK = {
    "ec2:DescribeAccountAttributes", "ec2:DescribeAddresses", "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways", "ec2:DescribeVpcs", "ec2:DescribeVpcPeeringConnections",
    "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeInstances",
    "ec2:DescribeNetworkInterfaces", "ec2:DescribeTags", "ec2:GetCoipPoolUsage", "ec2:DescribeCoipPools",
    "ec2:GetSecurityGroupsForVpc", "ec2:DescribeIpamPools", "ec2:DescribeRouteTables",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerCertificates",
    "elasticloadbalancing:DescribeSSLPolicies", "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeTrustStores", "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
    "cognito-idp:DescribeUserPoolClient", "acm:ListCertificates", "acm:DescribeCertificate",
    "iam:ListServerCertificates", "iam:GetServerCertificate", "waf-regional:GetWebACL",
    "waf-regional:GetWebACLForResource", "waf-regional:AssociateWebACL", "waf-regional:DisassociateWebACL",
    "wafv2:GetWebACL", "wafv2:GetWebACLForResource", "wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
    "shield:GetSubscriptionState", "shield:DescribeProtection", "shield:CreateProtection",
    "shield:DeleteProtection", "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
    "ec2:CreateSecurityGroup", "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule", "elasticloadbalancing:SetWebAcl",
    "elasticloadbalancing:ModifyListener", "elasticloadbalancing:AddListenerCertificates",
    "elasticloadbalancing:RemoveListenerCertificates", "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
}


# Every gate the controller v3.5.0 knows (pkg/config/feature_gates.go); it exits on any other
# ("unknown feature"), and the chart's featureGates is a free-form map the key lists cannot check.
CONTROLLER_FEATURE_GATES = {
    "ListenerRulesTagging", "WeightedTargetGroups", "ServiceTypeLoadBalancerOnly", "EndpointsFailOpen",
    "EnableServiceController", "EnableIPTargetType", "EnableTCPUDPListener", "EnableRGTAPI",
    "SubnetsClusterTagCheck", "NLBHealthCheckAdvancedConfig", "NLBSecurityGroup", "ALBSingleSubnet",
    "LBCapacityReservation", "SubnetDiscoveryByReachability", "NLBGatewayAPI", "ALBGatewayAPI",
    "GlobalAcceleratorController", "EnhancedDefaultBehavior", "EnableDefaultTagsLowPriority",
    "ALBTargetControlAgent", "GatewayListenerSet", "EnableCertificateManagement", "IngressPlanAnnotation",
}


@pytest.fixture(scope="module")
def lab():
    return run_lab()


@pytest.fixture(scope="module")
def lab_without_gateway():
    return run_lab({"lab:modules": {"gatewayApi": False}})


def controller_values(graph) -> dict:
    return ordering.controller_release(graph).inputs["values"]


def digest(policy) -> str:
    return hashlib.sha256(json.dumps(policy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def wildcard_problems(policy) -> list[str]:
    problems = []
    for st in policy["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if st["Effect"] != "Allow":
            continue
        if any("*" in a for a in actions):
            problems.append(f"wildcard action {actions}")
        if st["Resource"] == "*" and "Condition" not in st:
            problems.extend(f"{a} on every resource without a condition"
                            for a in actions if a not in UNCONDITIONED_WILDCARD_OK)
    return problems


def test_policy_is_the_pinned_upstream_document():
    assert digest(POLICY) == UPSTREAM_POLICY_SHA256
    dropped = copy.deepcopy(POLICY)
    dropped["Statement"][1]["Action"].remove("ec2:DescribeSubnets")
    assert digest(dropped) != UPSTREAM_POLICY_SHA256


def test_policy_has_no_wildcard_beyond_upstream():
    assert wildcard_problems(POLICY) == []
    widened = copy.deepcopy(POLICY)
    widened["Statement"].append({"Effect": "Allow", "Action": ["ec2:DeleteSecurityGroup"], "Resource": "*"})
    assert wildcard_problems(widened) == ["ec2:DeleteSecurityGroup on every resource without a condition"]
    star = copy.deepcopy(POLICY)
    star["Statement"][0]["Action"] = ["iam:*"]
    assert "wildcard action ['iam:*']" in wildcard_problems(star)


def test_policy_scopes_destructive_actions_to_the_controllers_tag():
    for st in POLICY["Statement"]:
        if "elasticloadbalancing:DeleteLoadBalancer" in st["Action"] or "ec2:DeleteSecurityGroup" in st["Action"]:
            assert st["Condition"]["Null"]["aws:ResourceTag/elbv2.k8s.aws/cluster"] == "false"


def test_registered_policy_is_that_document(lab):
    policy = lab.one("aws:iam/policy:Policy", "aws-load-balancer-controller-policy")
    assert json.loads(policy.inputs["policy"]) == POLICY
    attach = lab.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws-load-balancer-controller-attach")
    assert attach.inputs["policyArn"] == "arn:aws:iam::123456789012:policy/aws-load-balancer-controller-policy"
    assert attach.inputs["role"] == "aws-load-balancer-controller-irsa"


def trust_problems(doc: dict, provider_arn: str, issuer: str) -> list[str]:
    (st,) = doc["Statement"]
    want = {f"{issuer}:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller",
            f"{issuer}:aud": "sts.amazonaws.com"}
    problems = []
    if st.get("Principal") != {"Federated": provider_arn}:
        problems.append(f"principal {st.get('Principal')}")
    if st.get("Action") != "sts:AssumeRoleWithWebIdentity":
        problems.append(f"action {st.get('Action')}")
    if st.get("Condition") != {"StringEquals": want}:
        problems.append(f"condition {st.get('Condition')}")
    return problems


def test_irsa_trust(lab):
    role = lab.one("aws:iam/role:Role", "aws-load-balancer-controller-irsa")
    doc = json.loads(role.inputs["assumeRolePolicy"])
    issuer = "oidc.eks.ap-northeast-2.amazonaws.com/id/EKS-TEST0123456789"
    arn = f"arn:aws:iam::123456789012:oidc-provider/{issuer}"
    assert trust_problems(doc, arn, issuer) == []
    assert not issuer.startswith("https://")
    loose = copy.deepcopy(doc)
    loose["Statement"][0]["Condition"]["StringEquals"].pop(f"{issuer}:sub")
    assert trust_problems(loose, arn, issuer)  # any pod in the cluster could take the role


def test_service_account(lab):
    sa = lab.k8s("ServiceAccount", "aws-load-balancer-controller").inputs
    assert sa["metadata"]["namespace"] == "kube-system"
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/aws-load-balancer-controller-irsa"}


def test_release(lab):
    r = lab.one(ordering.RELEASE, "aws-load-balancer-controller").inputs
    assert (r["chart"], r["version"]) == ("aws-load-balancer-controller", "3.5.0")
    assert r["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    assert r["namespace"] == "kube-system"
    v = r["values"]
    assert v["clusterName"] == "eks-test" and v["region"] == "ap-northeast-2" and v["vpcId"] == "lab-vpc-id"
    assert v["serviceAccount"] == {"create": False, "name": "aws-load-balancer-controller"}
    assert v["defaultTags"]["lab:cluster"] == "eks-test"
    assert "lab:expires" not in v["defaultTags"]  # it changes every `up`: no controller roll each time


def test_release_values_exist_in_the_pinned_chart(lab):
    values = lab.one(ordering.RELEASE, "aws-load-balancer-controller").inputs["values"]
    keys = chart_keys("aws-load-balancer-controller", model.LB_CONTROLLER_CHART.version)
    assert unknown_keys(values, keys) == []
    # a key renamed or misspelled is caught; free-form maps (defaultTags) are not keys
    assert unknown_keys({"serviceAccount": {"enabled": False}, "defaultTags": {"any": "x"}}, keys) == [
        "serviceAccount.enabled"]


def unknown_gates(values: dict) -> list[str]:
    gates = (values.get("controllerConfig") or {}).get("featureGates") or {}
    return sorted(set(gates) - CONTROLLER_FEATURE_GATES)


def test_the_gateway_lesson_sets_every_gateway_gate_so_the_pods_run_it(lab):
    # All three given: the controller skips its start-up look for the CRDs (crddetect runs while
    # any gate is defaulted), so a lab switched on later runs its gateways once the pods roll.
    on = controller_values(lab)
    assert feature_gates_arg(on) == "--feature-gates=ALBGatewayAPI=true,GatewayListenerSet=true,NLBGatewayAPI=true"
    assert set(on["controllerConfig"]["featureGates"]) == set(GATEWAY_FEATURE_GATES)
    assert unknown_gates(on) == []
    assert unknown_gates({"controllerConfig": {"featureGates": {"ALBGatewayApi": True}}}) == ["ALBGatewayApi"]


def test_switching_the_lesson_changes_the_release_inputs(lab, lab_without_gateway):
    # A new dependency is no new input: only changed values make Helm upgrade and the pods roll.
    on, off = ordering.controller_release(lab).inputs, ordering.controller_release(lab_without_gateway).inputs
    assert feature_gates_arg(on["values"]) != feature_gates_arg(off["values"])
    assert {k: v for k, v in on["values"].items() if k != "controllerConfig"} == off["values"]
    assert {k: v for k, v in on.items() if k != "values"} == {k: v for k, v in off.items() if k != "values"}


def test_without_the_lesson_no_gate_is_switched_off(lab_without_gateway):
    # Turned off, Pulumi deletes the Gateway last in the update, after the pods rolled: with a
    # gate set false they could not remove its ALB and finalizer, and the delete would hang.
    # Unset, the new pods find the CRDs still there and keep the gateway on, as before the lesson.
    off = controller_values(lab_without_gateway)
    assert "controllerConfig" not in off and feature_gates_arg(off) is None


def test_nlb_service(lab):
    svc = lab.k8s("Service", "app-lb-svc").inputs
    spec = svc["spec"]
    assert spec["type"] == "LoadBalancer" and spec["selector"] == {"app": "app1"}
    assert spec["loadBalancerClass"] == "service.k8s.aws/nlb"
    (port,) = spec["ports"]
    assert (port["port"], port["targetPort"]) == (80, 8080)
    ann = svc["metadata"]["annotations"]
    assert ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert ann["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "instance"


def test_alb_ingress_class_and_ingress(lab):
    ic = lab.k8s("IngressClass", "alb").inputs
    assert ic["spec"] == {"controller": "ingress.k8s.aws/alb"}
    ing = lab.k8s("Ingress", "alb-ingress")
    ann = ing.inputs["metadata"]["annotations"]
    assert ann["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert ann["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert ann["alb.ingress.kubernetes.io/group.name"] == "eks-test-lab"
    spec = ing.inputs["spec"]
    assert spec["ingressClassName"] == "alb"
    (rule,) = spec["rules"]
    assert "host" not in rule
    paths = [(p["path"], p["pathType"], p["backend"]["service"]["name"], p["backend"]["service"]["port"]["number"])
             for p in rule["http"]["paths"]]
    assert paths == [("/v1", "Prefix", "app1-svc", 3000), ("/v2", "Prefix", "app2-svc", 3000)]
    assert not any(p[0].endswith("/*") for p in paths)
    assert lab.waits_for(ing, lab.k8s("IngressClass", "alb"))
    for name in ("app1-svc", "app2-svc"):
        backend = lab.k8s("Service", name)
        assert backend.inputs["metadata"]["annotations"] == {"alb.ingress.kubernetes.io/healthcheck-path": "/healthz"}
        assert lab.waits_for(ing, backend)


def test_ordering(lab):
    assert ordering.controller_ordering(lab) == []


def test_ordering_check_catches_a_missing_edge(lab):
    broken = copy.deepcopy(lab)
    ordering.without_edge(broken.k8s("Service", "app-lb-svc"), ordering.controller_release(broken))
    assert ordering.controller_ordering(broken) == [
        "Service app-lb-svc does not wait for the controller release "
        "(its webhook refuses Services until it runs; on destroy it must go last)"]
    broken2 = copy.deepcopy(lab)
    rel = ordering.controller_release(broken2)
    rel.deps = [d for d in rel.deps if "ng-public" not in d]
    assert ordering.controller_ordering(broken2) == ["the controller release does not wait for node group ng-public"]


def test_outputs(lab):
    eps = lab.outputs["entrypoints"]
    assert eps["nlb"]["url"] == "http://k8s-app-lb-svc-0123456789.elb.ap-northeast-2.amazonaws.com"
    assert eps["nlb"]["layer"] == "L4"
    alb = eps["alb"]
    assert alb["url"].startswith("http://k8s-alb-ingress") and alb["layer"] == "L7"
    assert {"path": "/v1/x", "app": "app1", "appSees": "/v1/x"} in alb["routes"]


def test_modules_switch_off():
    lab = run_lab({"lab:modules": {"loadBalancerController": False, "nlb": False, "alb": False, "gatewayApi": False}})
    assert "aws-load-balancer-controller" not in [r.name for r in lab.of_type(ordering.RELEASE)]
    assert not {"alb-ingress", "alb-host-ingress"} & {r.name for r in lab.of_type(ordering.INGRESS)}
    assert not any(r.name == "app-lb-svc" for r in lab.of_type(ordering.SERVICE))
    assert not {"nlb", "alb", "alb-hosts", "gateway"} & set(lab.outputs["entrypoints"])
    assert not [r for r in lab.resources if "gateway" in r.type or r.type == "kubernetes:yaml/v2:ConfigFile"]
    assert lab.k8s("Service", "app1-svc").inputs["metadata"].get("annotations") is None


def test_alb_without_the_controller_is_refused():
    graph, error = run_program({"lab:modules": {"loadBalancerController": False}})
    assert "lab:modules.nlb = true: needs lab:modules.loadBalancerController true" in str(error)
    assert "lab:modules.alb = true: needs lab:modules.loadBalancerController true" in str(error)
    assert "lab:modules.gatewayApi = true: needs lab:modules.loadBalancerController true" in str(error)
    assert graph.resources == []
