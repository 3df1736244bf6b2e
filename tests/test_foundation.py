"""The network and the cluster, as the program registers them under mocks."""

import pytest

from components.cluster import NODE_POLICIES
from labtools.simulate import secret_value
from tests.programs import run_lab

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
NODE_GROUP = "eks:index:ManagedNodeGroup"
CLUSTER = "eks:index:Cluster"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def lab():
    return run_lab()


def subnets(lab, kind):
    return [r for r in lab.of_type(SUBNET) if f"-{kind}-" in r.name]


def test_vpc(lab):
    vpc = lab.one(VPC)
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True


def test_subnets_span_two_zones_with_discovery_tags(lab):
    public, private = subnets(lab, "public"), subnets(lab, "private")
    assert {s.inputs["availabilityZone"] for s in public} == {"ap-northeast-2a", "ap-northeast-2c"}
    assert {s.inputs["availabilityZone"] for s in private} == {"ap-northeast-2a", "ap-northeast-2c"}
    for s in public:
        assert s.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in s.inputs["tags"]
        assert s.inputs["mapPublicIpOnLaunch"] is True
    for s in private:
        assert s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in s.inputs["tags"]
        assert s.inputs["mapPublicIpOnLaunch"] is False
    for s in public + private:
        assert s.inputs["tags"]["kubernetes.io/cluster/eks-test"] == "shared"


def test_private_subnets_route_through_nat_public_through_igw(lab):
    nat = lab.one(NAT)
    assert nat.inputs["subnetId"] in [s.urn.split("::")[-1] + "-id" for s in subnets(lab, "public")]
    for rt in lab.of_type("aws:ec2/routeTable:RouteTable"):
        (route,) = rt.inputs["routes"]
        if "private" in rt.name:
            assert route["natGatewayId"] == nat.name + "-id"
        else:
            assert route["gatewayId"] == "lab-igw-id"


@pytest.mark.parametrize("choice,count", [("single", 1), ("perAz", 2)])
def test_nat_gateways_single_or_per_zone(choice, count):
    lab = run_lab({"lab:natGateways": choice})
    nats = lab.of_type(NAT)
    assert len(nats) == count and len(lab.of_type("aws:ec2/eip:Eip")) == count
    routes = {rt.inputs["routes"][0]["natGatewayId"] for rt in lab.of_type("aws:ec2/routeTable:RouteTable")
              if "private" in rt.name}
    assert len(routes) == count


def test_cluster(lab):
    c = lab.one(CLUSTER).inputs
    assert c["name"] == "eks-test"
    assert c["version"] == "1.36"
    assert c["upgradePolicy"] == {"supportType": "STANDARD"}  # not EKS's default, EXTENDED
    assert c["skipDefaultNodeGroup"] is True
    assert c["createOidcProvider"] is True
    assert c["authenticationMode"] == "API"
    assert c["publicAccessCidrs"] == ["0.0.0.0/0"]
    assert c["skipDefaultSecurityGroups"] is True  # clusterSecurityGroupId is then the EKS-created group
    assert sorted(c["publicSubnetIds"]) == sorted(s.name + "-id" for s in subnets(lab, "public"))
    assert sorted(c["privateSubnetIds"]) == sorted(s.name + "-id" for s in subnets(lab, "private"))


def test_node_role_has_the_three_worker_policies(lab):
    arns = {a.inputs["policyArn"] for a in lab.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == "eks-test-node-role"}
    assert arns == set(NODE_POLICIES.values())


@pytest.mark.parametrize("name,label,kind,sizes", [
    ("ng-private", "private", "private", (2, 2, 3)),
    ("ng-public", "public", "public", (1, 1, 1)),
])
def test_node_groups(lab, name, label, kind, sizes):
    ng = lab.one(NODE_GROUP, name)
    i = ng.inputs
    assert i["nodeGroupName"] == name
    assert i["instanceTypes"] == ["t3.small"]
    sc = i["scalingConfig"]
    assert (sc["desiredSize"], sc["minSize"], sc["maxSize"]) == sizes
    assert i["labels"] == {"nodegroup": label}
    assert i["enableIMDSv2"] is True
    assert sorted(i["subnetIds"]) == sorted(s.name + "-id" for s in subnets(lab, kind))
    # The node group must wait for the role's policies, or its nodes never join.
    for att in lab.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        if att.inputs["role"] == "eks-test-node-role":
            assert lab.waits_for(ng, att)


def nodeport_rules(lab):
    return [r for r in lab.of_type(SG_RULE) if r.name.startswith("eks-test-nodeport-")]


def test_nodeport_range_opened_on_the_eks_cluster_security_group(lab):
    (rule,) = nodeport_rules(lab)
    i = rule.inputs
    # sg-eks-cluster is what the mock gives as clusterSecurityGroupId: the group managed nodes use.
    assert i["securityGroupId"] == "sg-eks-cluster"
    assert (i["ipProtocol"], i["fromPort"], i["toPort"], i["cidrIpv4"]) == ("tcp", 30000, 32767, "0.0.0.0/0")


def test_nodeport_rule_per_source_cidr():
    lab = run_lab({"lab:clientCidrs": ["198.51.100.7/32", "203.0.113.0/24"]})
    assert sorted(r.inputs["cidrIpv4"] for r in nodeport_rules(lab)) == ["198.51.100.7/32", "203.0.113.0/24"]


def test_common_tags_on_every_taggable_aws_resource(lab):
    taggable = [r for r in lab.resources if r.custom and r.type.startswith("aws:")
                and not any(untagged in r.type for untagged in
                            ("rolePolicyAttachment", "routeTableAssociation", "autoscaling/attachment"))]
    assert taggable
    for r in taggable:
        tags = r.inputs.get("tags") or {}
        assert tags.get("lab:project") == "eks-networking-lab", r.name
        assert tags.get("lab:stack") == "dev" and tags.get("lab:cluster") == "eks-test", r.name
        assert tags.get("lab:owner") == "lab-user" and tags.get("lab:expires", "").endswith("Z"), r.name
        assert tags["lab:expires"] == lab.outputs["expiresAt"], r.name  # the backend alone says when
    for comp in lab.of_type(CLUSTER) + lab.of_type(NODE_GROUP):
        assert comp.inputs["tags"]["lab:project"] == "eks-networking-lab"


def test_kubernetes_provider_from_the_cluster_kubeconfig(lab):
    provider = lab.one("pulumi:providers:kubernetes")
    kubeconfig = secret_value(provider.inputs["kubeconfig"])
    assert kubeconfig is not None, "the kubeconfig must reach the provider as a secret"
    assert "mock.eks.local" in kubeconfig


def test_outputs(lab):
    out = lab.outputs
    for key in ("clusterName", "region", "kubeconfig", "vpcId", "publicSubnetIds", "privateSubnetIds",
                "oidcProviderArn"):
        assert key in out, key
    assert out["clusterName"] == "eks-test" and out["region"] == "ap-northeast-2"
    assert out["vpcId"] == "lab-vpc-id"
    assert len(out["publicSubnetIds"]) == 2 and len(out["privateSubnetIds"]) == 2
    assert out["oidcProviderArn"].startswith("arn:aws:iam::123456789012:oidc-provider/")
    assert "kubeconfig" in lab.secret_outputs
    assert lab.secret_outputs == {"kubeconfig"}
