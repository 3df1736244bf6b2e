"""Unit tests of the smoke suite's probe logic, against small servers on 127.0.0.1.

The app servers are the real test app's handler (testapp/server.py) served in
a thread; TLS servers use certificates made on the spot.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from smoke_tests import cluster, judge, summary  # noqa: E402
from smoke_tests.outputs import ContractError, Entrypoint, Route, load_file, load_stack, parse_contract  # noqa: E402
from smoke_tests.probes import (Client, Clock, ProbeError, Reply, RouteResult, Sample, Settings,  # noqa: E402
                                Target, app_not_answering, check_redirect, requests_needed, wait_for_e)
from tests.local_replica.tlsgen import make_ca, write_server_tls  # noqa: E402

_spec = importlib.util.spec_from_file_location("lab_testapp", ROOT / "testapp" / "server.py")
testapp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(testapp)

FAST = Settings(deadline_s=5, backoff_initial_s=0.05, backoff_cap_s=0.2, request_timeout_s=1)


# ---- small servers -------------------------------------------------------------

class CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0

    def get_request(self):
        self.connections += 1
        return super().get_request()


@contextmanager
def serve(handler, tls_context: ssl.SSLContext | None = None):
    server = CountingServer(("127.0.0.1", 0), handler)
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def app_handler(app="app1", pod="app1-deploy-abc12-x7k2p", status=200, node="ng-public-a"):
    env = {"APP": app, "APP_NAME": pod, "NODE_NAME": node, "POD_NAMESPACE": "default"}
    handler = testapp.make_handler(testapp.identity(env), status)
    handler.log_message = lambda *a: None
    return handler


def fixed_handler(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> type:
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    return H


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def target(server, scheme="http", ca=None) -> Target:
    return Target(scheme, "127.0.0.1", server.server_address[1], ca)


# ---- the request count ---------------------------------------------------------

@pytest.mark.parametrize("k,n", [(1, 1), (2, 21), (3, 37), (4, 53)])
def test_requests_needed_is_the_smallest_n(k, n):
    assert requests_needed(k) == n
    if k > 1:
        assert k * (1 - 1 / k) ** n <= 1e-6 < k * (1 - 1 / k) ** (n - 1)


# ---- the contract --------------------------------------------------------------

def good_outputs() -> dict:
    return {"replicas": {"app1": 3, "app2": 3}, "vpcCidr": "10.0.0.0/16", "entrypoints": {
        "alb": {"url": "http://lb.example", "layer": "L7", "notFound": ["/nope", {"path": "/x", "host": "h"}],
                "routes": [{"path": "/v1", "app": "app1", "appSees": "/v1", "clientPreserved": False},
                           {"path": "/v2", "app": "app2", "appSees": "/v2"}]},
        "nodeport": {"nodePort": 30001, "layer": "L4", "routes": [{"path": "/", "app": "app1", "appSees": "/"}]}}}


def test_good_contract_parses():
    c = parse_contract(good_outputs())
    assert c.entrypoints["alb"].routes[1].app == "app2"
    assert c.entrypoints["alb"].not_found[1].host == "h"
    assert c.entrypoints["nodeport"].node_port == 30001 and c.kubeconfig is None


def _break(path: str, value):
    data = good_outputs()
    *parents, last = path.split("/")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is KeyError:
        del node[int(last) if isinstance(node, list) else last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return data


@pytest.mark.parametrize("path,value,message", [
    ("entrypoints/alb/routes/1/app", KeyError, "entrypoints.alb.routes[1].app: missing; expected one of app1, app2"),
    ("entrypoints/alb/routes/0/app", "app3", "entrypoints.alb.routes[0].app: 'app3' is not in replicas"),
    ("entrypoints/alb/layer", "L5", "entrypoints.alb.layer: 'L5'; expected one of L4, L7"),
    ("entrypoints/alb/url", "ftp://lb", "entrypoints.alb.url: 'ftp://lb' has scheme 'ftp'; expected http or https"),
    ("entrypoints/alb/url", KeyError, "entrypoints.alb: expected exactly one of url"),
    ("entrypoints/nodeport/nodePort", "30001", "entrypoints.nodeport.nodePort: expected an integer"),
    ("entrypoints/alb/routes/0/appSees", KeyError, "entrypoints.alb.routes[0].appSees: missing"),
    ("entrypoints/alb/notFound/0", 7, "entrypoints.alb.notFound[0]: expected a path string"),
    ("replicas/app1", 0, "replicas.app1: expected a positive integer"),
    ("vpcCidr", KeyError, "outputs.vpcCidr: missing; needed to judge clientPreserved"),
    ("entrypoints", {}, "outputs.entrypoints: empty"),
])
def test_bad_contract_names_the_key_path(path, value, message):
    with pytest.raises(ContractError) as err:
        parse_contract(_break(path, value))
    assert message in str(err.value)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ContractError, match="no such file"):
        load_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{\"entrypoints\": ")
    with pytest.raises(ContractError, match="invalid JSON at line 1"):
        load_file(bad)


def test_stack_without_pulumi_cli(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ContractError, match="the pulumi CLI is not on PATH"):
        load_stack("dev")


def test_bad_outputs_stop_the_session_without_traceback(tmp_path):
    bad = tmp_path / "outputs.json"
    bad.write_text(json.dumps(_break("entrypoints/alb/routes/1/app", KeyError)))
    done = subprocess.run([sys.executable, "-m", "pytest", "smoke_tests", "--outputs", str(bad), "-q",
                           "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode == 4, out  # pytest's usage error
    assert "bad stack outputs: entrypoints.alb.routes[1].app: missing; expected one of app1, app2" in out
    assert "Traceback" not in out


# ---- the transport ----------------------------------------------------------------

def test_l4_client_opens_a_connection_per_request_and_l7_reuses_one():
    with serve(app_handler()) as server:
        for keep_alive, expected in ((False, 5), (True, 1)):
            server.connections = 0
            client = Client(target(server), keep_alive=keep_alive, timeout=2)
            replies = [client.get_e("/a")[0] for _ in range(5)]
            client.close()
            assert all(r.status == 200 and r.field("path") == "/a" for r in replies)
            assert server.connections == expected == client.connections_opened


def test_host_header_is_the_route_host():
    with serve(app_handler()) as server:
        reply, err = Client(target(server), False, 2).get_e("/", "my.example.com")
    assert err is None and reply.field("host") == "my.example.com"


def test_refused_connection_is_named():
    _, err = Client(Target("http", "127.0.0.1", closed_port()), False, 1).get_e("/")
    assert err.kind == "refused" and "connection refused" in err.detail


def test_silent_server_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)  # accepts in the kernel, never answers
        _, err = Client(Target("http", "127.0.0.1", listener.getsockname()[1]), False, 0.3).get_e("/")
    assert err.kind == "timeout" and "timed out" in err.detail


def test_unresolvable_name_is_named(monkeypatch):
    def no_dns(host, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no real DNS traffic leaves the machine
    _, err = Client(Target("http", "k8s-lab-123.elb.amazonaws.com", 80), False, 1).get_e("/")
    assert err.kind == "dns" and "does not resolve" in err.detail


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    files = write_server_tls(tmp_path_factory.mktemp("tls"), ["myapp.example.com"])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(files.cert, files.key)
    with serve(app_handler(), ctx) as server:
        yield server, files.ca_pem


def test_tls_with_the_right_ca_and_host_passes(tls_server):
    server, ca = tls_server
    reply, err = Client(target(server, "https", ca), True, 2, sni="myapp.example.com").get_e("/api", "myapp.example.com")
    assert err is None and reply.status == 200


def test_tls_unknown_ca_is_named(tls_server):
    server, _ = tls_server
    from tests.local_replica.tlsgen import pem
    other_ca = pem(make_ca("another-ca")[0])
    _, err = Client(target(server, "https", other_ca), True, 2, sni="myapp.example.com").get_e("/")
    assert err.kind == "tls-unknown-ca" and "unknown CA" in err.detail


def test_tls_hostname_mismatch_is_named(tls_server):
    server, ca = tls_server
    _, err = Client(target(server, "https", ca), True, 2, sni="admin.example.com").get_e("/")
    assert err.kind == "tls-hostname" and "hostname mismatch" in err.detail


# ---- waiting -----------------------------------------------------------------------

class FakeClock(Clock):
    def __init__(self):
        self.t, self.sleeps = 0.0, []
        super().__init__(now=lambda: self.t, sleep=self._sleep)

    def _sleep(self, s):
        self.sleeps.append(round(s, 3))
        self.t += s


def test_backoff_is_exponential_capped_and_stops_at_the_deadline():
    clock = FakeClock()
    err = ProbeError("refused", "connection refused")
    reply, last, attempts = wait_for_e(lambda t: (None, err), app_not_answering, 2.0,
                                       Settings(backoff_initial_s=0.1, backoff_cap_s=0.5), clock)
    assert reply is None and last is err
    assert clock.sleeps[:5] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert clock.t == pytest.approx(2.0) and attempts == len(clock.sleeps) + 1


def test_wait_rides_out_503_then_gets_the_app():
    ready_at = time.monotonic() + 0.6

    base = app_handler()

    class Warming(base):
        def do_GET(self):
            if time.monotonic() >= ready_at:
                return base.do_GET(self)
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serve(Warming) as server:
        client = Client(target(server), True, 1)
        started = time.monotonic()
        reply, err, attempts = wait_for_e(lambda t: client.get_e("/", None, t), app_not_answering,
                                          time.monotonic() + 5, FAST)
    assert err is None and reply.from_app and attempts > 1
    assert time.monotonic() - started >= 0.5


def test_wait_on_a_closed_port_ends_at_the_deadline():
    client = Client(Target("http", "127.0.0.1", closed_port()), False, 1)
    started = time.monotonic()
    reply, err, _ = wait_for_e(lambda t: client.get_e("/", None, t), app_not_answering, started + 0.5, FAST)
    elapsed = time.monotonic() - started
    assert reply is None and err.kind == "refused"
    assert 0.5 <= elapsed < 1.2


# ---- judging -----------------------------------------------------------------------

CONTRACT = parse_contract(good_outputs())


def reply(app="app1", pod="app1-deploy-abc12-aaaaa", path="/v1", status=200, node="n1", client="10.0.1.5"):
    body = {"app": app, "pod": pod, "path": path, "node": node, "client": client}
    return Reply(status, {}, json.dumps(body), 1.0, body)


def route_result(route: Route, replies) -> RouteResult:
    return RouteResult(route, True, 0.0, 1, samples=[Sample(r, None) for r in replies])


def verdict(replies, route=Route("/v1", "app1", "/v1"), ep=None, contract=CONTRACT):
    ep = ep or contract.entrypoints["alb"]
    result = SimpleNamespace(setup_error=None, routes={route.label: route_result(route, replies)})
    return judge.judge_route(ep, route, result, contract)


def three_pods(**kw):
    return [reply(pod=f"app1-deploy-abc12-{i}", **kw) for i in "abc"] * 3


def test_healthy_route_has_no_problems():
    assert verdict(three_pods()) == []


def test_wrong_app_is_named():
    problems = verdict([reply(app="app2", pod="app2-deploy-x-1")] * 3)
    assert "alb /v1: expected app1, got app2 from pod app2-deploy-x-1" in problems[0]
    assert "route sent to the wrong app" in problems[0]


def test_missing_replica_is_named():
    problems = verdict([reply(pod="p1"), reply(pod="p2")] * 5)
    assert problems == ["alb /v1: replicas seen 2 of 3 (missing one replica; seen p1, p2)"]


def test_missing_rewrite_is_named():
    problems = verdict(three_pods(path="/v1/x"), Route("/v1/x", "app1", "/x"))
    assert "alb /v1/x: app saw /v1/x, expected /x" in problems[0] and "rewrite missing?" in problems[0]


def test_status_500_is_named():
    assert any("status 500 from pod app1-deploy-abc12-a" in p for p in verdict(three_pods(status=500)))


def test_client_preserved_is_judged_against_vpc_cidr():
    route = Route("/v1", "app1", "/v1", client_preserved=False)
    assert verdict(three_pods(), route) == []
    assert "outside vpcCidr" in verdict(three_pods(client="203.0.113.9"), route)[0]
    assert "inside vpcCidr" in verdict(three_pods(), Route("/v1", "app1", "/v1", client_preserved=True))[0]


def test_local_policy_needs_one_node_not_every_replica():
    ep = Entrypoint("nodeport-local", "L4", (Route("/", "app1", "/"),), node_port=30002,
                    external_traffic_policy="Local")
    assert verdict([reply(path="/", node="pub")] * 5, Route("/", "app1", "/"), ep) == []
    crossed = verdict([reply(path="/", node="a"), reply(path="/", pod="p2", node="b")], Route("/", "app1", "/"), ep)
    assert "traffic crossed nodes" in crossed[0]


def test_never_ready_names_the_wait_and_the_last_error():
    ep = CONTRACT.entrypoints["alb"]
    route = ep.routes[0]
    result = SimpleNamespace(setup_error=None, routes={route.label: RouteResult(
        route, False, 20.0, 9, error=ProbeError("refused", "connection refused by 127.0.0.1:9"))})
    assert judge.judge_route(ep, route, result, CONTRACT) == [
        "alb /v1: not ready after 20.0s (9 attempts): connection refused by 127.0.0.1:9"]


def test_not_found_answering_200_is_named():
    from smoke_tests.probes import CheckResult
    ep = CONTRACT.entrypoints["alb"]
    problems = judge.judge_not_found(ep, CheckResult("/nope", reply(), None), SimpleNamespace(setup_error=None))
    assert problems[0].startswith("alb notFound /nope answered 200, expected 404")


def test_redirect_check_against_small_servers():
    ep = Entrypoint("traefik", "L7", (Route("/", "app2", "/", host="admin.example.com"),),
                    url="https://127.0.0.1:1", redirects_to_https=True)
    for handler, ok in ((fixed_handler(308, {"Location": "https://admin.example.com/"}), True),
                        (fixed_handler(200), False)):
        with serve(handler) as server:
            ep_ = dataclasses.replace(ep, http_url=f"http://127.0.0.1:{server.server_address[1]}")
            check = check_redirect(ep_, Target.from_url(ep_.url), time.monotonic() + 2, FAST, Clock())
        problems = judge.judge_redirect(ep_, SimpleNamespace(redirect=check))
        assert (problems == []) is ok, problems


# ---- summary and cluster helpers --------------------------------------------------

def test_percentiles_and_share():
    assert summary.percentile([5, 1, 3, 2, 4], 50) == 3
    assert summary.percentile(list(range(1, 101)), 95) == 95
    assert summary.percentile([], 50) is None
    assert judge.share([reply(pod="a"), reply(pod="a"), reply(pod="b"), reply(pod="c")]) == {
        "a": 50.0, "b": 25.0, "c": 25.0}


class FakeCore:
    def __init__(self, fail_on_read=False):
        self.created, self.deleted, self.fail_on_read = [], [], fail_on_read

    def create_namespaced_pod(self, ns, body, **kw):
        self.created.append(body["metadata"]["name"])

    def read_namespaced_pod(self, name, ns, **kw):
        if self.fail_on_read:
            raise RuntimeError("API went away")
        return SimpleNamespace(status=SimpleNamespace(phase="Succeeded"))

    def read_namespaced_pod_log(self, name, ns, **kw):
        return '{"app": "app1", "pod": "p1"}\nnot json\n{"app": "app1", "pod": "p2"}\n'

    def delete_namespaced_pod(self, name, ns, **kw):
        self.deleted.append(name)

    def list_node(self, **kw):
        addrs = [SimpleNamespace(type="InternalIP", address="10.0.1.4"),
                 SimpleNamespace(type="ExternalIP", address="203.0.113.7")]
        return SimpleNamespace(items=[SimpleNamespace(status=SimpleNamespace(addresses=addrs))])


def test_probe_pod_is_deleted_even_when_the_check_fails():
    core = FakeCore(fail_on_read=True)
    with pytest.raises(RuntimeError):
        cluster.run_pod_e(core, "default", "true", deadline_s=1)
    assert core.created == core.deleted and len(core.deleted) == 1
    ok = FakeCore()
    logs, err = cluster.run_pod_e(ok, "default", "true", deadline_s=1)
    assert err is None and [r["pod"] for r in cluster.pods_in(logs)] == ["p1", "p2"] and ok.deleted


def test_node_address_and_cname_parsing():
    assert cluster.public_node_address_e(FakeCore()) == ("203.0.113.7", None)
    busybox = ("Server:\t\t172.20.0.10\nAddress:\t172.20.0.10:53\n\n"
               "web-service-externalname.default.svc.cluster.local\tcanonical name = www.google.com\n")
    assert cluster.cname_in(busybox, "www.google.com.")
    assert not cluster.cname_in("Name: x\nAddress: 1.2.3.4\n", "www.google.com")
    assert cluster.core_api_e(None) == (None, "no kubeconfig output (no cluster to reach)")
