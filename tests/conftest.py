import os
import sys
from pathlib import Path

# The program's packages (stacks, components) import from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The posts' settings of the tests' own copy, never the user's Pulumi.*.yaml (subprocesses inherit it).
os.environ["LAB_SETTINGS_DIR"] = str(Path(__file__).resolve().parent / "settings")


# The slowest modules first: with two workers taking a module at a time, a long module
# that starts last would leave one worker idle while the other finishes it.
SLOW_FIRST = ["test_local_replica.py", "test_lifecycle.py", "test_lab_stacks.py", "test_plan.py",
              "test_settings_properties.py", "test_smoke_concurrency.py", "test_testapp.py"]


def pytest_collection_modifyitems(config, items):
    if os.environ.get("LAB_KEEP_TEST_ORDER"):  # ./lab mutate orders its files fastest first
        return

    def rank(item) -> int:
        name = item.path.name
        return SLOW_FIRST.index(name) if name in SLOW_FIRST else len(SLOW_FIRST)

    items.sort(key=rank)  # stable: the order inside a module stays
