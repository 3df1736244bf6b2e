"""Bad settings fail before any resource is registered, naming key and allowed values."""

import datetime as dt

import pytest

from stacks import versions
from stacks.config_reader import SettingsError
from stacks.settings import load
from labtools.simulate import run_program

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)

# (overrides of Pulumi.dev.yaml, a fragment the message must contain)
BAD = {
    "unknown key": ({"lab:clusterNmae": "x"}, "lab:clusterNmae = 'x': unknown key"),
    "bad region": ({"aws:region": "seoul"}, "aws:region = 'seoul': expected an AWS region"),
    "cluster name": ({"lab:clusterName": "-bad"}, "lab:clusterName = '-bad': expected 1-43 letters"),
    "cluster name too long": ({"lab:clusterName": "a" * 44},
                              "at most 43 characters (44 given): pulumi-eks names the cluster's IAM role"),
    "unknown version": ({"lab:kubernetesVersion": "1.99"}, "lab:kubernetesVersion = '1.99': expected one of 1.33"),
    "extended 1.33": ({"lab:kubernetesVersion": "1.33"}, "costs six times the standard control-plane price"),
    "extended 1.34": ({"lab:kubernetesVersion": "1.34"}, "lab:allowExtendedSupport true"),
    "opt-in not a bool": ({"lab:allowExtendedSupport": "yes"}, "lab:allowExtendedSupport = 'yes': expected true or false"),
    "vpc not a cidr": ({"lab:vpcCidr": "10.0.0.0"}, "lab:vpcCidr = '10.0.0.0': expected an IPv4 CIDR"),
    "vpc host bits": ({"lab:vpcCidr": "10.0.0.1/16"}, "lab:vpcCidr = '10.0.0.1/16': has host bits set: did you mean 10.0.0.0/16?"),
    "vpc too large": ({"lab:vpcCidr": "10.0.0.0/8"}, "from /16 to /24"),
    "one zone": ({"lab:availabilityZones": ["ap-northeast-2a"], "lab:publicSubnetCidrs": ["10.0.0.0/20"],
                  "lab:privateSubnetCidrs": ["10.0.128.0/20"]}, "at least 2 availability zones"),
    "zone of another region": ({"lab:availabilityZones": ["us-east-1a", "ap-northeast-2c"]},
                               "lab:availabilityZones[0] = 'us-east-1a': expected a zone of ap-northeast-2"),
    "same zone twice": ({"lab:availabilityZones": ["ap-northeast-2a", "ap-northeast-2a"]}, "zones must be distinct"),
    "subnet outside vpc": ({"lab:publicSubnetCidrs": ["10.1.0.0/20", "10.0.16.0/20"]},
                           "lab:publicSubnetCidrs[0] = '10.1.0.0/20': must lie inside lab:vpcCidr 10.0.0.0/16"),
    "overlapping subnets": ({"lab:privateSubnetCidrs": ["10.0.0.0/24", "10.0.144.0/20"]},
                            "lab:privateSubnetCidrs = '10.0.0.0/24': overlaps public 10.0.0.0/20"),
    "subnet count": ({"lab:publicSubnetCidrs": ["10.0.0.0/20"]}, "expected one subnet per availability zone (2)"),
    "invalid subnet cidr": ({"lab:privateSubnetCidrs": ["10.0.128.0/33", "10.0.144.0/20"]},
                            "lab:privateSubnetCidrs[0] = '10.0.128.0/33'"),
    "nat choice": ({"lab:natGateways": "two"}, "lab:natGateways = 'two': expected one of single, perAz"),
    "empty client sources": ({"lab:clientCidrs": []}, "lab:clientCidrs = []: expected at least 1 item"),
    "client source host bits": ({"lab:clientCidrs": ["198.51.100.7/24"]},
                                "lab:clientCidrs[0] = '198.51.100.7/24': has host bits set: did you mean 198.51.100.0/24?"),
    "renamed nodeport sources": ({"lab:nodePortSourceCidrs": ["198.51.100.7/32"]},
                                 "lab:nodePortSourceCidrs = '[\"198.51.100.7/32\"]': renamed to lab:clientCidrs"),
    "api cidrs not a list": ({"lab:apiAccessCidrs": "0.0.0.0/0"}, "lab:apiAccessCidrs = '0.0.0.0/0': expected a list of strings"),
    "min > max": ({"lab:privateNodeGroup": {"minSize": 4, "maxSize": 3, "desiredSize": 3}},
                  "lab:privateNodeGroup.minSize = 4: must not exceed lab:privateNodeGroup.maxSize (3)"),
    "desired outside": ({"lab:publicNodeGroup": {"desiredSize": 2}},
                        "lab:publicNodeGroup.desiredSize = 2: must lie within [minSize, maxSize] = [1, 1]"),
    "size not a number": ({"lab:privateNodeGroup": {"desiredSize": "two"}},
                          "lab:privateNodeGroup.desiredSize = 'two': expected a whole number from 1 to 100"),
    "size is a bool": ({"lab:privateNodeGroup": {"maxSize": True}}, "lab:privateNodeGroup.maxSize = true"),
    "instance type": ({"lab:publicNodeGroup": {"instanceType": "t3small"}},
                      "lab:publicNodeGroup.instanceType = 't3small': not an EC2 instance type; closest the lab takes: t3.small"),
    "unknown instance type": ({"lab:privateNodeGroup": {"instanceType": "t3.nonexistent"}},
                              "lab:privateNodeGroup.instanceType = 't3.nonexistent': not an EC2 instance type"),
    "arm instance type": ({"lab:privateNodeGroup": {"instanceType": "t4g.small"}},
                          "the lab takes x86_64 types whose pods per node it knows"),
    "unknown node group field": ({"lab:privateNodeGroup": {"instanceTypes": ["t3.small"]}},
                                 "lab:privateNodeGroup.instanceTypes"),
    "node group not an object": ({"lab:privateNodeGroup": "t3.small"}, "lab:privateNodeGroup = 't3.small': expected an object"),
    "expiry malformed": ({"lab:expires": "tomorrow"}, "lab:expires = 'tomorrow': expected a number of hours"),
    "expiry past": ({"lab:expires": "2020-01-01"}, "lab:expires = '2020-01-01': is already past"),
    "expiry too long": ({"lab:expires": "9999h"}, "lab:expires = '9999h'"),
    "owner": ({"lab:owner": "a|b"}, "lab:owner = 'a|b'"),
}


