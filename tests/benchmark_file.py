"""BENCHMARK.md, one section at a time: a benchmark rewrites its own `## ` section and keeps
every other one as it was measured."""

from __future__ import annotations

from pathlib import Path

BENCHMARK = Path(__file__).resolve().parent.parent / "BENCHMARK.md"


def replace_section(title: str, section: str, path: Path = BENCHMARK) -> None:
    """`section` (which starts with `title`) in place of the old one, or at the end."""
    head, _, rest = path.read_text().partition(title)
    tail = rest.partition("\n## ")[2]  # a section after this one stays
    path.write_text(head.rstrip("\n") + "\n\n" + section + (f"\n## {tail}" if tail else ""))
