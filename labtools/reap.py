"""`reap`: the labs in the backend that are past their expiresAt, destroyed one at a time.

Every lab's stack has the output `expiresAt`, the instant of its resources' `lab:expires`
tag (stacks/outputs.py), so the backend alone says when a lab expires. `reap()` lists the
stacks (`pulumi stack ls --json`), reads each one's outputs, and with --yes destroys each
expired lab through ./lab destroy's whole teardown (the same function), going on after a
failure. A stack without `expiresAt` (not a lab, or made before the output existed), or
with one that cannot be read, is listed and kept: nothing that cannot be shown to be an
expired lab is destroyed. The words for people are below, apart; reap_tools runs it.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from labtools import UsageError
from labtools.expiry import parse_expires

EXPIRED, EXPIRING, LIVE = "expired", "expiring", "live"
NO_EXPIRY, UNREADABLE, UNREAD = "no expiry", "unreadable", "unread"
WHEN = "an ISO 8601 UTC time such as 2026-11-21T18:00:00Z"


@dataclass(frozen=True)
class Lab:
    stack: str
    verdict: str  # one of the six above
    expires_at: Any = None  # the output as the CLI gave it
    detail: str = ""  # why its outputs could not be read


@dataclass(frozen=True)
class Destroyed:
    stack: str
    exit_status: int  # the teardown's: 0 only when destroyed and audited clean
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass(frozen=True)
class Reap:
    yes: bool
    warn_within: str
    labs: tuple[Lab, ...]
    destroys: tuple[Destroyed, ...] = ()
    error: str = ""  # the stacks could not be listed

    def named(self, verdict: str) -> list[str]:
        return [lab.stack for lab in self.labs if lab.verdict == verdict]

    @property
    def exit_status(self) -> int:
        if self.error:
            return 2
        return 1 if any(not d.ok for d in self.destroys) or self.named(UNREAD) else 0


@dataclass(frozen=True)
class Tools:
    stacks: Callable[[], tuple[list[dict] | None, str]]  # pulumi stack ls --json, or (None, why)
    outputs: Callable[[str], tuple[dict | None, str]]  # pulumi stack output --json, or (None, why)
    destroy: Callable[[str], Destroyed]  # ./lab destroy --stack S --yes, as a function


def parse_window(text: str) -> timedelta:
    """--warn-within: 30m, 1h, 1h30m, 2d."""
    m = re.fullmatch(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", text.strip())
    if not text.strip() or not m:
        raise UsageError(f"argument --warn-within: {text!r}: expected a duration such as 30m, 1h, 1h30m or 2d")
    days, hours, minutes = (int(g or 0) for g in m.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def judge(stack: str, outputs: dict | None, why: str, now: datetime, window: timedelta) -> Lab:
    if outputs is None:
        return Lab(stack, UNREAD, detail=why)
    if "expiresAt" not in outputs:
        return Lab(stack, NO_EXPIRY)
    raw = outputs["expiresAt"]
    when = parse_expires(raw) if isinstance(raw, str) else None
    if when is None:
        return Lab(stack, UNREADABLE, raw)
    return Lab(stack, EXPIRED if when <= now else EXPIRING if when <= now + window else LIVE, raw)


def reap(yes: bool, warn_within: str, tools: Tools, now: datetime,
         judged: Callable[[Reap], None] = lambda _: None,
         starting: Callable[[str, int, int], None] = lambda *_: None) -> Reap:
    """Judge every stack, then (with --yes) destroy the expired ones in name order, each after the last."""
    window = parse_window(warn_within)
    listed, why = tools.stacks()
    if listed is None:
        return Reap(yes, warn_within, (), error=why)
    names = sorted(s["name"] for s in listed)
    with ThreadPoolExecutor(max_workers=4) as pool:  # one CLI call per stack, a few at a time
        read = list(pool.map(tools.outputs, names))
    labs = tuple(judge(name, *outputs, now, window) for name, outputs in zip(names, read))
    judged(Reap(yes, warn_within, labs))
    expired = [lab.stack for lab in labs if lab.verdict == EXPIRED]
    destroys = []
    for i, stack in enumerate(expired if yes else []):
        starting(stack, i + 1, len(expired))
        destroys.append(tools.destroy(stack))
    return Reap(yes, warn_within, labs, tuple(destroys))


# --------------------------------------------------------------------------
# Words for people


def verdict_text(lab: Lab, warn_within: str) -> str:
    given = f"expiresAt {lab.expires_at}"
    return {
        EXPIRED: f"expired ({given})",
        EXPIRING: f"expires within {warn_within} ({given})",
        LIVE: f"live ({given})",
        NO_EXPIRY: "kept: no expiresAt output (not a lab, or made before the output existed)",
        UNREADABLE: f"kept: unreadable expiresAt {lab.expires_at!r} (expected {WHEN})",
        UNREAD: f"kept: its outputs could not be read ({lab.detail})",
    }[lab.verdict]


def listing_lines(result: Reap) -> list[str]:
    if result.error:
        return [f"could not list the stacks of the backend (pulumi stack ls --json: {result.error})"]
    if not result.labs:
        return ["no stacks in the backend: nothing to reap"]
    width = max(len(lab.stack) for lab in result.labs)
    count = len(result.labs)
    return [f"{count} stack{'s' if count != 1 else ''} in the backend:",
            *(f"  {lab.stack:<{width}}  {verdict_text(lab, result.warn_within)}" for lab in result.labs)]


def summary_lines(result: Reap) -> list[str]:
    if result.error or not result.labs:
        return []
    expired, soon = result.named(EXPIRED), result.named(EXPIRING)
    lines = []
    if not result.yes:
        lines.append(f"Dry run: nothing was destroyed. To destroy the {len(expired)} expired lab"
                     f"{'s' if len(expired) != 1 else ''} ({', '.join(expired)}): ./lab reap --yes"
                     if expired else "No lab has expired: nothing to destroy.")
    else:
        done = [d.stack for d in result.destroys if d.ok]
        failed = [f"{d.stack} (exit {d.exit_status})" for d in result.destroys if not d.ok]
        lines.append(f"Destroyed {len(done)}: {', '.join(done) or '-'}. Failed {len(failed)}: {', '.join(failed) or '-'}."
                     + (" Their teardowns' problems are above; ./lab destroy --stack NAME --yes retries one."
                        if failed else ""))
    if soon:
        lines.append(f"Expires within {result.warn_within}: {', '.join(soon)} (to keep one longer: raise lab:expires "
                     "in its settings, then ./lab up again)")
    if result.named(UNREAD):
        lines.append(f"Could not read the outputs of: {', '.join(result.named(UNREAD))} (listed above)")
    return lines


def notice_lines(result: Reap) -> list[str]:
    """What every ./lab command says of a local backend: only what needs doing, else nothing."""
    lines = []
    for lab in result.labs:
        if lab.verdict == EXPIRED:
            lines.append(f"lab {lab.stack} in this backend expired (expiresAt {lab.expires_at}): destroy it with "
                         f"./lab reap --yes (every expired lab) or ./lab destroy --stack {lab.stack} --yes")
        elif lab.verdict == EXPIRING:
            lines.append(f"lab {lab.stack} in this backend expires within {result.warn_within} "
                         f"(expiresAt {lab.expires_at})")
    return lines


def as_data(result: Reap) -> dict:
    """The --json twin; its keys are sorted when printed."""
    outcome = {d.stack: d for d in result.destroys}
    return {
        "yes": result.yes, "warn_within": result.warn_within, "error": result.error,
        "labs": [{"stack": lab.stack, "verdict": lab.verdict, "expires_at": lab.expires_at, "detail": lab.detail,
                  "destroyed": outcome[lab.stack].ok if lab.stack in outcome else None} for lab in result.labs],
        "destroyed": [d.stack for d in result.destroys if d.ok],
        "failed": [{"stack": d.stack, "exit_status": d.exit_status, "problems": list(d.problems)}
                   for d in result.destroys if not d.ok],
        "expiring": result.named(EXPIRING),
        "exit_status": result.exit_status,
    }
