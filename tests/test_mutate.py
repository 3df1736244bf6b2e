"""`./lab mutate`'s own logic: the mutants it makes, and a run on a toy module with a toy test
(one mutant killed, one survived though its line runs, the rest on a line no test runs)."""

from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import pytest

from labtools import UsageError, mutate, mutants

SNIPPET = '''"""A docstring: 1 2 3."""
from __future__ import annotations
LIMIT: int = 3


@lru_cache(maxsize=4)
def f(x: Literal[7], items=()) -> bool:
    """Not mutated either: 5."""
    if x < LIMIT and not items:
        return min(x, 2) + 1
    return x in items
'''


def test_every_kind_of_mutant_in_source_order():
    assert [(m.line, m.description) for m in mutants.mutants(SNIPPET)] == [
        (3, "`3` -> `4`"),  # not the decorator's 4, nor the 5 and 7 of a docstring and an annotation
        (9, "`<` -> `<=` in `x < LIMIT`"),
        (9, "`not ` dropped in `not items`"),
        (9, "`and` -> `or` in `x < LIMIT and (not items)`"),
        (10, "`2` -> `3`"),
        (10, "`min` -> `max` in `min(x, 2)`"),
        (10, "`1` -> `2`"),
        (10, "`+` -> `-` in `min(x, 2) + 1`"),
        (10, "return emptied: `min(x, 2) + 1`"),
        (9, "condition negated: `x < LIMIT and (not items)`"),
        (11, "`in` -> `not in` in `x in items`"),
        (11, "return emptied: `x in items`"),
    ]


def test_each_mutant_changes_only_its_place():
    plain = mutants.source(SNIPPET)
    for m in mutants.mutants(SNIPPET):
        changed = [(a, b) for a, b in zip(plain.splitlines(), mutants.source(SNIPPET, m.index).splitlines()) if a != b]
        assert len(changed) == 1, (m, changed)
    assert "return max(x, 2) + 1" in mutants.source(SNIPPET, 5)
    assert "return (min(x, 2) + 1).__class__()" in mutants.source(SNIPPET, 8)
    assert "if not (x < LIMIT and (not items)):" in mutants.source(SNIPPET, 9)
    with pytest.raises(IndexError):
        mutants.source(SNIPPET, 12)
    assert mutants.mutants("def g():\n    return []\n") == []  # nothing to empty


TOY = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    "toy/__init__.py": "",
    "toy/calc.py": "def clamp(x, top):\n    return top if x > top else x\n\n\ndef unused(x):\n    return x - 1\n",
    "tests/test_calc.py": "from toy import calc\n\n\ndef test_clamp():\n    assert calc.clamp(5, 3) == 3\n",
    "tests/test_other.py": "def test_nothing_of_toy():\n    pass\n",
}


def test_a_toy_run_kills_reports_survivors_and_skips_lines_no_test_runs(tmp_path):
    for path, text in TOY.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (result,) = mutate.run_mutation(["toy/calc.py"], root=tmp_path, jobs=1)
    assert mutate.report_lines([result]) == [
        "1 modules, 5 mutants, 1 killed (20.0%)",
        "toy/calc.py: 5 mutants, 1 killed (20.0%), 4 survived; tests: tests/test_calc.py",
        # clamp(5, 3) cannot tell `>` from `>=`; `x - 1` is never called.
        "  survived toy/calc.py:2:19: `>` -> `>=` in `x > top`",
        "  survived toy/calc.py:6:5: return emptied: `x - 1` (no test runs this line)",
        "  survived toy/calc.py:6:12: `-` -> `+` in `x - 1` (no test runs this line)",
        "  survived toy/calc.py:6:16: `1` -> `2` (no test runs this line)",
    ]
    assert [m.description for m in result.killed] == ["return emptied: `top if x > top else x`"]
    report = mutate.report_json([result])["modules"][0]
    assert {k: report[k] for k in ("module", "mutants", "killed", "timeouts", "score", "error")} == {
        "module": "toy/calc.py", "mutants": 5, "killed": 1, "timeouts": 0, "score": 20.0, "error": None}
    assert report["survivors"][0] == {"line": 2, "column": 19, "mutant": "`>` -> `>=` in `x > top`", "run": True}
    assert (tmp_path / "toy/calc.py").read_text() == TOY["toy/calc.py"]  # the tree is never touched