@pytest.mark.parametrize("overrides,fragment", BAD.values(), ids=BAD.keys())
def test_bad_setting_fails_before_registering(overrides, fragment):
    graph, error = run_program(overrides, now=NOW)
    assert error is not None, "the program accepted a bad setting"
    assert fragment in str(error), str(error)
    assert graph.resources == [], "resources were registered before the settings were checked"


def test_every_problem_is_reported_at_once():
    graph, error = run_program({"lab:natGateways": "two", "lab:owner": "a|b", "lab:bogus": 1}, now=NOW)
    assert "invalid lab settings (3)" in str(error)


def test_dev_stack_is_valid_and_matches_lab_md():
    graph, error = run_program(now=NOW)
    assert error is None, error
    assert graph.resources


def test_extended_support_needs_opt_in():
    s = load({"kubernetesVersion": "1.33", "allowExtendedSupport": "true"}, "ap-northeast-2", "dev", NOW)
    assert s.kubernetes_version == "1.33"


@pytest.mark.parametrize("version, allowed, day, support", [
    ("1.36", False, NOW.date(), "STANDARD"),
    ("1.36", True, NOW.date(), "STANDARD"),    # allowed, not needed: EKS upgrades it at the end instead
    ("1.33", True, NOW.date(), "EXTENDED"),    # past standard support: EKS refuses STANDARD then
    ("1.35", True, dt.date(2027, 3, 1), "EXTENDED"),   # within the 30-day margin
    ("1.35", True, dt.date(2027, 2, 24), "STANDARD"),  # the day before the margin
    ("9.99", True, NOW.date(), "STANDARD"),    # unknown: refused by check_version, never EXTENDED
])
def test_support_type_is_standard_unless_extended_support_is_allowed_and_needed(version, allowed, day, support):
    assert versions.support_type(version, allowed, day) == support


def test_settings_carry_the_support_type():
    assert load({}, "ap-northeast-2", "dev", NOW).support_type == "STANDARD"
    s = load({"kubernetesVersion": "1.33", "allowExtendedSupport": "true"}, "ap-northeast-2", "dev", NOW)
    assert s.support_type == "EXTENDED"


def test_default_version_is_in_standard_support_today():
    assert not versions.in_extended_support(versions.DEFAULT_VERSION, NOW.date())
    # ...and the check does flag a version once its standard support is about to end
    assert versions.in_extended_support("1.35", dt.date(2027, 3, 1))


def test_values_as_pulumi_passes_them():
    s = load({"privateNodeGroup": '{"desiredSize": 3, "maxSize": 3}', "allowExtendedSupport": "false",
              "clientCidrs": '["203.0.113.0/24"]'}, "ap-northeast-2", "dev", NOW)
    assert s.private_nodes.desired_size == 3 and s.private_nodes.min_size == 2
    assert [str(c) for c in s.client_cidrs] == ["203.0.113.0/24"]


def test_expiry_forms():
    hours = load({"expires": "8h"}, "ap-northeast-2", "dev", NOW)
    assert hours.tags["lab:expires"] == "2026-11-21T20:00:00Z"
    date = load({"expires": "2026-11-30"}, "ap-northeast-2", "dev", NOW)
    assert date.tags["lab:expires"] == "2026-11-30T00:00:00Z"


def test_settings_error_lists_problems():
    with pytest.raises(SettingsError) as err:
        load({"natGateways": 1}, "ap-northeast-2", "dev", NOW)
    assert err.value.problems == ["lab:natGateways = 1: expected one of single, perAz"]


def test_the_renamed_nodeport_key_is_refused_naming_lab_client_cidrs(tmp_path, monkeypatch, capsys):
    """A stack file of an earlier release: `plan` and `identity` exit 2 naming lab:clientCidrs,
    and what the message asks for (the value under lab:clientCidrs, the old key gone) is accepted."""
    from labtools import simulate
    from labtools.__main__ import main

    current = (simulate.settings_dir() / "Pulumi.dev.yaml").read_text()
    assert "  lab:clientCidrs:\n" in current
    (tmp_path / "Pulumi.old.yaml").write_text(current.replace("  lab:clientCidrs:\n", "  lab:nodePortSourceCidrs:\n"))
    monkeypatch.setenv("LAB_SETTINGS_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # identity reads the stack file of the current folder, as the CLI does
    capsys.readouterr()
    assert main(["plan", "--stack", "old", "--manifests", str(tmp_path / "m")]) == 2
    assert main(["identity", "--stack", "old"]) == 2
    err = capsys.readouterr().err
    assert err.count("lab:nodePortSourceCidrs = ") == 2 and err.count("renamed to lab:clientCidrs") == 2, err
    assert "Traceback" not in err and not (tmp_path / "m").exists()
    moved = load({"clientCidrs": '["198.51.100.7/32"]'}, "ap-northeast-2", "dev", NOW)
    assert [str(c) for c in moved.client_cidrs] == ["198.51.100.7/32"]
