"""How the probes use the network: concurrency inside an entry point under caps, readiness per
route, one deadline, and requests with the environment's proxies ignored."""

from __future__ import annotations

import socket
import threading
import time

from smoke_tests.outputs import parse_contract
from smoke_tests.probes import Limits, Settings, probe_all
from smoke_tests.transport import Client, Target
from tests.test_smoke_probes import app_handler, closed_port, serve

FAST = Settings(deadline_s=3, backoff_initial_s=0.05, backoff_cap_s=0.2, request_timeout_s=2, max_sockets=5,
                per_target=3, node_address="127.0.0.1")


class InFlight:
    """Counts requests in flight at the servers, and the most seen at once."""

    def __init__(self):
        self.now = self.most = 0
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}

    def handler(self, app="app1", delay=0.01, not_ready: set[str] = frozenset()):
        base, counter = app_handler(app), self

        class Handler(base):
            def do_GET(self):
                with counter.lock:
                    counter.now += 1
                    counter.most = max(counter.most, counter.now)
                    counter.times.setdefault(self.path, []).append(time.monotonic())
                time.sleep(delay)
                with counter.lock:  # before answering: the client frees its slot only after the answer
                    counter.now -= 1
                if self.path in not_ready:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    base.do_GET(self)
        return Handler


def contract(urls: dict[str, str], layer="L7", paths=("/a", "/b", "/c"), replicas=3) -> object:
    return parse_contract({"replicas": {"app1": replicas, "app2": 3}, "vpcCidr": "10.0.0.0/16", "entrypoints": {
        name: {"url": url, "layer": layer, "routes": [{"path": p, "app": "app1", "appSees": p} for p in paths]}
        for name, url in urls.items()}})


def url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_routes_and_samples_run_at_once_within_the_cap_per_target():
    counter = InFlight()
    with serve(counter.handler()) as server:
        results, _ = probe_all(contract({"alb": url(server)}), ["alb"], FAST)
    assert all(r.ready and len(r.samples) == 37 for r in results["alb"].routes.values())
    assert 2 <= counter.most <= FAST.per_target  # concurrent, never past the cap for one target


def test_the_total_cap_holds_across_targets():
    counter = InFlight()
    # Slow answers, one replica (a sample per route): 9 routes start at once against a cap of 5.
    with serve(counter.handler(delay=0.2)) as one, serve(counter.handler(delay=0.2)) as two, \
            serve(counter.handler(delay=0.2)) as three:
        names = {"a": url(one), "b": url(two), "c": url(three)}
        probe_all(contract(names, replicas=1), list(names), FAST)
    assert FAST.per_target < counter.most <= FAST.max_sockets


def test_l7_routes_share_a_keep_alive_pool_and_l4_opens_a_connection_per_request():
    counter = InFlight()
    with serve(counter.handler()) as server:
        probe_all(contract({"alb": url(server)}), ["alb"], FAST)
        l7 = server.connections
        server.connections = 0
        probe_all(contract({"nlb": url(server)}, layer="L4"), ["nlb"], FAST)
        l4 = server.connections
    assert l7 <= FAST.per_target  # 3 routes x (1 + 37) requests over at most 3 connections
    assert l4 == 3 * (1 + 37)


def test_a_ready_route_is_sampled_while_another_still_waits():
    counter = InFlight()
    with serve(counter.handler(not_ready={"/slow"})) as server:
        started = time.monotonic()
        results, _ = probe_all(contract({"alb": url(server)}, paths=("/fast", "/slow")), ["alb"],
                               Settings(**{**FAST.__dict__, "deadline_s": 3.0}))
    routes = results["alb"].routes
    assert routes["/fast"].ready and not routes["/slow"].ready
    assert max(counter.times["/fast"]) - started < 2.0  # done well before /slow's deadline


def test_one_deadline_for_the_whole_run():
    closed = closed_port()
    names = {"a": f"http://127.0.0.1:{closed}", "b": f"http://127.0.0.1:{closed}"}
    started = time.monotonic()
    results, total = probe_all(contract(names, paths=("/x", "/y")), list(names),
                               Settings(**{**FAST.__dict__, "deadline_s": 1.0}))
    assert not any(r.ready for ep in results.values() for r in ep.routes.values())
    assert 1.0 <= time.monotonic() - started < 1.9  # not one deadline after another


def test_limits_block_past_the_cap():
    limits = Limits(total=2, per_target=1)
    target = Target("http", "127.0.0.1", 1)
    entered = threading.Event()

    def hold():
        with limits.slot(target):
            entered.set()
            time.sleep(0.3)

    threading.Thread(target=hold).start()
    entered.wait(1)
    started = time.monotonic()
    with limits.slot(target):
        waited = time.monotonic() - started
    assert waited >= 0.2


def test_proxies_from_the_environment_are_not_used(monkeypatch):
    dead = f"http://127.0.0.1:{closed_port()}"
    for key in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(key, dead)
    with serve(app_handler()) as server:
        reply, err = Client(Target("http", "127.0.0.1", server.server_address[1]), True, 2).get_e("/")
    assert err is None and reply.from_app


def test_a_connection_closed_without_an_answer_is_named_reset():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def close_at_once():
            conn, _ = listener.accept()
            conn.recv(1024)
            conn.close()

        threading.Thread(target=close_at_once, daemon=True).start()
        _, err = Client(Target("http", "127.0.0.1", listener.getsockname()[1]), False, 2).get_e("/")
    assert err.kind == "reset" and "closed the connection without an answer" in err.detail


def test_tls_trusts_the_lab_ca_alone():
    import requests

    from smoke_tests.transport import SNIAdapter
    from tests.local_replica.tlsgen import make_ca, pem

    adapter = SNIAdapter("myapp.example.com", 1, pem(make_ca("lab")[0]))
    assert len(adapter.ssl_context.get_ca_certs()) == 1
    _, pool = adapter.build_connection_pool_key_attributes(requests.Request("GET", "https://127.0.0.1:1/").prepare(),
                                                           True)
    assert pool["ssl_context"] is adapter.ssl_context and "ca_certs" not in pool  # no CA bundle added
