"""A pytest plugin for `./lab mutate`: which lines of one module each test runs, and its time.

Loaded (as `-p lab_mutate_trace`) in the unmutated baseline run of a module's covering
tests. LAB_MUTATE_TRACE names the module's file, LAB_MUTATE_LINES the JSON file written
at the end: {"lines": {test id: [lines]}, "seconds": {test id: seconds}}, where the id
"<import>" holds the lines run while no test ran (the module's import at collection).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import defaultdict

import pytest

TARGET = os.path.realpath(os.environ.get("LAB_MUTATE_TRACE", ""))
LINES: dict[str, set[int]] = defaultdict(set)
SECONDS: dict[str, float] = {}
CURRENT = ["<import>"]


def _line(frame, event, arg):
    if event == "line":
        LINES[CURRENT[0]].add(frame.f_lineno)
    return _line


def _is_target(filename: str, known: dict[str, bool] = {}) -> bool:
    if filename not in known:
        known[filename] = os.path.realpath(filename) == TARGET
    return known[filename]


def _call(frame, event, arg):
    """Traces only the target's own frames: every other call costs one look-up."""
    if _is_target(frame.f_code.co_filename):
        LINES[CURRENT[0]].add(frame.f_lineno)
        return _line
    return None


def pytest_configure(config):
    sys.settrace(_call)
    threading.settrace(_call)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    CURRENT[0], started = item.nodeid, time.monotonic()
    yield
    SECONDS[item.nodeid] = time.monotonic() - started
    CURRENT[0] = "<import>"


def pytest_unconfigure(config):
    sys.settrace(None)
    threading.settrace(None)
    with open(os.environ["LAB_MUTATE_LINES"], "w") as fh:
        json.dump({"lines": {k: sorted(v) for k, v in sorted(LINES.items())}, "seconds": SECONDS}, fh)
