"""The test app as a real server on a free local port."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

SERVER = Path(__file__).resolve().parent.parent / "testapp" / "server.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(**env) -> tuple[subprocess.Popen, int]:
    port = free_port()
    full = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "APP": "app1",
            "APP_NAME": "app1-deploy-abc12", "NODE_NAME": "ip-10-0-1-5", "POD_NAMESPACE": "default", **env}
    proc = subprocess.Popen([sys.executable, str(SERVER)], env=full, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"test app exited with {proc.returncode}")
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("test app did not listen")


@pytest.fixture
def app():
    proc, port = start()
    yield port
    proc.terminate()
    proc.wait(5)


def get(port, path, headers=None, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_reply_names_the_pod_and_what_it_saw(app):
    status, body = get(app, "/v1/x?y=1", {"Host": "my.example.com", "X-Forwarded-For": "203.0.113.9",
                                         "X-Other": "no"})
    assert status == 200
    assert body["app"] == "app1" and body["pod"] == "app1-deploy-abc12"
    assert body["node"] == "ip-10-0-1-5" and body["namespace"] == "default"
    assert body["path"] == "/v1/x" and body["query"] == "y=1"
    assert body["host"] == "my.example.com"
    assert body["client"] == "127.0.0.1"
    assert body["headers"] == {"X-Forwarded-For": "203.0.113.9"}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_every_method_answers(app, method):
    status, body = get(app, "/any", method=method)
    assert status == 200 and body["method"] == method


def test_healthz(app):
    status, body = get(app, "/healthz")
    assert status == 200 and body["status"] == "ok"


def test_response_status_for_fault_drills():
    proc, port = start(RESPONSE_STATUS="500")
    try:
        assert get(port, "/")[0] == 500
        assert get(port, "/healthz")[0] == 200  # the pod stays Ready: only its replies are broken
    finally:
        proc.terminate()
        proc.wait(5)


def test_bad_response_status_is_refused():
    port = free_port()
    proc = subprocess.run([sys.executable, str(SERVER)], capture_output=True, text=True, timeout=10,
                          env={**os.environ, "PORT": str(port), "RESPONSE_STATUS": "oops"})
    assert proc.returncode != 0 and "RESPONSE_STATUS='oops'" in proc.stderr


def test_sigterm_shuts_down_cleanly():
    proc, port = start()
    assert get(port, "/")[0] == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5)


def test_pod_name_defaults_to_hostname():
    proc, port = start(APP_NAME="")
    try:
        assert get(port, "/")[1]["pod"] == socket.gethostname()
    finally:
        proc.terminate()
        proc.wait(5)
