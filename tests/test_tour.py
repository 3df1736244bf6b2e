"""`./lab tour` on recorded outputs, offline: the lessons' commands filled in from the outputs,
the same text for the same input with a JSON twin, bad outputs refused with the file and
the key. Its --run against real processes is in tests/test_local_replica.py; through the
front door with the fake Pulumi CLI in tests/test_lab_reach.py."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from labtools import tour
from labtools.lessons import LESSONS

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((ROOT / "tests" / "golden" / "outputs.json").read_text())


def outputs_file(tmp_path: Path, data, name: str = "outputs.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def run_tour(tmp_path: Path, outputs: Path, *extra: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    tour.add_arguments(parser)
    args = parser.parse_args(["--outputs", str(outputs), "--ca-dir", str(tmp_path / "ca"), *extra])
    out, err = io.StringIO(), io.StringIO()
    return tour.run(args, out, err), out.getvalue(), err.getvalue()


def test_the_tour_fills_in_the_labs_addresses(tmp_path):
    dev = GOLDEN["dev"]
    path = outputs_file(tmp_path, dev)
    code, text, err = run_tour(tmp_path, path, "--node-address", "203.0.113.10")
    assert code == 0, err
    alb = dev["entrypoints"]["alb"]["url"]
    assert f"curl -s -H 'Host: my.example.com' {alb}/some-other-path/x  # app1 (any of its 3 pods)" in text
    assert "curl -s http://203.0.113.10:30002/  # app1 (only its pod on that node), sees /, client: your address" in text
    ca = tmp_path / "ca" / "dev-traefik-ca.pem"
    assert ca.read_text() == dev["entrypoints"]["traefik"]["caCertificate"]
    assert f"--cacert {ca} --connect-to myapp.example.com:443:traefik-nlb-0123456789" in text
    assert "$" not in "".join(line for line in text.splitlines() if line.lstrip().startswith("curl"))
    assert "NODE_IP: 203.0.113.10 (--node-address)" in text
    assert [f"{lesson.number}. {lesson.title}" in text for lesson in LESSONS] == [True] * len(LESSONS)


def test_the_same_outputs_give_the_same_text_and_its_json_twin(tmp_path):
    path = outputs_file(tmp_path, GOLDEN["dev"])
    first, second = run_tour(tmp_path, path)[1], run_tour(tmp_path, path)[1]
    assert first == second and "NODE_IP: $NODE_IP (unknown: give --node-address ADDR" in first
    assert "curl -s http://$NODE_IP:30001/" in first  # without an address, the guide's variable
    code, as_json, _ = run_tour(tmp_path, path, "--json")
    report = json.loads(as_json)
    assert code == 0 and report["source"] == f"--outputs {path}" and not report["ran"]
    commands = [s["command"] for lesson in report["lessons"] for s in lesson["steps"]]
    assert [line.strip().split("  # ")[0] for line in first.splitlines()
            if line.strip().startswith(("curl ", "kubectl "))] == commands


def test_lessons_of_modules_that_are_off_say_so(tmp_path):
    path = outputs_file(tmp_path, GOLDEN["no-controller"])
    code, as_json, _ = run_tour(tmp_path, path, "--json")
    # The NLB, the ALB and the Gateway need the controller, which is off.
    assert code == 0 and [l["number"] for l in json.loads(as_json)["lessons"] if not l["present"]] == [3, 6, 8]
    assert run_tour(tmp_path, path)[1].count("not in this lab: its entry points are not in the outputs") == 3


def broken(edit) -> dict:
    data = json.loads(json.dumps(GOLDEN["dev"]))
    edit(data)
    return data


@pytest.mark.parametrize("content, says", [
    ("{not json", "invalid JSON at line 1 column 2"),
    ("[1, 2]", "expected a JSON object of stack outputs, got list"),
    (broken(lambda d: d.pop("entrypoints")), "entrypoints: missing; expected an object"),
    (broken(lambda d: d["entrypoints"]["alb"]["routes"][1].pop("app")), "entrypoints.alb.routes[1].app: missing"),
    (broken(lambda d: d["entrypoints"]["nodeport"].update(nodePort="30001")),
     "entrypoints.nodeport.nodePort: expected an integer"),
], ids=["not-json", "not-an-object", "no-entrypoints", "route-without-app", "port-as-string"])
def test_bad_outputs_stop_with_the_file_and_the_key(tmp_path, content, says):
    path = outputs_file(tmp_path, content)
    code, text, err = run_tour(tmp_path, path)
    assert code == 2 and text == ""
    assert err.count("\n") == 1 and err.startswith(f"lab tour: --outputs {path}: ") and says in err, err


def test_a_missing_outputs_file_is_named(tmp_path):
    code, _, err = run_tour(tmp_path, tmp_path / "nope.json")
    assert code == 2 and err == f"lab tour: --outputs {tmp_path / 'nope.json'}: no such file\n"
