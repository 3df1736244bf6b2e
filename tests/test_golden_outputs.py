"""The stack outputs under the mocks, for the posts' settings and two variants, are exactly
those recorded in tests/golden/outputs.json. A change of the outputs contract is made on
purpose: regenerate with `LAB_UPDATE_GOLDEN=1 ./lab test tests/test_golden_outputs.py`
and review the diff."""

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from labtools.simulate import plain
from tests.programs import run_lab

GOLDEN = Path(__file__).resolve().parent / "golden" / "outputs.json"
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)
CASES = {
    "dev": {},
    "nginx-lb": {"lab:ingressNginx": {"serviceType": "LoadBalancer"}},
    "no-controller": {"lab:modules": {"loadBalancerController": False, "alb": False, "nlb": False, "gatewayApi": False}},
}


def differences(got: dict, recorded: dict) -> list[str]:
    """The output names whose values differ from the record (or that one side lacks)."""
    return sorted(k for k in set(got) | set(recorded) if got.get(k) != recorded.get(k))


def outputs(overrides: dict) -> dict:
    return json.loads(json.dumps(plain(run_lab(overrides, now=NOW).outputs)))


@pytest.mark.parametrize("case", CASES)
def test_outputs_are_the_recorded_ones(case):
    got = outputs(CASES[case])
    if os.environ.get("LAB_UPDATE_GOLDEN"):
        recorded = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        GOLDEN.write_text(json.dumps({**recorded, case: got}, indent=1, sort_keys=True) + "\n")
    assert differences(got, json.loads(GOLDEN.read_text())[case]) == []


def test_a_changed_route_or_a_lost_output_is_caught():
    recorded = json.loads(GOLDEN.read_text())["dev"]
    changed = json.loads(json.dumps(recorded))
    changed["entrypoints"]["nginx"]["routes"][0]["appSees"] = "/v1"
    del changed["vpcId"]
    assert differences(changed, recorded) == ["entrypoints", "vpcId"]
