"""Real processes of the replica: test-app pods and one nginx, all on 127.0.0.1.

Every process is started by us and stopped by us with SIGTERM (then SIGKILL
after a grace period), so a failing test leaves no orphans.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.local_replica import nginx_install

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "testapp" / "server.py"


FIRST_PORT = 20000  # the replicas' ports: from here up to the kernel's ephemeral range


def _ports() -> range:
    """The ports this test worker's replicas choose from: below the kernel's ephemeral range, where
    bind(0) and every outgoing connection take theirs (a port chosen there could be some client's
    source port by the time its listener starts), a slice of them per xdist worker. Empty when the
    ephemeral range starts too low to leave room."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default; elsewhere the ephemeral range starts higher still
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1))
    index = int((os.environ.get("PYTEST_XDIST_WORKER") or "gw0")[2:] or 0) % workers
    span = max(0, low - FIRST_PORT) // workers
    return range(FIRST_PORT + index * span, FIRST_PORT + (index + 1) * span) if span >= 256 else range(0)


def free_port(taken: set[int] | None = None) -> int:
    """A port free now that no other process is handed in the meantime (see _ports)."""
    ports = _ports()
    start = random.randrange(len(ports)) if ports else 0  # a walk from a random start tries each once
    for step in range(len(ports)):
        port = ports[(start + step) % len(ports)]
        if (not taken or port not in taken) and can_bind(port):
            return port
    while True:  # no room below the ephemeral range: the kernel's choice, racy as it is
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not taken or port not in taken:
            return port


@contextlib.contextmanager
def ports_lock():
    """One replica at a time (across the test workers) between choosing its listeners' ports and
    listening on them. Each replica wants the lab's NodePorts (30001, 30880...): without this, two
    replicas starting at once both find 30001 free, and one nginx loses it."""
    with open(Path(tempfile.gettempdir()) / "lab-local-replica-ports.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def can_bind(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the test process dies before its teardown runs."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(proc: subprocess.Popen | None, grace: float = 5.0) -> None:
    stop_all([proc], grace)


def stop_all(procs: list[subprocess.Popen | None], grace: float = 5.0) -> None:
    """SIGTERM to all at once, then wait: they shut down in parallel, not one after another."""
    running = [p for p in procs if p is not None and p.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    end = time.monotonic() + grace
    for proc in running:
        try:
            proc.wait(max(0.0, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class AppProcess:
    """One pod of the test app: `python testapp/server.py` with the pod's env."""

    def __init__(self, pod, logdir: Path, extra_env: dict[str, str] | None = None):
        self.pod, self.extra_env = pod, dict(extra_env or {})
        self.log = logdir / f"{pod.name}.log"
        self.proc: subprocess.Popen | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("RESPONSE_STATUS",)}
        env.update(HOST="127.0.0.1", PORT=str(self.pod.port), APP_NAME=self.pod.name, APP=self.pod.app,
                   NODE_NAME=self.pod.node, POD_NAMESPACE="default", PYTHONUNBUFFERED="1")
        env.update(self.extra_env)
        return env

    def start(self) -> "AppProcess":
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, str(SERVER)], env=self.env(),
                                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)
        return self

    def healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.pod.port, timeout=0.5)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def wait_healthy(self, timeout: float = 15.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.pod.name} exited {self.proc.returncode}: {self.log.read_text()[-500:]}")
            if self.healthy():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.pod.name} not healthy on port {self.pod.port} after {timeout}s")

    def stop(self) -> None:
        stop(self.proc)


class NginxProcess:
    """`nginx -p PREFIX -c CONF -g 'daemon off;'` in the foreground, as our own child."""

    def __init__(self, prefix: Path):
        self.prefix = prefix
        self.conf = prefix / "nginx.conf"
        self.proc: subprocess.Popen | None = None
        for d in ("tmp/client_body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            (prefix / d).mkdir(parents=True, exist_ok=True)

    def start(self, config: str, ports: list[int], timeout: float = 10.0) -> None:
        self.conf.write_text(config)
        cmd = [nginx_install.binary(), "-p", str(self.prefix), "-c", str(self.conf), "-e", str(self.prefix / "error.log"),
               "-g", "daemon off;"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited {self.proc.returncode}: {self.proc.stderr.read().decode()[-800:]}")
            if all(accepts(p) for p in ports):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"nginx did not listen on {ports} within {timeout}s")

    def stop(self) -> None:
        stop(self.proc)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
