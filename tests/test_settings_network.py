"""The network's defaults (stacks/settings/network.py): zones and subnets a lab gets when its
settings leave them out, and the ends of the VPC's range."""

import datetime as dt
import ipaddress

import pytest

from stacks.config_reader import SettingsError
from stacks.settings import load
from stacks.settings.network import default_subnets

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)


def network(raw: dict, region: str | None = None) -> tuple[list[str], list[str], list[str]]:
    s = load(raw, region, "dev", NOW)
    return s.availability_zones, [str(n) for n in s.public_subnet_cidrs], [str(n) for n in s.private_subnet_cidrs]


def test_the_posts_region_gets_zones_a_and_c_and_the_posts_subnets():
    """eksctl of post 000 picked ap-northeast-2a and -2c; public /20s first, private from the middle."""
    assert network({}) == (["ap-northeast-2a", "ap-northeast-2c"], ["10.0.0.0/20", "10.0.16.0/20"],
                           ["10.0.128.0/20", "10.0.144.0/20"])


def test_another_region_gets_zones_a_and_b():
    assert network({}, "us-east-1")[0] == ["us-east-1a", "us-east-1b"]


def test_three_zones_get_three_subnets_of_each_kind():
    zones = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"]
    assert network({"availabilityZones": zones})[1:] == (
        ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"], ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"])


def test_a_24_vpc_gets_28_subnets_the_smallest_aws_allows():
    assert default_subnets(ipaddress.IPv4Network("10.0.0.0/24"), 2) == (
        ["10.0.0.0/28", "10.0.0.16/28"], ["10.0.0.128/28", "10.0.0.144/28"])
    assert network({"vpcCidr": "10.0.0.0/24"})[1][0] == "10.0.0.0/28"


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "10.0.0.0/24"])
def test_the_vpc_range_is_accepted_at_its_ends(cidr):
    assert str(load({"vpcCidr": cidr}, None, "dev", NOW).vpc_cidr) == cidr


@pytest.mark.parametrize("cidr", ["10.0.0.0/15", "10.0.0.0/25"])
def test_a_vpc_past_either_end_is_refused_by_the_cidr_rule_alone(cidr):
    with pytest.raises(SettingsError) as err:
        load({"vpcCidr": cidr}, None, "dev", NOW)
    assert err.value.problems == [f"lab:vpcCidr = {cidr!r}: expected an IPv4 CIDR block from /16 to /24 (AWS VPC "
                                  "limits), such as 10.0.0.0/16"]
