"""The tests run the program through the lab's simulated cloud (stacks/simulate.py)."""

from stacks.simulate import (Graph, LabMocks, RecordingMonitor, Resource, as_pulumi_passes,  # noqa: F401
                             lab_manifests, run_lab, run_program, secret_value, stack_config)
