import gc
import os
import sys
from pathlib import Path

import pytest

# The program's packages (stacks, components) import from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The posts' settings of the tests' own copy, never the user's Pulumi.*.yaml (subprocesses inherit it).
os.environ["LAB_SETTINGS_DIR"] = str(Path(__file__).resolve().parent / "settings")
# moto makes thousands of public AMIs for each new EC2 backend (every test's mock_aws); the
# lab's tools never look at AMIs, and making them was a fifth of the sweeper tests' CPU.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


# The slowest modules first: with the workers taking a module at a time, a long module
# that starts last would leave the others idle while one finishes it. xdist follows
# this order only with --no-loadscope-reorder (./lab test passes it); it would otherwise
# sort modules by their number of tests.
SLOW_FIRST = ["test_local_replica.py", "test_class_run.py", "test_lab_stacks.py", "test_lab_destroy.py", "test_gone_cluster.py",
              "test_reap.py", "test_plan.py", "test_plan_output.py", "test_lifecycle.py",
              "test_settings_properties.py", "test_k8s_schema.py", "test_smoke_concurrency.py",
              "test_settings.py", "test_webhooks.py", "test_access.py", "test_testapp.py"]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LAB_KEEP_TEST_ORDER"):  # ./lab mutate orders its files fastest first
        return

    def rank(item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order inside a module stays


def pytest_collection_finish(session):
    # The simulations and moto allocate millions of small objects; under the default thresholds
    # the cyclic collector rescans every object of the collected tests again and again (about a
    # quarter of the suite's CPU). Those are frozen out of its sight, and it runs less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


# The AWS services the lab's tools call, as moto names their botocore models.
MOTO_SERVICES = ("ec2", "elbv2", "eks", "sts", "service-quotas", "resourcegroupstaggingapi")


@pytest.fixture(scope="session")
def moto_models():
    """moto parses a service's botocore model at the first request for it (functools.cache, no
    lock): requests that arrive together, as the preflight's concurrent batches do, each parse it
    again until one has finished, seconds of CPU for EC2's. Parsed once per worker, beforehand."""
    from moto.core.utils import get_service_model

    for service in MOTO_SERVICES:
        get_service_model(service)


def pytest_sessionfinish(session):
    # pytest's last act (the unraisableexception plugin) is a full collection, which would walk
    # every object the tests left (about 2 s per worker, at the very end of the run): what is
    # alive now stays alive until the process exits anyway.
    gc.freeze()
