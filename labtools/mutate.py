"""`./lab mutate [MODULE...]`: do the tests fail when the code is wrong?

Mutation testing of the lab's pure modules: every mutant of labtools/mutants.py is
written into a copy of the tree, and the tests that cover its module run against
it; a mutant is killed when they fail (or time out), and survives when they pass.
The covering files are the `tests/test_*.py` that import the module (found
statically) or a module that re-exports it (FACADES), and a few more (EXTRA_TESTS).
Their baseline run, on the module's unmutated rewrite, must pass, and is traced
(labtools/mutate_trace.py): a mutant then runs the tests that ran one of its lines
(fastest first, `pytest -x`), and only if it survives them, their whole files (a
fixture of the file may have run the line for every test in it). A mutant on a line
no test runs survives unrun. Two mutants run at once, each in its own copy of the
tree. Not part of `./lab test`: it takes minutes (README, "Mutation testing").
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from labtools import UsageError, mutants
from labtools.mutate_report import ModuleResult, report_json, report_lines

ROOT = Path(__file__).resolve().parent.parent
PURE = ("stacks/settings/apps.py", "stacks/settings/cluster.py", "stacks/settings/load.py",
        "stacks/settings/network.py", "stacks/settings/types.py", "stacks/model.py", "stacks/names.py",
        "stacks/fit.py", "stacks/capacity.py", "smoke_tests/judge.py", "smoke_tests/stats.py",
        "smoke_tests/outputs.py", "smoke_tests/routes.py")
# Tests reach these modules through an importer that re-exports them.
FACADES = {"smoke_tests.routes": ("smoke_tests.outputs",), "stacks.settings.apps": ("stacks.settings",),
           "stacks.settings.cluster": ("stacks.settings",), "stacks.settings.load": ("stacks.settings",),
           "stacks.settings.network": ("stacks.settings",), "stacks.settings.types": ("stacks.settings",)}
# Test files that reach a module without importing it: the settings hold a cluster name to
# names.CLUSTER_NAME_MAX; the probes re-export stats.requests_needed.
EXTRA_TESTS = {"stacks.names": ("tests/test_settings.py",), "smoke_tests.stats": ("tests/test_smoke_probes.py",)}
NOT_COPIED = {".git", "venv", "__pycache__", ".lab-state", ".hypothesis", ".pytest_cache", "manifests"}
# Plugins no covering test uses cost start-up time on every run.
PYTEST = ["-B", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:html",
          "-p", "no:metadata", "-p", "no:hypothesispytest"]


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")


@lru_cache(maxsize=None)
def imported(path: Path) -> frozenset[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return frozenset(found)


def covering_tests(module: str, root: Path = ROOT) -> list[str]:
    """The test files that import `module` (a path such as stacks/names.py) or a facade of it."""
    name = module_name(module)
    wanted = {name, *FACADES.get(name, ())}
    return [str(p.relative_to(root)) for p in sorted((root / "tests").glob("test_*.py"))
            if wanted & imported(p) or str(p.relative_to(root)) in EXTRA_TESTS.get(name, ())]


def copy_tree(root: Path, into: Path) -> Path:
    """The project without its caches, state or history; the virtualenv linked, not copied."""
    tree = into / "tree"
    shutil.copytree(root, tree, symlinks=True, ignore=lambda _, names: [n for n in names if n in NOT_COPIED])
    if (root / "venv").exists():
        (tree / "venv").symlink_to((root / "venv").resolve())
    return tree


def run_tests(tree: Path, tests: list[str], timeout: float, *extra: str, env: dict | None = None) -> tuple[str, str]:
    """('passed' | 'failed' | 'timeout' | 'error', the output's tail). No bytecode is written or read
    (-B, no __pycache__ in the copy), so a mutant is never run from a stale .pyc."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "LAB_KEEP_TEST_ORDER": "1", **(env or {})}
    with tempfile.TemporaryFile("w+") as out:
        code = wait_or_kill(subprocess.Popen([sys.executable, *PYTEST, *extra, *tests], cwd=tree, stdout=out,
                                             stderr=subprocess.STDOUT, env=env, start_new_session=True), timeout)
        out.seek(0)
        tail = "\n".join(out.read().splitlines()[-15:])
    # 1: a test failed (or -x stopped), 2: a module did not import at collection.
    return {None: "timeout", 0: "passed", 1: "failed", 2: "failed"}.get(code, "error"), tail


def wait_or_kill(proc: subprocess.Popen, timeout: float) -> int | None:
    """The exit code, or None after killing the process's session (the tests' children too)."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


class Trees:
    """One copy of the tree per worker; a run borrows one and puts its module back after."""

    def __init__(self, root: Path, jobs: int, scratch: Path):
        self.scratch, self.free = scratch, queue.Queue()
        for i in range(jobs):
            (scratch / str(i)).mkdir()
            self.free.put(copy_tree(root, scratch / str(i)))
        # The tracing plugin under a name of its own: a toy tree has no labtools.
        (scratch / "plugin").mkdir()
        shutil.copy(Path(__file__).with_name("mutate_trace.py"), scratch / "plugin" / "lab_mutate_trace.py")

    def run(self, module: str, text: str, tests: list[str], timeout: float, trace: Path | None = None):
        """Runs `tests` with `module` as `text`; `trace`: the baseline's, traced into that file."""
        tree = self.free.get()
        target = tree / module
        original = target.read_text()
        extra, env = [], {}
        if trace:
            extra = ["-p", "lab_mutate_trace"]
            env = {"LAB_MUTATE_TRACE": str(target.resolve()), "LAB_MUTATE_LINES": str(trace),
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(self.scratch / "plugin"),
                                                               os.environ.get("PYTHONPATH")]))}
        try:
            target.write_text(text)
            return run_tests(tree, tests, timeout, *extra, env=env)
        finally:
            target.write_text(original)
            self.free.put(tree)


