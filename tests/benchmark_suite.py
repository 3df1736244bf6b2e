"""`./lab test`, warm, side by side: a base revision against this tree, in turns, in one run.

    venv/bin/python -m tests.benchmark_suite [--base REV] [--rounds N] [--workers 2,3] [--write]

The base is checked out with `git worktree add` into the temp folder (sharing ./venv) and removed
at the end. Each tree runs once to warm its bytecode cache, then the rows alternate: base, then this
tree with each worker count of --workers (`-n K`, which ./lab test's own -n gives way to), then the
base again, so a change in the machine's load falls on both. Per row: wall and CPU seconds (the
run's process tree), the 1-minute load average at its start, and pytest's count. A timed test would
flake on a busy machine; this is measured, and recorded (`--write`: BENCHMARK.md's section).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TITLE = "## The offline suite, side by side"
TEST = ["./lab", "test", "-q", "-p", "no:cacheprovider"]


@dataclass
class Row:
    tree: str
    workers: str
    load: float
    wall_s: float
    cpu_s: float
    result: str


def run(tree: Path, label: str, workers: int | None) -> Row:
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(TEST + ([f"-n{workers}"] if workers else []), cwd=tree, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    last = (done.stdout.strip().splitlines() or ["?"])[-1]
    result = re.sub(r"^=+ | in [\d.]+s.*$|=+$", "", last).strip()
    row = Row(label, str(workers) if workers else "its own", load, wall, cpu, result)
    for line in done.stdout.splitlines():  # a failing row says which tests and why
        if line.startswith(("FAILED ", "ERROR ")):
            print(f"  {label}: {line[:300]}", file=sys.stderr)
    print(f"{row.tree:>8} -n {row.workers:>7}  load {row.load:4.1f}  {row.wall_s:6.1f} s wall  "
          f"{row.cpu_s:6.1f} s CPU  {row.result}", file=sys.stderr, flush=True)
    return row


def table(rows: list[Row], base: str) -> str:
    lines = ["| tree | workers | load at start | wall s | CPU s | result |", "| --- | ---: | ---: | ---: | ---: | --- |"]
    lines += [f"| {'base ' + base if r.tree == 'base' else 'this tree'} | {r.workers} | {r.load:.1f} | {r.wall_s:.1f} "
              f"| {r.cpu_s:.1f} | {r.result} |" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD", help="the revision to compare against (default HEAD)")
    parser.add_argument("--rounds", type=int, default=2, help="turns of base and this tree (default 2)")
    parser.add_argument("--workers", default="", help="worker counts to try on this tree, e.g. 2,3 "
                                                       "(default: ./lab test's own)")
    parser.add_argument("--write", action="store_true", help="put the table into BENCHMARK.md")
    args = parser.parse_args(argv)
    try:
        counts = [int(w) for w in args.workers.split(",") if w] or [None]
    except ValueError:
        parser.error(f"--workers {args.workers!r}: expected whole numbers separated by commas, e.g. 2,3")
    if args.rounds < 1 or any(c is not None and c < 1 for c in counts):
        parser.error("--rounds and every --workers count must be 1 or more")
    found = subprocess.run(["git", "rev-parse", "--short", "--verify", f"{args.base}^{{commit}}"], cwd=ROOT,
                           capture_output=True, text=True)
    if found.returncode != 0:
        parser.error(f"--base {args.base!r}: not a revision of this repository (a commit, tag or branch)")
    base = found.stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix="lab-bench-"))
    tree = folder / "base"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), base], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        (tree / "venv").symlink_to(ROOT / "venv")
        print("warming both trees' bytecode caches", file=sys.stderr)
        run(tree, "base", None)
        run(ROOT, "this", counts[0])
        rows: list[Row] = []
        for _ in range(args.rounds):
            rows.append(run(tree, "base", None))
            rows += [run(ROOT, "this", c) for c in counts]
        rows.append(run(tree, "base", None))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    text = table(rows, base)
    print(text)
    if args.write:
        from tests.benchmark_file import replace_section

        cores = os.cpu_count()
        replace_section(TITLE, f"{TITLE}\n\nDate: {time.strftime('%Y-%m-%d')}. Measured by `venv/bin/python -m "
                               f"tests.benchmark_suite --base {base} --rounds {args.rounds}"
                               f"{' --workers ' + args.workers if args.workers else ''}` on {cores} cores, "
                               f"in turns (the first run of each tree, which warms its bytecode, left out):\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
