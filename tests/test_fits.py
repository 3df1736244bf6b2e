"""Settings the loader accepts but AWS or Kubernetes would not: derived names, pods per
node, addresses per subnet, zones. Each is refused before anything is registered,
naming its key, or deploys with valid, unique names."""

import pytest

from labtools import plan
from stacks import capacity, fit, names
from stacks.config_reader import SettingsError
from stacks.model import lab_model
from tests.programs import run_lab, run_program

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


@pytest.mark.parametrize("name, ok", [("eks-test-lab", True), ("a" * 63, True), ("a" * 64, False), ("a", True),
                                      ("a.b-c", True), ("Eks-test-lab", False), ("-a", False), ("a.", False),
                                      ("a_b", False), ("", False)])
def test_the_ingress_group_rule_itself(name, ok):
    assert names.valid_ingress_group(name) is ok


def test_the_names_of_a_cluster_that_must_be_cut_are_pinned():
    """A contract: these names are the load balancers of a running lab. A changed hash (its length,
    its input), cut or suffix would make the next `up` rename them, so the controller would make new
    ones and orphan the old. Change these strings only with an upgrade note in the README."""
    cluster = "Spring_Class_EKS_Networking_Lab_2026"  # 36 characters, upper case and '_': changed and cut
    assert names.load_balancer(cluster, "lab") == "spring-class-eks-netw-656700-lab"
    assert names.load_balancer(cluster, "traefik") == "spring-class-eks-656700-traefik"  # cut at a '-'
    assert names.load_balancer(cluster, "gateway") == "spring-class-eks-656700-gateway"
    assert names.ingress_group(cluster) == "spring-class-eks-networking-lab-2026-656700-lab"


def test_a_name_that_fits_exactly_gets_no_hash():
    assert names.load_balancer("a" * 28, "lab") == "a" * 28 + "-lab"  # 32 characters: AWS's limit
    assert names.load_balancer("a" * 29, "lab") == "a" * 21 + "-6913c9-lab"
    assert names.load_balancer("a" * 24, "traefik") == "a" * 24 + "-traefik"


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


def test_an_instance_type_of_no_known_family_is_refused_naming_the_families():
    with pytest.raises(SettingsError) as err:
        run_lab_settings({"lab:privateNodeGroup": {"instanceType": "t4g.small"}})
    assert "families c5, c6i, c7i, m5, m6i, m7i, r5, r6i, t3, t3a (micro/small/medium" in str(err.value)


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
    assert [(g.name, g.capacity, g.daemonsets, g.apps, g.free) for g in groups] == [
        ("ng-private", 22, 4, 4, 14), ("ng-public", 11, 2, 3, 6)]
    assert fit.shared_pods(model) == {"CoreDNS": 2, "aws-load-balancer-controller": 2, "ingress-nginx": 2,
                                      "traefik": 1, "smoke check": 1}


def run_lab_settings(overrides=None):
    return plan.stack_settings(overrides=overrides)


def model_of(overrides: dict):
    return lab_model(run_lab_settings(overrides))


def suggested(problems: list[str]) -> int:
    (most,) = {int(p.split("to at most ")[1].split(",")[0]) for p in problems if "to at most " in p}
    return most


NO_TRAEFIK = {"lab:modules": {"traefik": False}}  # 7 shared pods: 2 x 10 + 7 = 27, what 3 t3.small run
MICRO_PUBLIC = {"lab:publicNodeGroup": {"instanceType": "t3.micro"}}  # 2 pods besides its DaemonSets


def test_pods_that_exactly_fill_the_nodes_fit_and_one_more_does_not():
    assert fit.pod_problems(model_of({**NO_TRAEFIK, "lab:appReplicas": 10})) == []
    assert fit.pod_problems(model_of({**NO_TRAEFIK, "lab:appReplicas": 11})) == [
        "lab:appReplicas = 11 with lab:privateNodeGroup (2 x t3.small) and lab:publicNodeGroup (1 x t3.small): "
        "the lab places 29 pods (22 of app1 and app2, 2 CoreDNS, 2 aws-load-balancer-controller, 2 ingress-nginx, "
        "1 smoke check) but the nodes run 27 besides the DaemonSets (t3.small: 11 pods per node under the VPC CNI, "
        "2 of them DaemonSets); lower lab:appReplicas to at most 10, or raise desiredSize or use a larger "
        "instanceType"]


