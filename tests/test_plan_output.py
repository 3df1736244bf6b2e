"""`./lab plan` as people and programs read it: the same bytes for the same settings (in
another process too), the summary on top, one time to a ready lab, one thing on stdout."""

import io
import json
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from labtools import UsageError, plan, plan_text
from labtools.simulate import ROOT, Graph

# The plan as `python -m labtools plan` runs it, text then JSON, in a process of its own: the
# order the SDK registers in and the key order of what crosses the mock monitor differ there.
CHILD = """
import contextlib, io, json, sys
from labtools.__main__ import main
outs = []
for extra in ([], ["--json"]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["plan", "--stack", "dev", "--manifests", sys.argv[1], *extra])
    outs.append([code, out.getvalue()])
print(json.dumps(outs))
"""


def files_in(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def plan_here(folder) -> tuple[str, str, dict[str, bytes]]:
    outs = []
    for as_json in (False, True):
        out = io.StringIO()
        args = SimpleNamespace(stack="dev", manifests=folder, json=as_json, diagram=None)
        assert plan.run(args, out, io.StringIO()) == 0
        outs.append(out.getvalue())
    return outs[0], outs[1], files_in(folder)


def plan_in_child(folder) -> tuple[str, str, dict[str, bytes]]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (text_code, text), (json_code, as_json) = json.loads(done.stdout)
    assert text_code == json_code == 0
    return text, as_json, files_in(folder)


@pytest.fixture(scope="module")
def here(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    text, as_json, files = plan_here(folder)
    return folder, text, json.loads(as_json), as_json, files


def test_the_same_settings_give_the_same_bytes_in_another_process(here):
    folder, text, _, as_json, files = here
    child_text, child_json, child_files = plan_in_child(folder)  # the same folder: the same paths printed
    assert child_text == text
    assert child_json == as_json
    assert child_files == files  # the manifests and Helm values too


# ---- the summary on top ---------------------------------------------------

def summary_of(text: str) -> dict[str, str]:
    block = text.split("\nSummary\n", 1)[1].split("\n\n", 1)[0]
    fields, key = {}, None
    for line in block.splitlines():
        found = re.match(r"  (\S[^:]*):\s+(.*)", line)
        if found:
            key, fields[found.group(1)] = found.group(1), found.group(2)
        else:
            fields[key] += " " + line.strip()
    return fields


def test_the_summary_comes_first_with_cost_time_and_entry_points(here):
    _, text, report, _, _ = here
    assert text.index("\nSummary\n") < text.index("\nResources (")
    s = summary_of(text)
    assert {"cost", "ready after", "entry points"} <= set(s)  # more lines may join them
    assert s["cost"].startswith(f"${report['hourlyCostUsd']:.4f} an hour, ${report['dailyCostUsd']:.2f} a day")
    assert s["ready after"].startswith(f"~{report['provisionMinutes']:.1f} min")
    count, names = s["entry points"].split(": ", 1)
    assert int(count) == len(report["entrypoints"]) and names.split(", ") == list(report["entrypoints"])


def test_a_cost_that_cannot_be_estimated_says_why_in_the_summary():
    report = {"hourlyCostUsd": None, "costError": "no prices for eu-west-9", "criticalPath": [], "entrypoints": {},
              "account": {"quotas": [{"name": "VPCs", "zone": None, "needed": 1},
                                     {"name": "NAT gateways", "zone": "eu-west-9a", "needed": 1}]}}
    lines = plan_text.summary_lines(report)
    assert "  cost:         not estimated: no prices for eu-west-9" in lines
    assert "  entry points: none" in lines
    # What the account must hold is on top too, each quota with its zone when it has one.
    assert "  account:      VPCs 1, NAT gateways in eu-west-9a 1 (./lab preflight checks the account)" in lines


def chain_numbers(text: str) -> tuple[str, str, str]:
    """(the header's time, the chain's last line, the summary's time)."""
    header = re.search(r"Estimated time to a ready lab: ~([0-9.]+) min", text).group(1)
    chain = text.split("Estimated time to a ready lab", 1)[1].split("\n\n", 1)[0]
    last = re.findall(r"^ *([0-9.]+) min \+", chain, re.M)[-1]
    summary = re.search(r"ready after: +~([0-9.]+) min", text).group(1)
    return header, last, summary


def test_the_headers_time_is_where_the_chain_ends(here):
    _, text, report, _, _ = here
    assert len(set(chain_numbers(text))) == 1, chain_numbers(text)
    # A chain that ends on a half minute (rounded to a whole one, 18.5 read "~18").
    steps = [{"type": "eks:index:Cluster", "name": "eks-test", "minutes": 10.0},
             {"type": "eks:index:ManagedNodeGroup", "name": "ng-private", "minutes": 8.5}]
    out = io.StringIO()
    plan_text.print_report({**report, "criticalPath": steps, "provisionMinutes": 18.5}, Graph([], {}), out)
    assert chain_numbers(out.getvalue()) == ("18.5", "18.5", "18.5")


# ---- one thing on stdout --------------------------------------------------

def test_json_with_the_diagram_on_stdout_is_refused_before_anything_runs(tmp_path, capsys):
    from labtools.__main__ import main

    args = SimpleNamespace(stack="dev", manifests=tmp_path / "m", json=True, diagram="-")
    err = io.StringIO()
    with pytest.raises(UsageError, match=r"--diagram: '-' prints only the diagram.*--json --diagram FILE"):
        plan.run(args, io.StringIO(), err)
    assert err.getvalue() == "" and not (tmp_path / "m").exists()  # refused before the simulation
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--json", "--diagram", "-", "--manifests", str(tmp_path / "m")])
    assert exited.value.code == 2 and "cannot go with --json" in capsys.readouterr().err
