"""Settings the loader accepts but AWS or Kubernetes would not: derived names, pods per
node, addresses per subnet, zones. Each is refused before anything is registered,
naming its key, or deploys with valid, unique names."""

import pytest

from labtools import plan
from labtools.simulate import run_lab, run_program
from stacks import capacity, fit, names
from stacks.model import lab_model

PLAIN = "eks-test"


def refused(overrides: dict, *fragments: str) -> str:
    graph, error = run_program(overrides)
    assert error is not None, "accepted"
    for fragment in fragments:
        assert fragment in str(error), str(error)
    assert graph.resources == []
    return str(error)


# --- derived names ----------------------------------------------------------

@pytest.mark.parametrize("cluster", [
    PLAIN, "a" * 31, "a" * 32, "a" * 43, "EKS_Test", "eks--test-", "internal-lab", "9" * 40, "A", "x_",
])
def test_derived_names_follow_the_rules_of_aws_and_the_controller(cluster):
    alb, nlb, group = (names.load_balancer(cluster, "lab"), names.load_balancer(cluster, "traefik"),
                       names.ingress_group(cluster))
    assert names.valid_load_balancer_name(alb) and names.valid_load_balancer_name(nlb), (alb, nlb)
    assert names.valid_ingress_group(group), group
    assert alb != nlb


def test_names_of_the_posts_are_kept():
    assert names.load_balancer(PLAIN, "lab") == "eks-test-lab"
    assert names.load_balancer(PLAIN, "traefik") == "eks-test-traefik"
    assert names.ingress_group(PLAIN) == "eks-test-lab"


def test_cut_or_changed_names_of_two_clusters_stay_apart():
    assert names.load_balancer("a" * 31, "lab") != names.load_balancer("a" * 32, "lab")
    assert names.load_balancer("EKS_Test", "lab") != names.load_balancer("eks-test", "lab")
    assert names.ingress_group("EKS_Test") != names.ingress_group("eks-test")


@pytest.mark.parametrize("name, ok", [("eks-test-lab", True), ("eks-test-", False), ("-a", False),
                                      ("a" * 33, False), ("internal-x", False), ("a_b", False)])
def test_the_load_balancer_rule_itself(name, ok):
    assert names.valid_load_balancer_name(name) is ok


def test_a_31_character_cluster_deploys_with_valid_distinct_names():
    graph = run_lab({"lab:clusterName": "c" * 31})
    alb = [i.inputs["metadata"]["annotations"] for i in graph.of_type("kubernetes:networking.k8s.io/v1:Ingress")
           if i.inputs["spec"]["ingressClassName"] == "alb"]
    nlb = graph.one("aws:lb/loadBalancer:LoadBalancer").inputs["name"]
    alb_name = alb[0]["alb.ingress.kubernetes.io/load-balancer-name"]
    assert names.valid_load_balancer_name(alb_name) and names.valid_load_balancer_name(nlb)
    assert alb_name != nlb
    assert names.valid_ingress_group(alb[0]["alb.ingress.kubernetes.io/group.name"])


# --- pods per node -----------------------------------------------------------

def test_published_max_pods_match_the_eni_figures():
    assert {t: capacity.max_pods(t) for t in capacity.INSTANCE_TYPES} == capacity.PUBLISHED_MAX_PODS


def test_twenty_replicas_do_not_fit_three_small_nodes():
    refused({"lab:appReplicas": 20}, "lab:appReplicas = 20 with lab:privateNodeGroup (2 x t3.small) and "
            "lab:publicNodeGroup (1 x t3.small): the lab places 48 pods", "run 27 besides the DaemonSets",
            "t3.small: 11 pods per node", "at most 9")


def test_the_largest_replica_count_that_fits_is_accepted():
    assert run_lab({"lab:appReplicas": 9}).k8s("Deployment", "app1-deploy").inputs["spec"]["replicas"] == 9
    refused({"lab:appReplicas": 10}, "lab:appReplicas = 10")


def test_more_nodes_make_room():
    run_lab({"lab:appReplicas": 12, "lab:privateNodeGroup": {"desiredSize": 3, "minSize": 2, "maxSize": 3}})


def test_app1_needs_room_on_the_public_group():
    refused({"lab:appReplicas": 8, "lab:publicNodeGroup": {"instanceType": "t3.micro"},
             "lab:privateNodeGroup": {"instanceType": "t3.large", "desiredSize": 2, "minSize": 2, "maxSize": 3}},
            "app1 keeps 4 replicas in ng-public", "raise lab:publicNodeGroup.desiredSize")


def test_the_pods_of_each_group_add_up():
    model = lab_model(run_lab_settings())
    groups = fit.group_pods(model)
    assert [(g.name, g.capacity, g.daemonsets, g.apps) for g in groups] == [
        ("ng-private", 22, 4, 4), ("ng-public", 11, 2, 3)]
    assert fit.shared_pods(model) == {"CoreDNS": 2, "aws-load-balancer-controller": 2, "ingress-nginx": 2,
                                      "traefik": 1, "smoke check": 1}


def run_lab_settings(overrides=None):
    return plan.stack_settings(overrides=overrides)


# --- addresses ----------------------------------------------------------------

def test_a_24_vpc_leaves_subnets_too_small():
    error = refused({"lab:vpcCidr": "10.0.0.0/24"}, "lab:publicSubnetCidrs[0] = '10.0.0.0/28'",
                    "11 usable addresses, the lab needs")
    assert "lab:privateSubnetCidrs[0]" in error and "from lab:vpcCidr 10.0.0.0/24" in error


def test_a_22_vpc_fits():
    run_lab({"lab:vpcCidr": "10.0.0.0/22"})


# --- zones at deploy time -----------------------------------------------------

def test_a_zone_the_region_lacks_is_refused():
    refused({"lab:availabilityZones": ["ap-northeast-2a", "ap-northeast-2z"]},
            "lab:availabilityZones[1] = 'ap-northeast-2z': not an available zone of ap-northeast-2",
            "available: ap-northeast-2a, ap-northeast-2b")


def test_a_zone_where_eks_refuses_control_planes_is_refused():
    refused({"aws:region": "us-east-1", "lab:availabilityZones": ["us-east-1a", "us-east-1c"]},
            "lab:availabilityZones[1] = 'us-east-1c': it is zone use1-az3 in this account, where EKS creates no "
            "control planes")
    run_lab({"aws:region": "us-east-1", "lab:availabilityZones": ["us-east-1a", "us-east-1b"]})


# --- the key the user set ------------------------------------------------------

def test_a_node_port_collision_names_the_key_the_user_set():
    refused({"lab:nodePort": 30080},
            "lab:nodePort = 30080: is already used by lab:ingressNginx.httpNodePort (its default)")
    refused({"lab:traefik": {"webNodePort": 30002}},
            "lab:traefik.webNodePort = 30002: is already used by lab:nodePortLocal (its default)")
    refused({"lab:nodePort": 31000, "lab:nodePortLocal": 31000},
            "lab:nodePortLocal = 31000: is already used by lab:nodePort;")
