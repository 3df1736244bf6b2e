"""Benchmark: the smoke verdict at wide-area latency, against a sequential new-connection loop.

    venv/bin/python -m tests.benchmark_wide_area [--rtt-ms 0 100] [--write]

One run, side by side: the local replica (real app processes, real nginx), each entry
point behind a DelayProxy (tests/local_replica/wan.py) of the given round trip; then
(1) the smoke suite as CI runs it (a pytest subprocess on the outputs), and (2) a loop
that sends the very requests the suite sent (from its report: per route, the same
count, path, Host and TLS name), one after the other, each on a new connection. The
suite must reach its verdict at 100 ms at least 10x faster than the loop. `--write`
puts the figures into BENCHMARK.md. Not part of the test suite: timings are measured
here, never asserted in tests that a busy machine would flake.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAB_SETTINGS_DIR", str(ROOT / "tests" / "settings"))

from smoke_tests.outputs import parse_contract  # noqa: E402
from smoke_tests.transport import Client, Target  # noqa: E402
from tests.local_replica.replica import Replica  # noqa: E402
from tests.local_replica.wan import DelayProxy, behind_proxies  # noqa: E402
from tests.test_local_replica import run_suite  # noqa: E402


def replayed(outputs: dict, report: dict) -> list[tuple[Target, str, str | None]]:
    """(target, path, Host) of every request the suite sent, in route order."""
    contract = parse_contract(outputs)
    found = []
    for row in report["routes"]:
        ep = contract.entrypoints[row["entrypoint"]]
        route = next(r for r in ep.routes if r.label == row["route"])
        target = (Target.from_url(ep.url, ep.ca_certificate) if ep.url
                  else Target("http", "127.0.0.1", ep.node_port or 0))
        found += [(target, route.path, route.host)] * row["sent"]
    return found


def sequential_loop(requests: list[tuple[Target, str, str | None]]) -> float:
    started = time.monotonic()
    for target, path, host in requests:
        client = Client(target, keep_alive=False, timeout=10, sni=host if target.scheme == "https" else None)
        _, err = client.get_e(path, host)
        client.close()
        if err is not None:
            raise RuntimeError(f"the loop's request to {target.host}:{target.port}{path} failed: {err}")
    return time.monotonic() - started


def measure(replica: Replica, rtt_ms: float, workdir: Path) -> dict:
    with ExitStack() as stack:
        def proxy(port: int, rtt_s: float) -> DelayProxy:
            return stack.enter_context(DelayProxy(port, rtt_s))

        outputs = behind_proxies(replica.outputs(), rtt_ms / 1000, proxy)
        path = workdir / f"outputs-{rtt_ms:g}.json"
        path.write_text(json.dumps(outputs))
        suite = run_suite(path, timeout=600)
        if suite.code != 0:
            raise RuntimeError(f"the smoke suite failed at {rtt_ms} ms:\n{suite.out[-3000:]}")
        requests = replayed(outputs, suite.report)
        loop_s = sequential_loop(requests)
    return {"rtt_ms": rtt_ms, "requests": len(requests), "suite_s": suite.elapsed,
            "probe_s": suite.report["probe_seconds"], "loop_s": loop_s}


def plan_seconds(runs: int = 3) -> list[float]:
    """Wall time of `python -m labtools plan` (a whole mock run of the program), a few runs."""
    import subprocess

    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "labtools", "plan", "--manifests", tmp], cwd=ROOT,
                           capture_output=True, check=True, timeout=120)
            times.append(time.monotonic() - started)
    return times


def table(rows: list[dict]) -> list[str]:
    lines = ["| round trip | requests | smoke suite, whole run s | of which probing s | sequential "
             "new-connection loop s | loop / suite |", "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['rtt_ms']:g} ms | {r['requests']} | {r['suite_s']:.2f} | {r['probe_s']:.2f} | "
                     f"{r['loop_s']:.2f} | {r['loop_s'] / r['suite_s']:.1f}x |")
    return lines


def write(rows: list[dict], plan: list[float]) -> None:
    text = "\n".join([
        "# Smoke suite benchmark: the verdict at wide-area latency",
        "",
        f"Date: {dt.date.today().isoformat()}. Machine: {os.cpu_count()} cores. One run, produced by "
        "`venv/bin/python -m tests.benchmark_wide_area --write`.",
        "",
        "Target: the local replica (tests/local_replica: 3+3 test-app processes behind one real nginx on "
        "127.0.0.1), every entry point behind a delaying proxy (tests/local_replica/wan.py): one round trip "
        "per request, one more per new connection, TLS handshakes their real extra flights. The smoke suite "
        "runs as CI runs it (a pytest process on the outputs: routes and samples concurrent, at most 8 "
        "sockets per entry point and 32 in all, L7 on keep-alive pools, each L4 request on a new "
        "connection). The baseline sends the very requests the suite sent, one after the other, each on a "
        "new connection. Both keep the same 1 - 1e-6 confidence of seeing every replica (37 samples per "
        "route for 3 replicas; 222 for the Gateway's weighted /canary, whose binomial test holds its own "
        "errors to 1e-6 too).",
        "",
        *table(rows),
        "",
        "Not measured against AWS: no machine of this project reaches it. A CI runner to ap-northeast-2 "
        "is about 100-200 ms away, which the 100 ms row stands for.",
        "",
        "## The offline plan",
        "",
        f"`./lab plan` (a whole run of the program under the mocks, the manifests written): "
        f"{', '.join(f'{t:.2f}' for t in plan)} s in {len(plan)} runs. Most of it is Python importing "
        "pulumi-aws's generated packages (`pulumi_aws.ec2` alone is hundreds of modules, loaded whole on "
        "first use); the program's own run under the mocks takes a few hundred milliseconds.",
        "",
    ])
    path = ROOT / "BENCHMARK.md"
    # The account preflight's section is benchmark_preflight.py's: it stays, as it was measured.
    kept = path.read_text().partition("## The account preflight")[1:] if path.exists() else ()
    path.write_text(text + ("\n" + "".join(kept) if kept and kept[0] else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[0, 100])
    parser.add_argument("--write", action="store_true", help="write BENCHMARK.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, Replica(Path(tmp) / "replica") as replica:
        rows = []
        for rtt in args.rtt_ms:
            print(f"benchmark: {rtt:g} ms round trip ...", file=sys.stderr, flush=True)
            rows.append(measure(replica, rtt, Path(tmp)))
            print("\n".join(table(rows[-1:])[2:]), file=sys.stderr, flush=True)
    plan = plan_seconds()
    print("\n".join(table(rows)))
    print(f"./lab plan: {', '.join(f'{t:.2f}' for t in plan)} s")
    if args.write:
        write(rows, plan)
    return 0


if __name__ == "__main__":
    sys.exit(main())
