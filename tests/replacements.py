"""What `./lab up` with a newer copy of this program must not replace in a running lab.

WATCHED names, per resource type the guard covers, the inputs whose change makes Pulumi
replace the resource (for the two pulumi-eks components: replace, create or delete something
they make), each with the reason. A resource is also replaced when its URN changes (its type,
its parents' types or its name) with no `aliases` option naming the old URN.

Read from the providers' source, not at run time:
- hashicorp/terraform-provider-aws, the `ForceNew: true` attributes (and ForceNew
  CustomizeDiffs) of internal/service/ec2/vpc_.go, vpc_subnet.go, vpc_internet_gateway.go
  (none: vpc_id attaches in place), vpc_nat_gateway.go, ec2_eip.go, vpc_route_table.go,
  vpc_route_table_association.go, internal/service/iam/role.go, role_policy_attachment.go,
  internal/service/eks/cluster.go and node_group.go, as revisions of 2023-2026 in the source
  index (no tag: this repository, and pulumi/pulumi-aws whose 7.x bridges its v6 line, are
  too large to fetch here); cluster.go, vpc_subnet.go, vpc_nat_gateway.go and
  role_policy_attachment.go from 2026.
- pulumi/pulumi-eks at 7bf0c1b (v4.3.0 plus dependency bumps; the pinned 4.4.0 SDK takes the
  same inputs as its provider/cmd/pulumi-resource-eks/schema.json): how nodejs/eks/cluster/
  cluster.ts and nodejs/eks/nodes/nodegroup.ts pass the component's inputs to aws.eks.Cluster,
  aws.eks.NodeGroup, the `<name>-eksRole`, `<name>-oidcProvider` and `<name>-launchTemplate`
  they make (every one named after the component, so its URN is watched too). Not watched:
  bootstrapSelfManagedAddons, which cluster.ts puts under ignoreChanges.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from labtools.simulate import Graph, plain

# pulumi-eks builds its own launch template when any of these is set (customLaunchTemplateArgs
# in nodegroup.ts); their values go into new template versions, rolled in place.
LAUNCH_TEMPLATE = "(its own launch template from)"
CUSTOM_LAUNCH_TEMPLATE_ARGS = ("bootstrapExtraArgs", "kubeletExtraArgs", "bottlerocketSettings",
                               "nodeadmExtraOptions", "enableIMDSv2", "userData", "amiId",
                               "enableEfaSupport")
_NAME = "the physical name (ForceNew)"
_CIDR = "the address range (ForceNew)"
_IPAM = "an IPAM allocation (ForceNew)"
WATCHED: dict[str, dict[str, str]] = {
    "aws:ec2/vpc:Vpc": {
        "cidrBlock": _CIDR, "ipv4IpamPoolId": _IPAM, "ipv4NetmaskLength": _IPAM},
    "aws:ec2/subnet:Subnet": {
        "vpcId": "the VPC it is in (ForceNew)", "cidrBlock": _CIDR,
        "availabilityZone": "its zone (ForceNew)", "availabilityZoneId": "its zone (ForceNew)",
        "ipv4IpamPoolId": _IPAM, "ipv4NetmaskLength": _IPAM, "ipv6IpamPoolId": _IPAM,
        "ipv6NetmaskLength": _IPAM, "ipv6Native": "IPv6-only (ForceNew)",
        "outpostArn": "an Outpost (ForceNew)"},
    "aws:ec2/internetGateway:InternetGateway": {},
    "aws:ec2/natGateway:NatGateway": {
        "subnetId": "the subnet it sits in (ForceNew)", "allocationId": "its Elastic IP (ForceNew)",
        "connectivityType": "public or private (ForceNew)", "privateIp": "its address (ForceNew)",
        "availabilityMode": "zonal or regional (ForceNew)", "vpcId": "a regional one's VPC (ForceNew)"},
    "aws:ec2/eip:Eip": {
        "domain": "vpc (ForceNew)", "address": "a BYOIP address (ForceNew)",
        "networkBorderGroup": "its border group (ForceNew)", "publicIpv4Pool": "its pool (ForceNew)"},
    "aws:ec2/routeTable:RouteTable": {"vpcId": "the VPC it is in (ForceNew)"},
    "aws:ec2/routeTableAssociation:RouteTableAssociation": {
        "subnetId": "the subnet it associates (ForceNew)", "gatewayId": "an edge association (ForceNew)"},
    "aws:iam/role:Role": {"name": _NAME, "namePrefix": _NAME, "path": "its path (ForceNew)"},
    # Replaced with create-before-delete, the new attachment's create is a no-op and the old
    # one's delete detaches the policy: the nodes lose it.
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": {
        "role": "the role (ForceNew)", "policyArn": "the policy (ForceNew)"},
    "eks:index:Cluster": {
        "name": "aws_eks_cluster name (ForceNew)",
        "serviceRole": "role_arn (ForceNew); unset, pulumi-eks makes <name>-eksRole",
        "ipFamily": "kubernetes_network_config.ip_family (ForceNew; replaceOnChanges in pulumi-eks)",
        "kubernetesServiceIpAddressRange": "kubernetes_network_config.service_ipv4_cidr (ForceNew)",
        "encryptionConfigKeyArn": "encryption_config: removing it forces a new cluster",
        "autoMode": "compute_config.node_role_arn (ForceNew when a set role changes)",
        "createOidcProvider": "whether <name>-oidcProvider exists: IRSA roles trust it",
        # vpc_config.subnet_ids updates in place (UpdateClusterConfig), but EKS takes no subnets
        # in zones the cluster was not created in (aws/containers-roadmap#2330): `up` fails.
        "subnetIds": "the control plane's subnets (EKS refuses other zones)",
        "publicSubnetIds": "the control plane's subnets (EKS refuses other zones)",
        "privateSubnetIds": "the control plane's subnets (EKS refuses other zones)"},
    "eks:index:ManagedNodeGroup": {
        "nodeGroupName": "node_group_name (ForceNew)", "nodeGroupNamePrefix": "node_group_name_prefix (ForceNew)",
        "cluster": "cluster_name (ForceNew)", "clusterName": "cluster_name (ForceNew)",
        "nodeRole": "node_role_arn (ForceNew)", "nodeRoleArn": "node_role_arn (ForceNew)",
        "subnetIds": "subnet_ids (ForceNew; a set: which subnets, not their order)",
        "instanceTypes": "instance_types (ForceNew), and the AMI's architecture",
        "operatingSystem": "ami_type, derived from it (ForceNew)", "gpu": "ami_type, derived (ForceNew)",
        "amiType": "ami_type (ForceNew)", "amiId": "custom AMI: ami_type dropped (ForceNew)",
        "capacityType": "capacity_type (ForceNew)", "diskSize": "disk_size (ForceNew)",
        "remoteAccess": "remote_access (ForceNew)", "launchTemplate": "launch_template id/name (ForceNew)",
        "placementGroupAvailabilityZone": "with EFA, narrows subnet_ids (ForceNew)",
        LAUNCH_TEMPLATE: "which inputs make pulumi-eks build <name>-launchTemplate: gaining or "
                         "losing it changes launch_template.id (ForceNew)"},
}


def record(graph: Graph) -> dict[str, dict[str, Any]]:
    """URN -> type and watched inputs, for every watched resource. An input whose value came
    from other resources (an id, a resource) is recorded as their URNs, sorted."""
    out = {}
    for r in graph.resources:
        if r.type not in WATCHED:
            continue
        inputs = {}
        for key in WATCHED[r.type]:
            if key == LAUNCH_TEMPLATE:
                inputs[key] = [k for k in CUSTOM_LAUNCH_TEMPLATE_ARGS if r.inputs.get(k) is not None]
            elif r.property_deps.get(key):
                inputs[key] = {"from": r.property_deps[key]}
            else:
                inputs[key] = r.inputs.get(key)
        out[r.urn] = {"type": r.type, "inputs": json.loads(json.dumps(plain(inputs)))}
    return out


def aliases(graph: Graph) -> dict[str, list[str]]:
    return {r.urn: r.aliases for r in graph.resources if r.type in WATCHED and r.aliases}


class Finding(NamedTuple):
    urn: str
    change: str
    """The input that changed, or "gone" (deleted), or "new" (added, not in the record)."""
    line: str


def short(value: Any) -> str:
    """A recorded value for people: sources as "Subnet lab-public-ap-northeast-2a"."""
    if isinstance(value, dict) and set(value) == {"from"}:
        return "from " + ", ".join(f"{u.split('::')[2].rsplit(':', 1)[-1]} {u.rsplit('::', 1)[1]}"
                                   for u in value["from"])
    return json.dumps(value)


def findings(recorded: dict[str, dict], got: dict[str, dict], aliased: dict[str, list[str]]) -> list[Finding]:
    """What an `up` of the program that gave `got` would do to a lab made from `recorded`:
    each resource it would replace (and by which input), delete, or add unrecorded."""
    old_of = {old: new for new, olds in aliased.items() for old in olds if old in recorded}
    new_to_old = {new: old for old, new in old_of.items()}

    def as_recorded(value: Any) -> Any:  # a source renamed under an alias is still the same one
        if isinstance(value, dict) and set(value) == {"from"}:
            return {"from": sorted(new_to_old.get(u, u) for u in value["from"])}
        return value

    out = []
    for urn, was in sorted(recorded.items()):
        now_urn = urn if urn in got else old_of.get(urn)
        if now_urn is None:
            out.append(Finding(urn, "gone", f"{urn}: gone (renamed without an alias to this URN, "
                                            f"or removed): `up` deletes it"))
            continue
        now, why = got[now_urn], WATCHED.get(was["type"], {})
        for key in sorted(set(was["inputs"]) | set(now["inputs"])):
            before, after = was["inputs"].get(key), as_recorded(now["inputs"].get(key))
            if before != after:
                out.append(Finding(now_urn, key, f"{now_urn}: {key}: {short(before)} -> {short(after)}"
                                                 f" ({why.get(key, 'not in the record')})"))
    for urn in sorted(set(got) - set(recorded) - set(new_to_old)):
        out.append(Finding(urn, "new", f"{urn}: new, not in the record (record it, so that "
                                       f"its next rename is caught)"))
    return out
