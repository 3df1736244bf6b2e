"""The lab on one machine: 3 pods per app as real processes, one nginx as every way in.

    with Replica(tmp_path) as r:
        path = r.write_outputs(tmp_path / "outputs.json")
        ... run `pytest smoke_tests --outputs path` ...

A fault case mutates what the lab would: the manifests (`reconfigure`), a pod
(`kill`), or an app's environment (`restart_app`).
"""

from __future__ import annotations

import copy
import json
import random
import string
from pathlib import Path
from typing import Any, Callable

from tests.local_replica import render, spec
from tests.local_replica.manifests import lab_manifests
from tests.local_replica.procs import AppProcess, NginxProcess, can_bind, free_port, ports_lock, stop_all
from tests.local_replica.tlsgen import TlsFiles, write_server_tls

NODES = ("ng-private-a", "ng-private-b", "ng-public-a")
PUBLIC_NODE = "ng-public-a"
APPS = ("app1", "app2")


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def make_pods(taken: set[int], rng: random.Random | None = None) -> list[render.Pod]:
    """Deployment-style names (app1-deploy-5c9d8-x7k2p), one pod of each app per node."""
    rng = rng or random.Random()
    pods = []
    for app in APPS:
        replicaset = _suffix(rng, 5)
        for node in NODES:
            port = free_port(taken)
            taken.add(port)
            pods.append(render.Pod(f"{app}-deploy-{replicaset}-{_suffix(rng, 5)}", app, node, port))
    return pods


class Replica:
    def __init__(self, workdir: Path, manifests: list[dict[str, Any]] | None = None):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.manifests = manifests if manifests is not None else lab_manifests()
        self.original = copy.deepcopy(self.manifests)
        self.taken: set[int] = set()
        self.pods = make_pods(self.taken)
        self.apps = {p.name: AppProcess(p, workdir) for p in self.pods}
        self.ports: dict[str, int] = {}
        self.nginx = NginxProcess(workdir / "nginx")
        self.tls: TlsFiles | None = None

    # -- lifecycle --------------------------------------------------------
    def start(self) -> "Replica":
        try:
            for app in self.apps.values():
                app.start()
            for app in self.apps.values():
                app.wait_healthy()
            with ports_lock():
                self._start_nginx()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Always safe: stops nginx and every pod that is still running, all at once."""
        stop_all([self.nginx.proc, *(app.proc for app in self.apps.values())])
        self.nginx.stop()  # collects its stderr

    def reset(self) -> None:
        """Undo every fault: the original objects, every pod running with its own environment.
        Lets one replica serve many fault cases."""
        if self.manifests != self.original:
            self.reconfigure(copy.deepcopy(self.original))
        broken = [name for name, app in self.apps.items() if app.extra_env or app.proc.poll() is not None]
        stop_all([self.apps[name].proc for name in broken])
        for name in broken:
            self.apps[name] = AppProcess(self.apps[name].pod, self.workdir).start()
        for name in broken:
            self.apps[name].wait_healthy()

    def __enter__(self) -> "Replica":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- faults and changes -----------------------------------------------
    def reconfigure(self, manifests: list[dict[str, Any]]) -> None:
        """Re-render nginx from changed objects (as a controller would sync them). Give it a copy:
        `manifests` is the replica's own list."""
        self.manifests = manifests
        with ports_lock():  # its ports stay its own while nginx restarts
            self.nginx.stop()
            self._start_nginx()

    def kill(self, pod_name: str) -> None:
        self.apps[pod_name].stop()

    def restart_app(self, app: str, **env: str) -> None:
        names = [name for name, proc in self.apps.items() if proc.pod.app == app]
        stop_all([self.apps[name].proc for name in names])  # at once: each takes up to 0.1 s to stop
        for name in names:
            self.apps[name] = AppProcess(self.apps[name].pod, self.workdir, env).start()
        for name in names:
            self.apps[name].wait_healthy()

    def pods_of(self, app: str, node: str | None = None) -> list[render.Pod]:
        return [p for p in self.pods if p.app == app and (node is None or p.node == node)]

    # -- nginx --------------------------------------------------------------
    def listeners(self) -> list[render.Listener]:
        return render.listeners(self.manifests, self.pods)

    def _allocate(self, listeners: list[render.Listener]) -> None:
        for lst in listeners:
            if lst.key in self.ports:
                continue  # keep the port across re-renders, like a Service keeps its address
            wanted = lst.wanted_port
            port = wanted if wanted and wanted not in self.taken and can_bind(wanted) else free_port(self.taken)
            self.taken.add(port)
            self.ports[lst.key] = port

    def _tls_for(self, listeners: list[render.Listener]) -> TlsFiles | None:
        hosts = sorted({h for lst in listeners if lst.kind == "https" for h in _tls_hosts(lst.obj)})
        if hosts and self.tls is None:
            self.tls = write_server_tls(self.workdir / "tls", hosts)
        return self.tls

    def _start_nginx(self) -> None:
        listeners = self.listeners()
        self._allocate(listeners)
        tls = self._tls_for(listeners)
        config = render.render(self.manifests, self.pods, self.ports, prefix=str(self.nginx.prefix),
                               public_node=PUBLIC_NODE, tls=(str(tls.cert), str(tls.key)) if tls else None)
        self.nginx.start(config, [self.ports[lst.key] for lst in listeners])

    # -- outputs ------------------------------------------------------------
    def entrypoints(self) -> dict[str, dict[str, Any]]:
        """Each listener as the lab's outputs would describe its entry point."""
        found: dict[str, dict[str, Any]] = {}
        for lst in self.listeners():
            if lst.entry not in spec.expectations() or lst.kind == "redirect":
                continue
            port = self.ports[lst.key]
            if lst.entry.startswith("nodeport"):
                address: dict[str, Any] = {"nodePort": port}
            elif lst.kind == "https":
                address = {"url": f"https://127.0.0.1:{port}", "caCertificate": self.tls.ca_pem,
                           "httpUrl": f"http://127.0.0.1:{self.ports[lst.key + '/http']}"}
            else:
                address = {"url": f"http://127.0.0.1:{port}"}
            found[lst.entry] = spec.entry(lst.entry, address)
        return found

    def outputs(self) -> dict[str, Any]:
        replicas = {app: len(self.pods_of(app)) for app in APPS}
        return spec.outputs(self.entrypoints(), replicas)

    def write_outputs(self, path: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
        data = self.outputs()
        if edit:
            edit(data)
        path.write_text(json.dumps(data, indent=2))
        return path


def _tls_hosts(ing: dict[str, Any]) -> list[str]:
    spec_ = ing.get("spec") or {}
    hosts = [h for t in spec_.get("tls") or [] for h in t.get("hosts") or []]
    return hosts or [r["host"] for r in spec_.get("rules") or [] if r.get("host")]
