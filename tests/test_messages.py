"""Every mistake, one true message: a broken stack file names its line and column; a stated
range is accepted at its ends; a suggestion is itself accepted; near misses are named."""

import argparse
import datetime as dt
import re

import pytest

from labtools import identity
from labtools.__main__ import main
from labtools.plan import stack_settings
from labtools.simulate import run_program
from stacks import fit
from stacks.config_reader import SettingsError
from stacks.model import lab_model
from stacks.settings import load
from stacks.settings.namespaces import aws_config_keys

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
REGION = "ap-northeast-2"


def problems(raw, other_keys=()) -> list[str]:
    with pytest.raises(SettingsError) as err:
        load(raw, REGION, "dev", NOW, other_keys)
    return err.value.problems


def accepted(raw, other_keys=()) -> None:
    load(raw, REGION, "dev", NOW, other_keys)


# -- the stack file ----------------------------------------------------------

BROKEN = {
    "syntax": ("config:\n  lab:owner: [a\n  lab:clusterName: x\n",
               "Pulumi.broken.yaml:3:18: expected ',' or ']', but got ':'"),
    "tab": ("config:\n\tlab:owner: me\n", "Pulumi.broken.yaml:2:1: found character '\\t' that cannot start any "
                                          "token; YAML indents with spaces, not tabs"),
    "not a mapping": ("- lab:owner: me\n", "Pulumi.broken.yaml:1:1: expected a mapping with a config: section"),
    "config not a mapping": ("config:\n  - lab:owner\n", "Pulumi.broken.yaml:2:3: config: expected a mapping"),
    "key without namespace": ("config:\n  owner: me\n",
                              "Pulumi.broken.yaml:2:3: config key 'owner': expected <namespace>:<name>"),
    "key twice": ("config:\n  lab:owner: a\n  lab:owner: b\n",
                  "Pulumi.broken.yaml:3:3: lab:owner is set twice (lines 2 and 3)"),
}


@pytest.fixture
def stack_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_SETTINGS_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # the message names the file as the user types it
    return tmp_path


@pytest.mark.parametrize("text, message", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_stack_file_is_one_line_with_file_line_and_column(stack_dir, capsys, text, message):
    (stack_dir / "Pulumi.broken.yaml").write_text(text)
    assert main(["plan", "--stack", "broken"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"plan: {message}") and err.count("\n") == 1, err


def test_identity_of_a_broken_stack_file_exits_2(stack_dir, capsys):
    (stack_dir / "Pulumi.broken.yaml").write_text(BROKEN["syntax"][0])
    assert identity.run(argparse.Namespace(stack="broken")) == 2
    assert capsys.readouterr().err == f"error: {BROKEN['syntax'][1]} (while parsing a flow sequence from line 2)\n"


def test_unquoted_values_reach_the_program_as_their_text(stack_dir):
    # The CLI keeps a scalar's text: 1.30 stays "1.30", a date stays its text (PyYAML made a date).
    (stack_dir / "Pulumi.dev.yaml").write_text(
        "config:\n  lab:kubernetesVersion: 1.30\n  lab:expires: 2030-01-01\n  lab:appReplicas: 4\n")
    with pytest.raises(SettingsError) as err:
        stack_settings("dev", NOW)
    assert err.value.problems == ["lab:kubernetesVersion = '1.30': expected one of 1.33, 1.34, 1.35, 1.36"]
    (stack_dir / "Pulumi.dev.yaml").write_text("config:\n  lab:kubernetesVersion: 1.36\n  lab:expires: 2030-01-01\n")
    assert stack_settings("dev", NOW).tags["lab:expires"] == "2030-01-01T00:00:00Z"


def test_a_version_yaml_made_a_number_says_to_quote_it():
    assert problems({"kubernetesVersion": 1.3}) == [
        'lab:kubernetesVersion = 1.3: expected a string: write it in quotes, as "1.30" '
        "(unquoted, YAML reads 1.30 as the number 1.3)"]
    assert "in quotes" not in problems({"owner": ["a"]})[0]  # only a number gets the hint


# -- ranges, suggestions, near misses ----------------------------------------

def test_the_range_app_replicas_states_is_accepted_at_its_ends():
    message = problems({"appReplicas": 500})[0]
    low, high = map(int, re.search(r"from (\d+) to (\d+)", message).groups())
    assert (low, high) == (2, 20)
    for inside in (low, high):
        accepted({"appReplicas": inside})
    assert problems({"appReplicas": low - 1}) == [message.replace("= 500", f"= {low - 1}")]
    # ...and the top of the range fits on larger nodes (fit speaks of the node groups otherwise)
    larger = {"instanceType": "m5.large", "desiredSize": 1, "minSize": 1, "maxSize": 1}
    s = load({"appReplicas": high, "publicNodeGroup": larger, "privateNodeGroup": {"instanceType": "m5.large"}},
             REGION, "dev", NOW)
    assert fit.problems(lab_model(s)) == []


@pytest.mark.parametrize("key, value", [("vpcCidr", "10.0.0.1/16"),
                                        ("publicSubnetCidrs", ["10.0.0.5/20", "10.0.16.0/20"]),
                                        ("apiAccessCidrs", ["203.0.113.7/24"])])
def test_host_bits_are_named_and_the_suggestion_is_accepted(key, value):
    [message] = problems({key: value})  # one message: no cascade about counts or the VPC
    suggested = re.search(r"has host bits set: did you mean (\S+)\?$", message).group(1)
    accepted({key: suggested if isinstance(value, str) else [suggested, *value[1:]]})


@pytest.mark.parametrize("typo", ["t3.smal", "t2.small", "m5.larg", "t4g.small", "c6i.4xlarge"])
def test_instance_type_suggestions_are_types_the_lab_takes(typo):
    [message] = problems({"privateNodeGroup": {"instanceType": typo}})
    suggestions = re.search(r"closest the lab takes: (.+)$", message).group(1).split(", ")
    assert suggestions and "t2.small" not in suggestions
    for suggestion in suggestions:
        accepted({"privateNodeGroup": {"instanceType": suggestion}})


def test_a_near_miss_of_a_lab_key_names_the_key():
    assert problems({"clusterNmae": "x"}) == ["lab:clusterNmae = 'x': unknown key; did you mean lab:clusterName?"]
    assert problems({"privateNodeGroup": {"instanceTyp": "t3.small"}}) == [
        "lab:privateNodeGroup.instanceTyp = 't3.small': unknown key; did you mean lab:privateNodeGroup.instanceType?"]
    far = problems({"colour": "x"})[0]
    assert "did you mean" not in far and "known keys are adminPrincipalArns" in far


def test_aws_keys_are_the_providers():
    keys = aws_config_keys()  # read from the installed pulumi-aws, not a copy
    assert {"region", "profile", "assumeRoles", "defaultTags", "skipCredentialsValidation"} <= keys
    assert problems({}, ["aws:regin", "aws:region", "aws:profile"]) == [
        "aws:regin: not a setting of the pulumi-aws provider; did you mean aws:region?"]
    assert problems({}, ["eks-networking-lab:owner"]) == [
        "eks-networking-lab:owner: the lab reads its settings from lab: keys only: did you mean lab:owner?"]


def test_the_program_checks_aws_keys_without_showing_their_values():
    graph, error = run_program({"aws:secretKy": "s3cr3t-value"}, now=NOW)
    assert "aws:secretKy: not a setting of the pulumi-aws provider; did you mean aws:secretKey?" in str(error)
    assert "s3cr3t-value" not in str(error) and graph.resources == []
