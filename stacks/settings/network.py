"""Settings of the network: the VPC, its zones and subnets."""

from __future__ import annotations

import ipaddress
import itertools
import re

from stacks.config_reader import Reader, host_bits, network_of, parse_cidr

DEFAULT_REGION = "ap-northeast-2"


def default_zones(region: str) -> list[str]:
    # The post's eksctl picked a and c in ap-northeast-2; a and b exist elsewhere.
    return [f"{region}a", f"{region}c"] if region == DEFAULT_REGION else [f"{region}a", f"{region}b"]


def default_subnets(vpc: ipaddress.IPv4Network, count: int) -> tuple[list[str], list[str]]:
    """Public subnets first, private ones from the middle of the VPC range: /20s in a /16."""
    new_prefix = min(vpc.prefixlen + 4, 28)
    blocks = list(itertools.islice(vpc.subnets(new_prefix=new_prefix), 16))
    half = len(blocks) // 2
    return ([str(b) for b in blocks[:count]], [str(b) for b in blocks[half:half + count]])


def check_network(reader: Reader, vpc: ipaddress.IPv4Network, zones: list[str], region: str,
                   public: list[ipaddress.IPv4Network], private: list[ipaddress.IPv4Network]) -> None:
    zk = reader.key("availabilityZones")
    if len(zones) < 2:
        reader.problem(zk, zones, "EKS needs subnets in at least 2 availability zones")
    if len(set(zones)) != len(zones):
        reader.problem(zk, zones, "zones must be distinct")
    for i, zone in enumerate(zones):
        if not re.fullmatch(re.escape(region) + r"[a-z]", zone):
            reader.problem(f"{zk}[{i}]", zone, f"expected a zone of {region}, such as {region}a")
    for key, nets in (("publicSubnetCidrs", public), ("privateSubnetCidrs", private)):
        if len(nets) != len(zones):
            reader.problem(reader.key(key), [str(n) for n in nets],
                           f"expected one subnet per availability zone ({len(zones)})")
        for i, net in enumerate(nets):
            if not net.subnet_of(vpc):
                reader.problem(f"{reader.key(key)}[{i}]", str(net), f"must lie inside lab:vpcCidr {vpc}")
    named = [(f"public {n}", n) for n in public] + [(f"private {n}", n) for n in private]
    for (a_name, a), (b_name, b) in itertools.combinations(named, 2):
        if a.overlaps(b):
            reader.problem(reader.key("privateSubnetCidrs" if "private" in b_name else "publicSubnetCidrs"),
                           str(b), f"overlaps {a_name}; subnets must not overlap")


def vpc_network(reader: Reader, text: str) -> ipaddress.IPv4Network:
    net = parse_cidr(text)
    near = network_of(text) if net is None else None
    if near is not None and 16 <= near.prefixlen <= 24:
        reader.problem(reader.key("vpcCidr"), text, host_bits(near))
        return near  # the subnets' defaults and checks follow the suggested block
    if net is None or not 16 <= net.prefixlen <= 24:
        reader.problem(reader.key("vpcCidr"), text,
                       "expected an IPv4 CIDR block from /16 to /24 (AWS VPC limits), such as 10.0.0.0/16")
        return ipaddress.IPv4Network("10.0.0.0/16")
    return net
