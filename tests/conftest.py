import os
import sys
from pathlib import Path

# The program's packages (stacks, components) import from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The posts' settings of the tests' own copy, never the user's Pulumi.*.yaml (subprocesses inherit it).
os.environ["LAB_SETTINGS_DIR"] = str(Path(__file__).resolve().parent / "settings")
