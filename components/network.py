"""The lab's VPC: public and private subnets per zone, internet gateway, NAT."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class LabNetworkArgs:
    cluster_name: str
    """Subnets are tagged for this cluster's load balancer discovery."""
    vpc_cidr: str
    availability_zones: list[str]
    public_subnet_cidrs: list[str]
    private_subnet_cidrs: list[str]
    nat_per_az: bool
    """One NAT gateway per zone (resilient) instead of one shared (cheaper)."""
    tags: dict[str, str]


class LabNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: LabNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lab:index:LabNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = args.tags

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.vpc_cidr,
                          # EKS nodes and the API endpoint need DNS names inside the VPC.
                          enable_dns_hostnames=True, enable_dns_support=True,
                          tags={**tags, "Name": f"{args.cluster_name}-vpc"}, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id,
                                      tags={**tags, "Name": f"{args.cluster_name}-igw"}, opts=child)

        # How the AWS Load Balancer Controller finds subnets for internet-facing
        # (elb) and internal (internal-elb) load balancers.
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id,
                                       routes=[aws.ec2.RouteTableRouteArgs(
                                           cidr_block="0.0.0.0/0", gateway_id=igw.id)],
                                       tags={**tags, "Name": f"{args.cluster_name}-public"}, opts=child)
        public_ids, nats = [], []
        for i, (zone, cidr) in enumerate(zip(args.availability_zones, args.public_subnet_cidrs)):
            subnet = aws.ec2.Subnet(
                f"{name}-public-{zone}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=zone,
                # Managed node groups get public IPs only from their subnet's setting.
                map_public_ip_on_launch=True,
                tags={**tags, **cluster_tag, "kubernetes.io/role/elb": "1",
                      "Name": f"{args.cluster_name}-public-{zone}"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=subnet.id,
                                          route_table_id=public_rt.id, opts=child)
            public_ids.append(subnet.id)
            if args.nat_per_az or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc",
                                  tags={**tags, "Name": f"{args.cluster_name}-nat-{zone}"}, opts=child)
                nats.append(aws.ec2.NatGateway(
                    f"{name}-nat-{zone}", subnet_id=subnet.id, allocation_id=eip.id,
                    tags={**tags, "Name": f"{args.cluster_name}-nat-{zone}"},
                    # A NAT gateway needs the VPC's internet gateway attached first.
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))

        private_ids = []
        for i, (zone, cidr) in enumerate(zip(args.availability_zones, args.private_subnet_cidrs)):
            nat = nats[i] if args.nat_per_az else nats[0]
            subnet = aws.ec2.Subnet(
                f"{name}-private-{zone}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**tags, **cluster_tag, "kubernetes.io/role/internal-elb": "1",
                      "Name": f"{args.cluster_name}-private-{zone}"}, opts=child)
            rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id,
                                    routes=[aws.ec2.RouteTableRouteArgs(
                                        cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                                    tags={**tags, "Name": f"{args.cluster_name}-private-{zone}"},
                                    opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=subnet.id,
                                          route_table_id=rt.id, opts=child)
            private_ids.append(subnet.id)

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*public_ids)
        self.private_subnet_ids = pulumi.Output.all(*private_ids)
        self.register_outputs({"vpcId": self.vpc_id, "publicSubnetIds": self.public_subnet_ids,
                               "privateSubnetIds": self.private_subnet_ids})
