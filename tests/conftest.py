import sys
from pathlib import Path

# The program's packages (stacks, components) import from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