def test_a_module_with_nothing_to_mutate_has_no_score():
    result = mutate.ModuleResult("stacks/settings/types.py", ["tests/test_settings.py"])
    assert mutate.report_lines([result])[1] == (
        "stacks/settings/types.py: 0 mutants, 0 killed (nothing to mutate), 0 survived; tests: tests/test_settings.py")
    assert mutate.report_json([result])["modules"][0]["score"] is None


def test_a_module_whose_tests_fail_unmutated_is_an_error(tmp_path):
    for path, text in {**TOY, "tests/test_calc.py": TOY["tests/test_calc.py"].replace("== 3", "== 4")}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (result,) = mutate.run_mutation(["toy/calc.py"], root=tmp_path, jobs=1)
    assert result.mutants == 0 and result.error.startswith("its tests do not pass on the unmutated rewrite (failed)")


def test_a_mutant_past_its_timeout_is_stopped_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    proc = subprocess.Popen(["bash", "-c", f"sleep 60 & echo $! > {pid_file}; wait"], start_new_session=True)
    while not pid_file.exists() or not pid_file.read_text().strip():
        time.sleep(0.01)
    assert mutate.wait_or_kill(proc, 0.2) is None
    stat = Path(f"/proc/{pid_file.read_text().strip()}/stat")
    for _ in range(100):  # the child went with its parent's session (a zombie, where nothing reaps it)
        if not stat.exists() or stat.read_text().split(")")[1].split()[0] == "Z":
            break
        time.sleep(0.01)
    else:
        pytest.fail("the child of the timed-out run is still running")


def test_covering_tests_are_found_by_their_imports_and_facades():
    assert mutate.covering_tests("smoke_tests/stats.py") == [  # test_smoke_probes: EXTRA_TESTS
        "tests/test_smoke_probes.py", "tests/test_smoke_stats.py", "tests/test_smoke_verdicts.py",
        "tests/test_smoke_weights.py"]
    assert "tests/test_settings.py" in mutate.covering_tests("stacks/settings/network.py")  # via stacks.settings


@pytest.mark.parametrize("modules, jobs, message", [
    (["stacks/nope.py"], 2, "argument MODULE: 'stacks/nope.py' is not a module of the program; expected a path"),
    (["tests/test_fits.py"], 2, "'tests/test_fits.py' is not a module of the program"),
    (["stacks/names.py"], 0, "argument --jobs: 0; expected 1 or more"),
])
def test_bad_arguments_are_named(modules, jobs, message):
    with pytest.raises(UsageError, match=message):
        mutate.chosen_modules(argparse.Namespace(modules=modules, jobs=jobs))


def test_the_front_door_lists_the_mutants_and_its_usage_names_the_command():
    done = subprocess.run([str(mutate.ROOT / "lab"), "mutate", "--list", "stacks/names.py"], cwd=mutate.ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(mutants.mutants((mutate.ROOT / "stacks/names.py").read_text()))
    source = (mutate.ROOT / "stacks/names.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if text.startswith("LB_NAME_MAX = 32"))
    assert f"stacks/names.py:{line}:15: `32` -> `33`" in lines
    usage = subprocess.run([str(mutate.ROOT / "lab"), "help"], capture_output=True, text=True, timeout=10).stdout
    assert "./lab mutate  [MODULE..] [--jobs N] [--timeout SECONDS] [--list] [--json]" in usage
    assert usage.splitlines()[0] == "The lab's front door."
    assert usage.splitlines()[-1].startswith("PULUMI_CONFIG_PASSPHRASE(_FILE)")  # the whole header, no more
