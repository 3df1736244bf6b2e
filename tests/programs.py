"""The program under mocks, run once per settings in each test process.

Most modules read the graph of the same settings (tests/settings/Pulumi.dev.yaml, or it with
the same overrides): one run costs ~0.3 s of CPU, and the suite asked for the same one dozens
of times. A run is kept by everything it reads (the stack file's content, the overrides, the
dropped keys, the stack and `now`) and handed out as a deep copy, so a test that edits its
graph edits only its own. A failed run is not kept.

A test that patches the program's code or data (monkeypatch, a replaced class) calls
labtools.simulate's run_lab itself: a kept run would not see the patch.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

from labtools import simulate
from labtools.simulate import Graph

_kept: dict[str, Graph] = {}


def _key(overrides: dict[str, Any] | None, drop: tuple[str, ...], stack: str, now: dt.datetime | None) -> str:
    return json.dumps([simulate.stack_config(stack), overrides or {}, sorted(drop), stack,
                       now.isoformat() if now else None], sort_keys=True, default=repr)


def run_program(overrides: dict[str, Any] | None = None, drop: tuple[str, ...] = (),
                stack: str = "dev", now: dt.datetime | None = None) -> tuple[Graph, BaseException | None]:
    """labtools.simulate.run_program, run once per settings."""
    key = _key(overrides, drop, stack, now)
    if key not in _kept:
        graph, error = simulate.run_program(copy.deepcopy(overrides), drop, stack, now)
        if error is not None:
            return graph, error
        _kept[key] = graph
    return copy.deepcopy(_kept[key]), None


def run_lab(*args: Any, **kwargs: Any) -> Graph:
    """labtools.simulate.run_lab (its arguments), run once per settings: the program's error raised."""
    graph, error = run_program(*args, **kwargs)
    if error is not None:
        raise error
    return graph