@dataclass
class Baseline:
    lines: dict[str, set[int]]
    """Test id (or "<import>") -> the lines of the module's rewrite it ran."""
    seconds: dict[str, float]

    def tests_running(self, span: tuple[int, int], files: list[str]) -> tuple[list[str], list[str]]:
        """(the tests that ran one of these lines, fastest first; their files). A line run at
        import (a constant, a default) is run for every test: then the files themselves, twice."""
        lines = set(range(span[0], span[1] + 1))
        if lines & self.lines.get("<import>", set()):
            return files, files
        tests = sorted((t for t, ran in self.lines.items() if t != "<import>" and lines & ran),
                       key=lambda t: (self.seconds.get(t, 0.0), t))
        return tests, [f for f in files if any(t.split("::")[0] == f for t in tests)]


def baseline(trees: Trees, module: str, text: str, result: ModuleResult) -> Baseline | None:
    """The covering tests on the unmutated rewrite, traced; None (and result.error) if they fail."""
    traced = trees.scratch / f"{module_name(module)}.json"
    outcome, tail = trees.run(module, mutants.source(text), result.tests, 1800, trace=traced)
    if outcome != "passed":
        result.error = f"its tests do not pass on the unmutated rewrite ({outcome}):\n{tail}"
        return None
    data = json.loads(traced.read_text())
    return Baseline({k: set(v) for k, v in data["lines"].items()}, data["seconds"])


def mutate_module(trees: Trees, pool: ThreadPoolExecutor, root: Path, module: str,
                  timeout: float | None) -> ModuleResult:
    started = time.monotonic()
    text = (root / module).read_text()
    result = ModuleResult(module, covering_tests(module, root))
    if not result.tests:
        result.error = "no test file imports it (nor a facade of it: labtools/mutate.py FACADES)"
        return result
    base = baseline(trees, module, text, result)
    if base is None:
        return result
    limit = timeout or 3 * (time.monotonic() - started) + 20  # the traced baseline is the slower
    spans = mutants.rewritten_spans(text)  # the lines as the traced baseline ran them

    def outcome(m: mutants.Mutant) -> str:
        tests, files = base.tests_running(spans[m.index], result.tests)
        if not tests:
            return "unrun"
        mutated = mutants.source(text, m.index)
        got = trees.run(module, mutated, tests, limit)[0]
        return trees.run(module, mutated, files, limit)[0] if got == "passed" and tests != files else got

    found = mutants.mutants(text)
    result.mutants = len(found)
    for mutant, got in zip(found, pool.map(outcome, found)):
        if got == "error":
            result.error = f"pytest could not run mutant {mutant.index} (line {mutant.line})"
        {"failed": result.killed, "timeout": result.timeouts, "unrun": result.unrun}.get(
            got, result.survivors).append(mutant)
    result.seconds = time.monotonic() - started
    return result


def run_mutation(modules: list[str], root: Path = ROOT, jobs: int = 2, timeout: float | None = None,
                 progress=None) -> list[ModuleResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="lab-mutate-") as scratch, ThreadPoolExecutor(jobs) as pool:
        trees = Trees(root, jobs, Path(scratch))
        for module in modules:
            results.append(mutate_module(trees, pool, root, module, timeout))
            if progress:
                progress(results[-1])
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"a module path (default: the pure modules, {', '.join(PURE)})")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default %(default)s)")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="per mutant (default: 3 x the module's traced baseline + 20 s)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--json", action="store_true", help="the report as JSON")


def chosen_modules(args: argparse.Namespace, root: Path = ROOT) -> list[str]:
    modules = [m.removeprefix("./") for m in args.modules] or list(PURE)
    for m in modules:
        if not m.endswith(".py") or not (root / m).is_file() or m.startswith(("tests/", "venv/")):
            raise UsageError(f"argument MODULE: {m!r} is not a module of the program; expected a path such as "
                             f"stacks/names.py (default: {', '.join(PURE)})")
    if args.jobs < 1:
        raise UsageError(f"argument --jobs: {args.jobs}; expected 1 or more")
    return modules


def run(args: argparse.Namespace) -> int:
    modules = chosen_modules(args)
    if args.list:
        found = {m: sorted(mutants.mutants((ROOT / m).read_text()), key=lambda x: (x.line, x.column, x.index))
                 for m in modules}
        if args.json:
            print(json.dumps({m: [{"line": x.line, "column": x.column, "mutant": x.description} for x in ms]
                              for m, ms in found.items()}, indent=2))
        else:
            print("\n".join(f"{m}:{x.line}:{x.column}: {x.description}" for m, ms in found.items() for x in ms))
        return 0

    def progress(r: ModuleResult) -> None:
        print(f"==> {r.module}: {r.mutants} mutants in {r.seconds:.0f}s", file=sys.stderr)

    results = run_mutation(modules, jobs=args.jobs, timeout=args.timeout, progress=progress)
    print(json.dumps(report_json(results), indent=2) if args.json else "\n".join(report_lines(results)))
    return 1 if any(r.error for r in results) else 0
