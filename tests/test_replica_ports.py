"""The local replica's ports: below the kernel's ephemeral range, a slice per test worker."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.local_replica import procs

EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


@pytest.mark.skipif(not EPHEMERAL.exists(), reason="Linux's ephemeral port range")
def test_ports_are_below_the_ephemeral_range_and_each_worker_has_its_own(monkeypatch):
    low = int(EPHEMERAL.read_text().split()[0])
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    slices = []
    for worker in ("gw0", "gw1"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        slices.append(procs._ports())
        port = procs.free_port()
        assert port in slices[-1] and procs.can_bind(port)
    assert slices[0] and slices[1] and not set(slices[0]) & set(slices[1])
    assert slices[0].start == procs.FIRST_PORT and slices[1].stop <= low


def test_a_taken_port_is_not_chosen_again(monkeypatch):
    # Two free ports of this worker's own slice: another worker's replica may be binding in its own.
    pair = list(itertools.islice((port for port in procs._ports() if procs.can_bind(port)), 2))
    monkeypatch.setattr(procs, "_ports", lambda: pair)
    first = procs.free_port()
    other = (set(pair) - {first}).pop()
    # Every try from every random start: a choice at random each time could miss the one free port.
    assert first in pair and [procs.free_port({first}) for _ in range(20)] == [other] * 20
