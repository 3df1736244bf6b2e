"""The lab's Services, Ingresses and Gateway API objects and its outputs contract, from the program itself.

The program runs under the simulated cloud (labtools/simulate.py); the replica
renders its data path from these objects, and its expectations come from the
program's own `entrypoints` output. A fault case mutates the objects, never the
expectations, so the smoke suite must notice the difference.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from labtools.simulate import Graph
from tests.programs import run_lab


@lru_cache(maxsize=1)
def _lab() -> Graph:
    return run_lab()


# What the replica renders. The Gateway's LoadBalancerConfiguration (scheme, source ranges)
# and TargetGroupConfiguration (ip targets) change nothing on one machine: left out.
KINDS = ("Service", "Ingress", "GatewayClass", "Gateway", "HTTPRoute")


def lab_manifests() -> list[dict[str, Any]]:
    """Fresh copies every call, so a fault case can mutate its own."""
    return copy.deepcopy([m for m in _lab().manifests() if m.get("kind") in KINDS])


def lab_outputs() -> dict[str, Any]:
    return copy.deepcopy(_lab().outputs)
