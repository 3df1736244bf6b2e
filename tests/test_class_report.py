"""The class runner's rules (one student's failure stops no other; Ctrl-C starts no new lab) and the
class report (cost so far, time left, links, escaping), as functions: no Pulumi, no AWS."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from pathlib import Path

import pytest

from labtools import class_ops, class_report, class_run
from labtools.class_ops import Context, Outcome
from labtools.roster import load_roster

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def roster(tmp_path):
    path = tmp_path / "roster.yaml"
    ids = ["alice", "bob", "carol", "<b>dave</b>"]
    students = "".join(f"  - id: \"{i}\"\n    adminArn: arn:aws:iam::123456789012:role/s{n}\n"
                       for n, i in enumerate(ids))
    path.write_text(f"class: fall\nstudents:\n{students}", encoding="utf-8")
    return load_roster(path)


def context(roster, tmp_path: Path) -> Context:
    return Context(roster, tmp_path, tmp_path / "results")


def test_one_students_error_never_stops_the_others(roster, tmp_path, monkeypatch):
    ctx, lines = context(roster, tmp_path), []

    def up(ctx, student):
        if student.id == "bob":
            raise RuntimeError("the program broke")
        time.sleep(0.05)
        return Outcome("ready", 0.1)

    monkeypatch.setitem(class_ops.OPERATIONS, "up", up)
    outcomes = class_run.run_class(ctx, roster.students, "up", 2, lines.append, heartbeat=0.01)

    assert [outcomes[s.stack].state for s in roster.students] == ["ready", "failed", "ready", "ready"]
    assert outcomes["fall-bob"].detail == "RuntimeError: the program broke"
    assert class_report.read_result(ctx.out, roster.student("bob"))["up"]["state"] == "failed"
    assert "[bob] failed after 0.0 min: RuntimeError: the program broke" in lines
    assert any(line.startswith("building: ") and "waiting" in line for line in lines)  # the heartbeat


def test_at_most_k_run_at_once(roster, tmp_path, monkeypatch):
    running, most, lock = [0], [0], threading.Lock()

    def up(ctx, student):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return Outcome("ready", 0.0)

    monkeypatch.setitem(class_ops.OPERATIONS, "up", up)
    class_run.run_class(context(roster, tmp_path), roster.students, "up", 2, lambda _: None, heartbeat=0.01)
    assert most[0] == 2


def test_ctrl_c_starts_no_new_lab_and_waits_for_those_running(roster, tmp_path, monkeypatch):
    ctx, started = context(roster, tmp_path), []

    def up(ctx, student):
        started.append(student.id)
        time.sleep(0.2)
        return Outcome("interrupted" if ctx.stop.is_set() else "ready", 0.0)

    def say(line: str) -> None:
        if line.startswith("building: ") and threading.current_thread() is threading.main_thread():
            raise KeyboardInterrupt  # what a Ctrl-C does to the waiting main thread

    monkeypatch.setitem(class_ops.OPERATIONS, "up", up)
    with pytest.raises(class_run.Interrupted) as caught:
        class_run.run_class(ctx, roster.students, "up", 1, say, heartbeat=0.02)
    states = {k: o.state for k, o in caught.value.outcomes.items()}
    assert started == ["alice"] and states["fall-alice"] == "interrupted"
    assert [states[s.stack] for s in roster.students[1:]] == ["not started"] * 3


def result(ctx: Context, student, **steps) -> None:
    folder = class_report.folder(ctx.out, student)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("up.log", "smoke-report.html"):
        (folder / name).write_text("x")
    (folder / "result.json").write_text(json.dumps({"id": student.id, **steps}))


def test_the_report_counts_cost_so_far_and_time_left(roster, tmp_path):
    ctx = context(roster, tmp_path)
    alice, bob, carol, dave = roster.students
    lab = {"createdAt": "2026-12-01T09:00:00Z", "expiresAt": "2026-12-01T17:00:00Z", "hourlyCostUsd": 0.4,
           "entrypoints": {"alb": {"url": "http://lab-alb.example/"}, "nodeport": {"nodePort": 30001},
                           "bad": {"url": "javascript:alert(1)"}}}
    result(ctx, alice, up={"state": "ready", "minutes": 18.2, "log": "up.log"}, lab=lab,
           smoke={"verdict": "passed", "report": "smoke-report.html"})
    result(ctx, bob, up={"state": "failed", "minutes": 3.0, "error": "error: VpcLimitExceeded", "log": "up.log"})
    result(ctx, carol, up={"state": "ready", "minutes": 18.0}, lab=lab,
           destroy={"state": "destroyed", "minutes": 9.0, "finishedAt": "2026-12-01T11:00:00Z"})
    report = class_report.build(roster, ctx.out, NOW, "smoke")
    rows = {r["id"]: r for r in report["labs"]}

    assert rows["alice"]["costSoFarUsd"] == 1.2 and rows["alice"]["hoursLeft"] == 5.0  # 3 h at $0.40; 17:00
    assert rows["carol"]["costSoFarUsd"] == 0.8 and rows["carol"]["hoursLeft"] is None  # destroyed at 11:00
    assert rows["bob"]["costSoFarUsd"] is None and rows["bob"]["error"] == "error: VpcLimitExceeded"
    assert rows["<b>dave</b>"]["state"] == "not built"
    assert report["counts"] == {"destroyed": 1, "failed": 1, "not built": 1, "ready": 1}
    assert report["readyHourlyCostUsd"] == 0.4  # alice only: carol is gone, bob never finished

    page = (class_report.write(report, ctx.out)).read_text()
    assert '<a href="http://lab-alb.example/">' in page and 'href="javascript' not in page  # http(s) only
    assert "&lt;b&gt;dave&lt;/b&gt;" in page and "<b>dave</b>" not in page
    assert f'href="{alice.stack}/smoke-report.html"' in page and "the public node's address, port 30001" in page
    assert "<script" not in page and "http" not in page.split("<body>")[0]  # self-contained: nothing to fetch

    first, second = io.StringIO(), io.StringIO()
    class_report.print_text(report, first)
    class_report.print_text(class_report.build(roster, ctx.out, NOW, "smoke"), second)
    assert first.getvalue() == second.getvalue()  # the same results at the same time: the same lines
    assert "bob: error: VpcLimitExceeded (log: fall-bob/up.log)" in first.getvalue()
