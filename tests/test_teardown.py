"""The teardown sequence as a function (labtools.teardown), its words, its JSON, and the
real destroy's handling of Ctrl-C. The front door, the strict fake CLI and moto: test_lab_destroy.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from labtools.__main__ import build_parser
from labtools.gone_cluster import Eks, Exported
from labtools.teardown import Ran, Tools, outcome_line, print_json, summary_lines, teardown
from labtools.teardown_tools import lab_identity, run

ROOT = Path(__file__).resolve().parent.parent
STACK, CLUSTER, REGION = "ci-3", "lab-ci-3", "us-east-1"
SWEEP = f"./lab sweep --cluster {CLUSTER} --region {REGION}"


class Scripted:
    """Tools that answer from a script and record what was asked of them, in order. EKS
    reports the cluster unless told otherwise (tests/test_gone_cluster.py: when it does not)."""

    def __init__(self, destroys=(0,), sweep=0, audit=0, eks=Eks("ACTIVE"), exported=Exported(()), drop=0):
        self.destroys, self.sweep_status, self.audit_status = list(destroys), sweep, audit
        self.eks, self.exported, self.drop_status = eks, exported, drop
        self.calls: list[tuple] = []
        self.asked: list[tuple] = []  # what EKS was asked

    def tools(self) -> Tools:
        def destroy(stack, yes):
            self.calls.append(("destroy", stack, yes))
            answer = self.destroys.pop(0)
            return answer if isinstance(answer, Ran) else Ran(answer)

        def sweep(cluster, region, yes):
            self.calls.append(("sweep", cluster, region, yes))
            return Ran(self.sweep_status)

        def audit(cluster, region):
            self.calls.append(("audit", cluster, region))
            return Ran(self.audit_status)

        def eks(cluster, region):
            self.asked.append((cluster, region))
            return self.eks

        def export(stack):
            self.calls.append(("export", stack))
            return self.exported

        def state_delete(stack, urns):
            self.calls.append(("drop", stack, tuple(urns)))
            return Ran(self.drop_status)

        return Tools(destroy, sweep, audit, eks, export, state_delete)

    def names(self) -> list[str]:
        return [call[0] for call in self.calls]


def down(script: Scripted, yes: bool = True, cluster: str | None = CLUSTER, region: str | None = REGION):
    return teardown(STACK, cluster, region, yes, script.tools())


def test_a_refused_destroy_runs_again_after_a_sweep():
    script = Scripted(destroys=[1, 0])

    result = down(script)

    assert result.exit_status == 0 and result.problems == ()
    assert script.names() == ["destroy", "sweep", "destroy", "sweep", "audit"]
    assert script.calls[0] == script.calls[2] == ("destroy", STACK, True)
    assert script.calls[1] == ("sweep", CLUSTER, REGION, True)
    assert [(s.name, s.attempt, s.status) for s in result.steps] == [
        ("destroy", 1, 1), ("sweep", 1, 0), ("destroy", 2, 0), ("sweep", 2, 0), ("audit", 1, 0)]


def test_two_refusals_fail_and_say_so():
    result = down(Scripted(destroys=[1, 1]))

    assert result.exit_status == 1
    assert result.problems == ("pulumi destroy failed twice, before and after the sweep: Pulumi's errors above "
                               "say what AWS refused",)


def test_a_destroy_that_succeeds_is_not_repeated():
    script = Scripted(destroys=[0])

    assert down(script).exit_status == 0
    assert script.names() == ["destroy", "sweep", "audit"]


@pytest.mark.parametrize("status, problem", [
    (1, f"the audit found what is left of cluster {CLUSTER} in {REGION} (listed above)"),
    (2, "the audit could not finish (exit 2; its error is above)"),
])
def test_an_audit_that_is_not_clean_fails_the_teardown(status, problem):
    for destroys in ([0], [1, 0]):
        result = down(Scripted(destroys=destroys, audit=status))
        assert result.exit_status == 1 and result.problems == (problem,)


def test_a_sweep_that_kept_something_is_judged_by_the_audit():
    assert down(Scripted(destroys=[0], sweep=1, audit=0)).exit_status == 0
    assert down(Scripted(destroys=[0], sweep=2, audit=1)).exit_status == 1


def test_without_yes_a_refused_destroy_is_not_retried():
    script = Scripted(destroys=[1])

    result = down(script, yes=False)

    assert script.names() == ["destroy", "sweep", "audit"]
    assert script.calls[0] == ("destroy", STACK, False) and script.calls[1][-1] is False  # a dry-run sweep
    assert result.exit_status == 1
    assert result.problems[0].endswith(f"to delete that and retry: ./lab destroy --stack {STACK} --yes")


def test_an_interrupted_destroy_is_not_retried():
    script = Scripted(destroys=[Ran(1, interrupted=True)])

    result = down(script)

    assert script.names() == ["destroy", "sweep", "audit"]
    assert result.problems[0] == f"pulumi destroy was interrupted, so it was not retried; to finish: " \
                                 f"./lab destroy --stack {STACK} --yes"


def test_a_stack_without_a_cluster_is_destroyed_but_never_called_clean():
    script = Scripted(destroys=[1, 0])

    result = down(script, cluster=None, region=None)

    assert script.names() == ["destroy", "destroy"]  # a plain retry: nothing to sweep
    assert result.exit_status == 1 and "names no cluster" in result.problems[0]
    result = down(Scripted(destroys=[1, 1]), cluster=None, region=None)
    assert result.problems[0] == "pulumi destroy failed twice: Pulumi's errors above say what AWS refused"


def test_the_words_for_each_step():
    result = down(Scripted(destroys=[1, 0]))

    assert [outcome_line(step, yes=True) for step in result.steps] == [
        f"pulumi destroy --stack {STACK} --yes: failed (exit 1); it runs once more",
        f"{SWEEP} --yes: nothing left by the controllers, or all of it deleted",
        f"pulumi destroy --stack {STACK} --yes: done on the second attempt",
        f"{SWEEP} --yes: nothing left by the controllers, or all of it deleted",
        f"./lab audit --cluster {CLUSTER} --region {REGION}: clean",
    ]
    assert summary_lines(result) == [
        f"teardown of stack {STACK} complete: nothing of cluster {CLUSTER} left in {REGION}"]
    failed = down(Scripted(destroys=[1, 1], audit=1))
    assert summary_lines(failed)[0] == (f"teardown of stack {STACK} finished with problems (exit 1); "
                                        "see README, 'When a destroy fails':")
    assert len(summary_lines(failed)) == 3


def test_the_json_twin(capsys):
    print_json(down(Scripted(destroys=[1, 0])), sys.stdout)

    data = json.loads(capsys.readouterr().out)
    assert data["exit_status"] == 0 and data["problems"] == []
    assert [(s["name"], s["attempt"], s["status"]) for s in data["steps"]][:3] == [
        ("destroy", 1, 1), ("sweep", 1, 0), ("destroy", 2, 0)]


def parse(*argv: str):
    return build_parser("teardown").parse_args(["teardown", *argv])


def test_the_command_says_each_step_and_keeps_stdout_for_json(capsys):
    script = Scripted(destroys=[1, 0])

    status = run(parse("--stack", STACK, "--cluster", CLUSTER, "--region", REGION, "--yes", "--json"), script.tools())

    out, err = capsys.readouterr()
    assert status == 0 and json.loads(out)["exit_status"] == 0
    lines = [line for line in err.splitlines() if line.startswith("==> ")]
    assert lines[:4] == [f"==> EKS reports cluster {CLUSTER} in {REGION} (ACTIVE): its Kubernetes objects are "
                         "deleted through its API, nothing is dropped from the state",
                         f"==> pulumi destroy of stack {STACK}",
                         f"==> pulumi destroy --stack {STACK} --yes: failed (exit 1); it runs once more",
                         f"==> sweeping what the controllers left for cluster {CLUSTER} in {REGION}"]
    assert f"==> pulumi destroy of stack {STACK} once more, after the sweep" in lines


def test_cluster_and_region_go_together():
    with pytest.raises(SystemExit) as exc:
        from labtools.__main__ import main
        main(["teardown", "--stack", STACK, "--cluster", CLUSTER])
    assert exc.value.code == 2


def test_the_lab_comes_from_the_outputs_then_the_settings(tmp_path):
    outputs = {"clusterName": "from-outputs", "region": "eu-west-1"}
    assert lab_identity("x", tmp_path, lambda _s, name: outputs[name]) == ("from-outputs", "eu-west-1",
                                                                           "the stack's outputs")
    (tmp_path / "Pulumi.x.yaml").write_text("config:\n  aws:region: ap-northeast-2\n  lab:clusterName: lab-x\n")
    assert lab_identity("x", tmp_path, lambda _s, _n: "") == ("lab-x", "ap-northeast-2", "Pulumi.x.yaml")
    cluster, region, why = lab_identity("y", tmp_path, lambda _s, _n: "")
    assert cluster is None and "Pulumi.y.yaml does not exist" in why
    bad = {"clusterName": "two words", "region": "eu-west-1"}
    cluster, _, why = lab_identity("x", tmp_path, lambda _s, name: bad[name])
    assert cluster is None and "'two words' is not a valid EKS cluster name" in why


# A pulumi that, interrupted, takes a moment to record its state (as the real one does).
SLOW_TO_STOP = textwrap.dedent("""\
    #!{python}
    import pathlib, signal, sys, time
    here = pathlib.Path(sys.argv[0]).parent
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    (here / "ready").write_text("")
    deadline = time.time() + 20
    while not stop and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.6)
    (here / "recorded").write_text("")
    sys.exit(1)
    """)


def test_ctrl_c_reaches_pulumi_which_is_left_to_record_its_state(tmp_path):
    (tmp_path / "pulumi").write_text(SLOW_TO_STOP.format(python=sys.executable))
    (tmp_path / "pulumi").chmod(0o755)
    code = ("import sys; from labtools.teardown_tools import pulumi_destroy; "
            "print(pulumi_destroy('s', True, [], sys.stdout))")
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    # Its own process group, as a terminal's Ctrl-C or `timeout --signal=INT` reaches both.
    child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while not (tmp_path / "ready").exists() and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(child.pid, 2)
    out, err = child.communicate(timeout=30)

    assert (tmp_path / "recorded").exists(), err
    assert out.strip() == "Ran(status=1, interrupted=True)", err