def test_app1_on_every_group_exactly_fitting_each_fits_and_one_more_does_not():
    big_private = {"lab:privateNodeGroup": {"instanceType": "t3.large", "desiredSize": 2, "minSize": 2, "maxSize": 3}}
    assert fit.pod_problems(model_of({**MICRO_PUBLIC, **big_private, "lab:appReplicas": 4})) == []  # 2 on ng-public
    assert fit.pod_problems(model_of({**MICRO_PUBLIC, **big_private, "lab:appReplicas": 5})) == [
        "lab:appReplicas = 5: app1 keeps 3 replicas in ng-public, whose 1 x t3.micro run 2 pods besides the "
        "DaemonSets (t3.large: 35 pods per node under the VPC CNI, 2 of them DaemonSets; t3.micro: 4 pods per node "
        "under the VPC CNI, 2 of them DaemonSets); lower lab:appReplicas to at most 4, or raise "
        "lab:publicNodeGroup.desiredSize or its instanceType"]


def test_nodes_too_small_for_the_fewest_replicas_suggest_no_count():
    micro = {"lab:privateNodeGroup": {"instanceType": "t3.micro"}, **MICRO_PUBLIC, "lab:appReplicas": 2}
    (problem,) = fit.pod_problems(model_of(micro))  # 6 pods besides the DaemonSets, 8 shared ones
    assert problem.endswith("2 of them DaemonSets); raise desiredSize or use a larger instanceType"), problem


MICRO_PRIVATE = {"lab:privateNodeGroup": {"instanceType": "t3.micro"}}  # 4 pods besides the DaemonSets: 2 fit


@pytest.mark.parametrize("lab, replicas, most", [({}, 10, 9), (NO_TRAEFIK, 12, 10), (MICRO_PUBLIC, 7, 4),
                                                 (MICRO_PRIVATE, 3, 2)])
def test_the_suggested_replica_count_is_the_largest_that_fits(lab, replicas, most):
    assert suggested(fit.pod_problems(model_of({**lab, "lab:appReplicas": replicas}))) == most
    assert fit.pod_problems(model_of({**lab, "lab:appReplicas": most})) == []
    assert fit.pod_problems(model_of({**lab, "lab:appReplicas": most + 1})) != []


# --- addresses ----------------------------------------------------------------

def test_a_24_vpc_leaves_subnets_too_small():
    error = refused({"lab:vpcCidr": "10.0.0.0/24"}, "lab:publicSubnetCidrs[0] = '10.0.0.0/28'",
                    "11 usable addresses, the lab needs")
    assert "lab:privateSubnetCidrs[0]" in error and "from lab:vpcCidr 10.0.0.0/24" in error


def test_a_22_vpc_fits():
    run_lab({"lab:vpcCidr": "10.0.0.0/22"})


# A t3a.small takes 8 addresses (2 ENIs x 4); with two ALBs (8 each), two NLBs (1 each) and the NAT
# gateway a public subnet needs 27: what a /27 has (32 less the 5 AWS keeps).
SMALL_PUBLIC = {"lab:publicNodeGroup": {"instanceType": "t3a.small"}}


def public_need(overrides: dict, prefix: int = 28) -> int:
    """The addresses the lab needs in a public subnet, as the refusal states them."""
    nets = [f"10.0.0.0/{prefix}", f"10.0.1.0/{prefix}"]
    problems = fit.address_problems(model_of({**SMALL_PUBLIC, **overrides, "lab:publicSubnetCidrs": nets}))
    return int(problems[0].split("the lab needs ")[1].split(" ")[0]) if problems else 0


def test_a_subnet_with_exactly_enough_addresses_fits_and_one_more_does_not():
    assert public_need({}, prefix=27) == 0
    assert public_need({"lab:ingressNginx": {"serviceType": "LoadBalancer"}}, prefix=27) == 28  # one NLB more


def test_a_private_subnet_needs_its_nodes_addresses_only():
    four = {"lab:privateNodeGroup": {"desiredSize": 4, "minSize": 2, "maxSize": 4}}
    problems = fit.address_problems(model_of({**four, "lab:privateSubnetCidrs": ["10.0.128.0/28", "10.0.144.0/28"]}))
    assert problems[0] == (
        "lab:privateSubnetCidrs[0] = '10.0.128.0/28' (from lab:vpcCidr 10.0.0.0/16 unless set): 11 usable addresses, "
        "the lab needs 24 there (2 t3.small node(s) of ng-private at 12 addresses each (VPC CNI)); use a larger "
        "lab:vpcCidr or subnet")


def test_the_address_need_follows_the_load_balancer_mix():
    assert public_need({}) == 27
    assert public_need({"lab:modules": {"gatewayApi": False}}) == 27 - capacity.ALB_ADDRESSES == 19  # an ALB less
    assert public_need({"lab:modules": {"traefik": False}}) == 26  # an NLB less: 1 address
    assert public_need({"lab:modules": {"traefik": False, "nlb": False}}) == 25


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
