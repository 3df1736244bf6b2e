"""The wide-area stand-in itself: a round trip per request, one more per new connection."""

import time

from smoke_tests.transport import Client, Target
from tests.local_replica.wan import DelayProxy, behind_proxies
from tests.test_smoke_probes import app_handler, serve

RTT = 0.1


def timed(client: Client, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.monotonic()
        reply, err = client.get_e("/")
        assert err is None and reply.from_app
        times.append(time.monotonic() - started)
    return times


def test_a_new_connection_costs_two_round_trips_and_a_kept_one_one():
    with serve(app_handler()) as server, DelayProxy(server.server_address[1], RTT) as proxy:
        target = Target("http", "127.0.0.1", proxy.port)
        l4 = timed(Client(target, keep_alive=False, timeout=5), 3)
        l7 = timed(Client(target, keep_alive=True, timeout=5), 3)
    # At least the emulated round trips; the upper bounds only tell one round trip from two.
    assert all(2 * RTT <= t < 3 * RTT for t in l4), l4
    assert 2 * RTT <= l7[0] < 3 * RTT and all(RTT <= t < 2 * RTT for t in l7[1:]), l7
    assert proxy.connections == 4


def test_every_address_of_the_outputs_moves_behind_a_proxy():
    started = []

    class Fake:
        def __init__(self, port, rtt):
            self.port = port + 1000
            started.append((port, rtt))

    outputs = {"entrypoints": {"alb": {"url": "http://127.0.0.1:8000"},
                               "traefik": {"url": "https://127.0.0.1:8443", "httpUrl": "http://127.0.0.1:8080"},
                               "nodeport": {"nodePort": 30001}}}
    moved = behind_proxies(outputs, RTT, Fake)
    assert moved["entrypoints"]["alb"]["url"] == "http://127.0.0.1:9000"
    assert moved["entrypoints"]["traefik"]["httpUrl"] == "http://127.0.0.1:9080"
    assert moved["entrypoints"]["nodeport"]["nodePort"] == 31001
    assert sorted(started) == [(8000, RTT), (8080, RTT), (8443, RTT), (30001, RTT)]
