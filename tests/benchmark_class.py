"""Benchmark: a class of labs, the whole-class wall time from the model and the runner's own cost.

    venv/bin/python -m tests.benchmark_class [--students 10] [--write]

1. The time to every lab ready, K at a time, for 30 students: ceil(30 / K) rounds of the lab
   model's time to ready (stacks/estimates.py), as `./lab class plan` gives it.
2. `python -m labtools class up` against the fake Pulumi CLI (tests/fake_pulumi, its `up` instant),
   for 1 and N students one at a time, and N at 5 at a time: the marginal wall time per lab, and
   how much of it the fake CLI's processes take (a wrapper times each call); the rest is the
   runner's own (the Automation API's calls, the settings files, the result files).
`--write` puts the figures into BENCHMARK.md's section "A class of labs". Timings are measured
here, never asserted in the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAB_SETTINGS_DIR", str(ROOT / "tests" / "settings"))

from labtools.class_plan import ready_minutes  # noqa: E402
from labtools.roster import lab_settings, load_roster  # noqa: E402
from stacks import estimates  # noqa: E402
from stacks.model import lab_model  # noqa: E402
from tests.benchmark_file import replace_section  # noqa: E402

TITLE = "## A class of labs"
FAKE = ROOT / "tests" / "fake_pulumi" / "pulumi"


def roster_text(n: int) -> str:
    students = "".join(f"  - id: Student.{i:02d}\n    adminArn: arn:aws:iam::123456789012:role/s{i}\n"
                       for i in range(n))
    return f"class: bench\nexpires: 8h\nstudents:\n{students}"


def project(tmp: Path, n: int) -> tuple[Path, dict[str, str], Path]:
    work = tmp / "project"
    work.mkdir()
    shutil.copy2(ROOT / "Pulumi.yaml", work)
    shutil.copy2(ROOT / "tests" / "settings" / "Pulumi.dev.yaml", work)
    for name in ("stacks", "components", "labtools", "testapp", "venv"):
        (work / name).symlink_to(ROOT / name)
    (work / "roster.yaml").write_text(roster_text(n))
    bin_dir, calls = tmp / "bin", tmp / "calls.log"
    bin_dir.mkdir()
    # Times every call of the fake CLI: its share of the wall time is the fake's, not the runner's.
    (bin_dir / "pulumi").write_text(
        f'#!/bin/sh\nstart=$(date +%s.%N)\n"{sys.executable}" "{FAKE}" "$@"\nrc=$?\n'
        f'echo "$start $(date +%s.%N)" >> "{calls}"\nexit $rc\n')
    (bin_dir / "pulumi").chmod(0o755)
    (tmp / "backend").mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "LAB_SETTINGS_DIR": str(work),
           "PULUMI_BACKEND_URL": f"file://{tmp / 'backend'}", "PULUMI_CONFIG_PASSPHRASE": "bench"}
    return work, env, calls


def run_up(n: int, parallel: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work, env, calls = project(Path(tmp), n)
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "labtools", "class", "up", "--roster", "roster.yaml", "--yes",
                               "--skip-preflight", "--parallel", str(parallel)], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        spans = [tuple(map(float, line.split())) for line in calls.read_text().splitlines()]
        return {"wall": wall, "calls": len(spans), "cli": sum(end - start for start, end in spans)}


def measure(n: int) -> dict:
    roster = load_roster(_roster_file(n))
    minutes = estimates.provision_minutes(lab_model(lab_settings(roster, roster.students[0])))
    one, many, wide = run_up(1, 1), run_up(n, 1), run_up(n, 5)
    marginal = (many["wall"] - one["wall"]) / (n - 1)
    cli = (many["cli"] - one["cli"]) / (n - 1)
    return {"n": n, "minutes": minutes, "one": one, "many": many, "wide": wide, "marginal": marginal,
            "cli_per_lab": cli, "calls_per_lab": (many["calls"] - one["calls"]) / (n - 1),
            "load": os.getloadavg()[0]}


def _roster_file(n: int) -> Path:
    path = Path(tempfile.mkdtemp()) / "roster.yaml"
    path.write_text(roster_text(n))
    return path


def section(row: dict) -> str:
    times = [(k, *ready_minutes(30, k, row["minutes"])) for k in (1, 5, 10, 15, 30)]
    return "\n".join([
        TITLE,
        "",
        f"Date: {dt.date.today().isoformat()}; machine: {os.cpu_count()} cores, load average {row['load']:.1f} "
        "(shared with other work). One run of `venv/bin/python -m tests.benchmark_class --write`.",
        "",
        f"Every lab ready, for 30 students, K at a time: ceil(30 / K) rounds of the lab model's "
        f"{row['minutes']} minutes to a ready lab (`./lab class plan` gives the same). The labs of a round are "
        "independent stacks, so a round takes one lab's time, as long as the account's API rates hold K builds.",
        "",
        "| K at a time | rounds | minutes |",
        "| ---: | ---: | ---: |",
        *(f"| {k} | {rounds} | {minutes} |" for k, rounds, minutes in times),
        "",
        f"The local runner against the fake Pulumi CLI (`up` instant; `python -m labtools class up --skip-preflight` "
        f"in a fresh backend): {row['n']} students one at a time in {row['many']['wall']:.2f} s, one student in "
        f"{row['one']['wall']:.2f} s (Python, the roster, the Automation API imported), {row['n']} at 5 at a time "
        f"in {row['wide']['wall']:.2f} s.",
        "",
        "| per lab (one at a time) | s |",
        "| --- | ---: |",
        f"| wall time, marginal | {row['marginal']:.2f} |",
        f"| of which the fake CLI's {row['calls_per_lab']:.0f} processes (stack select, stack init, up, "
        f"stack output twice, stack history twice) | {row['cli_per_lab']:.2f} |",
        f"| the runner's own (the rest) | {row['marginal'] - row['cli_per_lab']:.2f} |",
        "",
        "Goal: the runner's own overhead under 1 s per lab. Against the real CLI each of those calls starts a Go "
        "binary and reads the backend (an S3 round trip or more), small against a lab's minutes. Not measured "
        "against AWS or a real Pulumi CLI: neither is reachable here.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="write BENCHMARK.md's class section")
    args = parser.parse_args(argv)
    row = measure(args.students)
    text = section(row)
    print(text)
    if args.write:
        replace_section(TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
