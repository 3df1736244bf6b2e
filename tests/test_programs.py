"""tests/programs.py: a kept run is handed out as a copy, and only for the same settings; a run
leaves the SDK as it found it."""

from __future__ import annotations

import pytest
from pulumi.runtime import resource as sdk_resource

from labtools import simulate
from tests import programs


def test_a_kept_run_is_a_copy_that_a_test_may_edit():
    first = programs.run_lab()
    first.resources.clear()
    first.outputs["clusterName"] = "edited"
    again = programs.run_lab()
    assert again.resources and again.outputs["clusterName"] != "edited"


def test_other_settings_are_another_run(tmp_path, monkeypatch):
    default = programs.run_lab()
    # The same stack name, another file: the kept run of the first file must not come back.
    text = (simulate.settings_dir() / "Pulumi.dev.yaml").read_text()
    (tmp_path / "Pulumi.dev.yaml").write_text(text.replace("lab:clusterName: eks-test", "lab:clusterName: eks-other"))
    monkeypatch.setenv("LAB_SETTINGS_DIR", str(tmp_path))
    assert default.outputs["clusterName"] == "eks-test"
    assert programs.run_lab().outputs["clusterName"] == "eks-other"
    assert programs.run_lab({"lab:clusterName": "eks-third"}).outputs["clusterName"] == "eks-third"


def test_a_refused_run_is_not_kept(monkeypatch):
    calls = []
    real = simulate.run_program

    def counted(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(simulate, "run_program", counted)
    for _ in range(2):
        with pytest.raises(Exception, match="lab:nodePort"):
            programs.run_lab({"lab:nodePort": 5})
    assert len(calls) == 2


@pytest.mark.parametrize("overrides", [{}, {"lab:nodePort": 1}], ids=["run", "refused run"])
def test_a_run_gives_the_sdk_its_source_positions_back(overrides):
    # A run stubs the SDK's stack capture (the mocks never read it); a real program must get it back.
    capture = sdk_resource._get_stack_trace
    assert capture is not simulate._no_stack_trace
    graph, error = simulate.run_program(overrides)
    assert (error is None) == (not overrides) and bool(graph.resources) == (not overrides)
    assert sdk_resource._get_stack_trace is capture
