"""`./lab tour --run`: one request per curl line, through the smoke tests' client and judges.

A route's reply is judged as the smoke tests judge every reply (status, app, the path the
app saw, the client address), and must come from the app itself; a notFound path must
answer 404 and the plain-HTTP request must redirect to https, with the smoke tests' own
checks. Seeing every replica and a weighted split need many requests: that stays the
smoke tests' work (`./lab smoke`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labtools.tour_steps import Step
from smoke_tests import judge, probes
from smoke_tests.outputs import Contract
from smoke_tests.probes import Client, EntrypointResult, Reply, RouteResult, Sample, Settings
from smoke_tests.transport import ProbeError


@dataclass(frozen=True)
class Outcome:
    ok: bool | None  # None: not run
    got: str
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "got": self.got, "problems": self.problems}


def run_step(step: Step, contract: Contract, settings: Settings) -> Outcome:
    ep = step.entry
    target, problem = probes.entry_target(ep, settings)
    if target is None:
        return Outcome(None, f"not run: {problem}")
    if step.kind == "route":
        return _route(step, target, contract, settings)
    if step.kind == "notFound":
        check = probes.check_not_found(target, step.not_found, settings)
        problems = judge.judge_not_found(ep, check, EntrypointResult(ep))
        return Outcome(_ok(problems), _status(check.reply, check.error), problems)
    # One request (retried only within one request timeout): redirects_to_https.
    clock = probes.Clock()
    check = probes.check_redirect(ep, target, clock.now() + settings.request_timeout_s, settings, clock)
    problems = judge.judge_redirect(ep, EntrypointResult(ep, redirect=check))
    return Outcome(_ok(problems), _redirect(check.reply, check.error), problems)


def _route(step: Step, target, contract: Contract, settings: Settings) -> Outcome:
    ep, route = step.entry, step.route
    client = Client(target, keep_alive=False, timeout=settings.request_timeout_s, sni=probes.sni_of(route, target))
    reply, error = client.get_e(route.path, route.host, headers=dict(route.headers))
    problems = judge.judge_replies(ep, route, RouteResult(route, True, 0.0, 1, samples=[Sample(reply, error)]),
                                   contract)
    if reply is not None and not reply.from_app:
        problems.append(f"{judge.label(ep, route.label)}: answered by {reply.describe()}, not the app")
    return Outcome(_ok(problems), _reply(reply, error), problems)


def _ok(problems: list[str]) -> bool:
    return not problems


def _reply(reply: Reply | None, error: ProbeError | None) -> str:
    if reply is None:
        return str(error)
    if not reply.from_app:
        return f"{reply.status} from {reply.describe()}"
    node = f" on {reply.field('node')}" if reply.field("node") else ""
    return (f"{reply.status} {reply.field('app')} pod {reply.field('pod')}{node}, saw {reply.field('path')}, "
            f"client {reply.field('client')}")


def _status(reply: Reply | None, error: ProbeError | None) -> str:
    if reply is None:
        return str(error)
    return f"{reply.status} from pod {reply.field('pod')}" if reply.from_app else str(reply.status)


def _redirect(reply: Reply | None, error: ProbeError | None) -> str:
    if reply is None:
        return str(error)
    return f"{reply.status} {reply.headers.get('location', '(no Location)')}"
