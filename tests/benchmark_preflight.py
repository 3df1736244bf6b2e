"""Benchmark: the account preflight at wide-area latency, concurrent against one call at a time.

    venv/bin/python -m tests.benchmark_preflight [--rtt-ms 100] [--write]

One run: a moto server (the account: the posts' lab settings, a few VPCs, addresses,
instances and load balancers in it) behind a DelayProxy (tests/local_replica/wan.py) of
the given round trip, and `labtools.account.read_account` against it twice, concurrent
(the way `./lab preflight` runs) and one call at a time. The clients are made first in
both (local work, not latency). `--write` puts the figures into BENCHMARK.md's section
"The account preflight". Not part of the test suite: timings are measured here, never
asserted in tests that a busy machine would flake.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LAB_SETTINGS_DIR", str(ROOT / "tests" / "settings"))

from labtools import account  # noqa: E402
from labtools.account_judge import judge  # noqa: E402
from labtools.stack_file import stack_settings  # noqa: E402
from stacks.model import lab_model  # noqa: E402
from tests.benchmark_file import replace_section  # noqa: E402
from tests.local_replica.wan import DelayProxy  # noqa: E402

TITLE = "## The account preflight"
REGION = "ap-northeast-2"


def populate(clients: dict) -> None:
    """An account in use: 2 more VPCs, 2 addresses, 2 instances, an ALB and an NLB."""
    ec2, elbv2 = clients["ec2"], clients["elbv2"]
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    ec2.create_vpc(CidrBlock="10.51.0.0/16")
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
               ["Subnet"]["SubnetId"] for i, z in enumerate("ac")]
    for _ in range(2):
        ec2.allocate_address(Domain="vpc")
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2, InstanceType="t3.medium", SubnetId=subnets[0])
    for name, kind in (("other-alb", "application"), ("other-nlb", "network")):
        elbv2.create_load_balancer(Name=name, Subnets=subnets, Type=kind)


def count_requests(clients: dict) -> list[int]:
    sent = [0]

    def one(**_kwargs) -> None:
        sent[0] += 1

    for client in clients.values():
        client.meta.events.register("before-send", one)
    return sent


def moto_server() -> tuple[subprocess.Popen, int]:
    """moto in a process of its own, as AWS is: its work does not share this process's GIL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("moto_server did not start")


def timed_read(model, concurrent: bool) -> tuple[float, int, account.Facts]:
    clients = account.make_clients(REGION)
    sent = count_requests(clients)
    started = time.monotonic()
    facts = account.read_account(model, clients, concurrent)
    return time.monotonic() - started, sent[0], facts


def measure(rtt_ms: float) -> dict:
    proc, port = moto_server()
    try:
        os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                          AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
        populate(account.make_clients(REGION))
        model = lab_model(stack_settings("dev"))
        timed_read(model, False)  # moto's first answers load its data files: not the network's time
        with DelayProxy(port, rtt_ms / 1000) as proxy:
            os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{proxy.port}"
            row: dict = {"rtt_ms": rtt_ms}
            verdicts = []
            for mode, concurrent in (("concurrent", True), ("sequential", False)):
                row[mode], row["requests"], facts = timed_read(model, concurrent)
                row["batches"] = facts.batches
                verdicts.append(sorted(c.verdict for c in judge(model, facts)))
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "labtools", "preflight"], cwd=ROOT, capture_output=True,
                           timeout=120, check=False)
            row["command"] = time.monotonic() - started
            row["load"] = os.getloadavg()[0]
        assert verdicts[0] == verdicts[1], "the two reads must judge alike"
        return row
    finally:
        proc.terminate()
        proc.wait(10)


def section(row: dict) -> str:
    return "\n".join([
        TITLE,
        "",
        f"`labtools.account.read_account` (what `./lab preflight` and `./lab up` ask AWS), one run by "
        "`venv/bin/python -m tests.benchmark_preflight --write`: a moto server for the account (the posts' "
        "lab settings; 2 more VPCs, 2 Elastic IPs, 2 instances, an ALB and an NLB in it) behind the delaying "
        f"proxy at {row['rtt_ms']:g} ms round trip; clients made beforehand in both modes. Date: "
        f"{dt.date.today().isoformat()}; machine: {os.cpu_count()} cores, load average {row['load']:.1f} "
        "(shared with other work) during the run.",
        "",
        "| round trip | requests | batches | concurrent s | one call at a time s | ratio |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {row['rtt_ms']:g} ms | {row['requests']} | {row['batches']} | {row['concurrent']:.2f} | "
        f"{row['sequential']:.2f} | {row['sequential'] / row['concurrent']:.1f}x |",
        "",
        f"The whole command (`python -m labtools preflight`, a new process: Python, boto3 and the lab model "
        f"imported, the clients made, then the read): {row['command']:.2f} s.",
        "",
        "Goal: at most 3 round-trip batches and under 1.5 s at 100 ms. The second batch needs ids from the "
        "first (the zones of NAT gateways' subnets, load balancers' tags, the vCPUs of running types). Not "
        "measured against AWS: its services' own answer times come on top of the round trips.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--rtt-ms", type=float, default=100)
    parser.add_argument("--write", action="store_true", help="write BENCHMARK.md's preflight section")
    args = parser.parse_args(argv)
    row = measure(args.rtt_ms)
    text = section(row)
    print(text)
    if args.write:
        replace_section(TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
