"""The class report: a row per student, from each lab's result file, as text, JSON and one HTML page.

Each `./lab class up|smoke|destroy` writes what it learnt of a student's lab to
<out>/<stack>/result.json (no secrets: the outputs' entry points, never the kubeconfig); the
report reads those files, so the class workflow's last job builds the page from the matrix
jobs' artifacts as a local run does from its own folder. Cost so far and time left are counted
from `as_of`; the text and the JSON of one set of results at one time are the same every run.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, TextIO

from labtools.class_html import page
from labtools.class_text import table, usd
from labtools.roster import Roster, Student

RESULT = "result.json"


def folder(out: Path, student: Student) -> Path:
    return out / student.stack


def read_result(out: Path, student: Student) -> dict[str, Any]:
    path = folder(out, student) / RESULT
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record(out: Path, student: Student, step: str, value: dict[str, Any], **lab: Any) -> None:
    """Keep one step's outcome (up, smoke, destroy) in the student's result file; only that
    student's worker writes it."""
    data = read_result(out, student)
    data.update({"id": student.id, "stack": student.stack, "clusterName": student.cluster_name, step: value})
    if lab:
        data["lab"] = {**data.get("lab", {}), **lab}
    path = folder(out, student) / RESULT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def state_of(result: dict[str, Any]) -> str:
    if "destroy" in result:
        return result["destroy"]["state"]
    if "up" in result:
        return result["up"]["state"]
    return "not built"


def row(out: Path, student: Student, as_of: dt.datetime) -> dict[str, Any]:
    result = read_result(out, student)
    lab, state = result.get("lab", {}), state_of(result)
    created, expires = _when(lab.get("createdAt")), _when(lab.get("expiresAt"))
    ended = _when(result.get("destroy", {}).get("finishedAt")) if state == "destroyed" else None
    hourly = lab.get("hourlyCostUsd")
    cost = None
    if created and hourly is not None and state in ("ready", "destroyed", "destroy failed"):
        cost = round(hourly * max(0.0, ((ended or as_of) - created).total_seconds()) / 3600, 2)
    left = None
    if expires and state in ("ready", "failed", "destroy failed"):
        left = round((expires - as_of).total_seconds() / 3600, 1)
    step = result.get(state_step(state), {})
    smoke = result.get("smoke", {})
    base = folder(out, student)
    return {
        "id": student.id, "stack": student.stack, "clusterName": student.cluster_name, "state": state,
        "minutes": step.get("minutes"), "error": step.get("error"),
        "log": _relative(base / step["log"], out) if step.get("log") else None,
        "entrypoints": lab.get("entrypoints", {}) if state in ("ready", "destroy failed") else {},
        "smoke": {"verdict": smoke.get("verdict", "not run"),
                  "report": _relative(base / smoke["report"], out) if smoke.get("report") else None},
        "hourlyCostUsd": hourly, "costSoFarUsd": cost, "expiresAt": lab.get("expiresAt"), "hoursLeft": left,
        "kubeconfig": _relative(base / "kubeconfig", out) if (base / "kubeconfig").exists() and state == "ready"
        else None,
    }


def state_step(state: str) -> str:
    return "destroy" if state in ("destroyed", "destroy failed", "no stack") else "up"


def _relative(path: Path, out: Path) -> str | None:
    return str(path.relative_to(out)) if path.exists() else None


def build(roster: Roster, out: Path, as_of: dt.datetime, command: str) -> dict[str, Any]:
    rows = [row(out, s, as_of) for s in roster.students]
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    up = [r["hourlyCostUsd"] for r in rows if r["state"] == "ready" and r["hourlyCostUsd"] is not None]
    return {"class": roster.class_name, "roster": str(roster.path), "command": command, "asOf": iso(as_of),
            "students": len(rows), "counts": dict(sorted(counts.items())), "labs": rows,
            "readyHourlyCostUsd": round(sum(up), 4), "html": str(out / "report.html")}


def write(report: dict[str, Any], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    path = out / "report.html"
    path.write_text(page(report), encoding="utf-8")
    return path


def print_text(report: dict[str, Any], out: TextIO) -> None:
    counts = ", ".join(f"{v} {k}" for k, v in report["counts"].items())
    print(f"Class {report['class']}: {counts} of {report['students']} lab(s) (./lab class {report['command']}); "
          f"the ready ones bill {usd(report['readyHourlyCostUsd'])} an hour", file=out)
    print(file=out)
    rows = [("student", "stack", "state", "minutes", "smoke", "cost so far", "expires in", "entry points")]
    notes = []
    for r in report["labs"]:
        rows.append((r["id"], r["stack"], r["state"], "" if r["minutes"] is None else f"{r['minutes']:.1f}",
                     r["smoke"]["verdict"], "" if r["costSoFarUsd"] is None else usd(r["costSoFarUsd"]),
                     "" if r["hoursLeft"] is None else f"{r['hoursLeft']:.1f} h", len(r["entrypoints"]) or ""))
        if r["error"]:
            notes.append(f"  {r['id']}: {r['error']}" + (f" (log: {r['log']})" if r["log"] else ""))
    print("\n".join(table(rows, right={3, 5, 6, 7})), file=out)
    if notes:
        print(file=out)
        print("\n".join(notes), file=out)
    print(file=out)
    print(f"Class report: {report['html']} (entry points, smoke reports, kubeconfigs)", file=out)
