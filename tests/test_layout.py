"""The program and the tools beside it: one direction of imports, no circles, small files.

The program is what `pulumi up` runs (__main__.py, stacks/, components/); the tools
(labtools/) import it, never the reverse. The lab model and its readers (cost, time,
entry points, settings) import no Pulumi at all.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from labtools.mutate import imported

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ["__main__.py", "stacks", "components"]
SOURCES = ["__main__.py", "stacks", "components", "labtools", "smoke_tests", "testapp"]
MAX_LINES = 300


def files(*roots: str) -> list[Path]:
    found = []
    for root in roots:
        path = ROOT / root
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: Path) -> set[str]:
    return set(imported(path))  # the mutation tool's reading of a file's absolute imports


def circles(paths: list[Path]) -> list[list[str]]:
    mods = {module_name(p): p for p in paths}
    edges = {m: {i for i in imports(p) if i in mods and i != m} for m, p in mods.items()}
    found, state = [], {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = "open"
        for n in sorted(edges[m]):
            if state.get(n) == "open":
                found.append(trail[trail.index(n):] + [n] if n in trail else [m, n])
            elif n not in state:
                visit(n, [*trail, n])
        state[m] = "done"

    for m in sorted(mods):
        if m not in state:
            visit(m, [m])
    return found


def test_the_program_imports_nothing_of_the_tools():
    bad = {str(p.relative_to(ROOT)): sorted(i for i in imports(p) if i.split(".")[0] == "labtools")
           for p in files(*PROGRAM)}
    assert {k: v for k, v in bad.items() if v} == {}


def test_no_import_circle():
    assert circles(files(*SOURCES)) == []


def test_the_circle_check_finds_a_circle(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("from pkg import b\n")
    (tmp_path / "pkg" / "b.py").write_text("import pkg.a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert circles(files("pkg")) == [["pkg.a", "pkg.b", "pkg.a"]]


@pytest.mark.parametrize("path", files(*SOURCES), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_source_file_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_the_model_and_its_readers_import_no_pulumi():
    code = ("import sys, stacks.model, stacks.prices, stacks.estimates, stacks.entrypoints, stacks.settings; "
            "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    return text.split("## Layout", 1)[1].split("```", 2)[1]


def layout_problems(block: str) -> list[str]:
    named = set(re.findall(r"[\w]+\.py", block))
    everywhere = {p.name for p in ROOT.rglob("*.py") if "venv" not in p.parts}
    problems = [f"{name} is not in the tree" for name in sorted(named - everywhere)]
    for package in ("stacks", "labtools", "smoke_tests"):
        for module in sorted((ROOT / package).glob("*.py")):
            if module.stem not in ("__init__", "__main__", "conftest") and not module.stem.startswith("test_") \
                    and module.stem not in block:
                problems.append(f"{package}/{module.name} is not in the README's layout")
    return problems


def test_the_readme_layout_matches_the_tree():
    assert layout_problems(layout_block()) == []


def test_a_module_missing_from_the_layout_is_caught():
    # (not preflight.py: the README names the preflight command beside it)
    assert layout_problems(layout_block().replace("estimates.py", "")) == [
        "stacks/estimates.py is not in the README's layout"]
    assert layout_problems(layout_block() + " gone.py") == ["gone.py is not in the tree"]
