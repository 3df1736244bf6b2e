"""One step (up, smoke or destroy) for every student, K labs at a time, with a live line per student.

Each lab runs in a thread of its own; whatever happens to one (a failed `pulumi up`, an error of
this program) is that student's outcome and never stops the others. Ctrl-C (or CI's
`timeout --signal=INT`, which reaches Pulumi too) starts no new lab and waits for the ones in
progress, so that Pulumi records what it did.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable, Sequence

from pulumi.automation import CommandError

from labtools.class_ops import FAILED, OPERATIONS, Context, Outcome, error_line, minutes_since, record_failure
from labtools.class_report import folder
from labtools.roster import Student

HEARTBEAT_S = 60.0
DOING = {"up": "building", "smoke": "smoke tests running", "destroy": "destroying"}


class Interrupted(Exception):
    """Ctrl-C during the run; `outcomes` has every student (those never started as such)."""

    def __init__(self, outcomes: dict[str, Outcome]):
        super().__init__("interrupted")
        self.outcomes = outcomes


def finished_line(student: Student, outcome: Outcome) -> str:
    text = f"[{student.id}] {outcome.state} after {outcome.minutes:.1f} min"
    if outcome.detail:
        text += f": {outcome.detail}"
    return text + (f" (log: {outcome.log})" if outcome.log and outcome.detail else "")


def run_class(ctx: Context, students: Sequence[Student], command: str, parallel: int,
              say: Callable[[str], None], heartbeat: float = HEARTBEAT_S) -> dict[str, Outcome]:
    """Every student's outcome, by stack; raises Interrupted after a Ctrl-C."""
    op = OPERATIONS[command]
    outcomes: dict[str, Outcome] = {}
    running: dict[str, tuple[Student, float]] = {}
    lock = threading.Lock()

    def one(student: Student) -> None:
        if ctx.stop.is_set():
            return
        folder(ctx.out, student).mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        with lock:
            running[student.stack] = (student, start)
        say(f"[{student.id}] {DOING[command]} ({student.stack})")
        try:
            outcome = op(ctx, student)
        except Exception as err:  # noqa: BLE001 - one student's lab never stops the others
            said = error_line(err) if isinstance(err, CommandError) else f"{type(err).__name__}: {err}"[:300]
            outcome = Outcome(FAILED[command][2], minutes_since(start), said)
            record_failure(ctx, student, command, outcome)
        with lock:
            running.pop(student.stack, None)
            outcomes[student.stack] = outcome
        say(finished_line(student, outcome))

    def progress() -> None:
        with lock:
            now = time.monotonic()
            busy = ", ".join(f"{s.id} {(now - t) / 60:.1f} min" for s, t in running.values())
            done = sorted({o.state for o in outcomes.values()})
            counts = "; ".join(f"{sum(o.state == st for o in outcomes.values())} {st}" for st in done)
            waiting = len(students) - len(outcomes) - len(running)
        say(f"{DOING[command]}: {busy or 'none'}" + (f"; {counts}" if counts else "") + f"; {waiting} waiting")

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="lab")
    futures = [pool.submit(one, s) for s in students]
    try:
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=heartbeat)
            if pending:
                progress()
    except KeyboardInterrupt:
        ctx.stop.set()
        say("interrupted: no new lab starts; waiting for those in progress (Pulumi records what it did)")
        for f in futures:
            f.cancel()
        wait(futures)
        raise Interrupted(_all(students, outcomes)) from None
    finally:
        pool.shutdown(wait=True)
    return _all(students, outcomes)


def _all(students: Sequence[Student], outcomes: dict[str, Outcome]) -> dict[str, Outcome]:
    return {s.stack: outcomes.get(s.stack, Outcome("not started", 0.0, "interrupted before it started"))
            for s in students}
