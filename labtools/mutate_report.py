"""What `./lab mutate` found per module, and its report: the score and every survivor by line; a JSON twin."""

from __future__ import annotations

from dataclasses import dataclass, field

from labtools.mutants import Mutant


@dataclass
class ModuleResult:
    module: str
    tests: list[str]
    mutants: int = 0
    killed: list[Mutant] = field(default_factory=list)
    timeouts: list[Mutant] = field(default_factory=list)
    survivors: list[Mutant] = field(default_factory=list)
    unrun: list[Mutant] = field(default_factory=list)
    """Survivors that no covering test runs: a line no test reaches."""
    error: str | None = None
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return 100.0 * (len(self.killed) + len(self.timeouts)) / self.mutants if self.mutants else 0.0


def _survivors(r: ModuleResult) -> list[tuple[Mutant, bool]]:
    """(mutant, run by a test) of every survivor, by line."""
    both = [(m, True) for m in r.survivors] + [(m, False) for m in r.unrun]
    return sorted(both, key=lambda s: (s[0].line, s[0].column, s[0].description))


def _killed(r: ModuleResult) -> int:
    return len(r.killed) + len(r.timeouts)


def report_lines(results: list[ModuleResult]) -> list[str]:
    total, killed = sum(r.mutants for r in results), sum(_killed(r) for r in results)
    lines = [f"{len(results)} modules, {total} mutants, {killed} killed ({100.0 * killed / total if total else 0:.1f}%)"]
    for r in sorted(results, key=lambda r: r.module):
        timeouts = f", {len(r.timeouts)} of them by timeout" if r.timeouts else ""
        score = f"{r.score:.1f}%" if r.mutants else "nothing to mutate"
        lines.append(f"{r.module}: {r.mutants} mutants, {_killed(r)} killed{timeouts} ({score}), "
                     f"{r.mutants - _killed(r)} survived; tests: {', '.join(sorted(r.tests)) or 'none'}")
        lines += [f"  survived {r.module}:{m.line}:{m.column}: {m.description}"
                  f"{'' if ran else ' (no test runs this line)'}"
                  for m, ran in _survivors(r)]
        if r.error:
            lines.append(f"  ERROR: {r.error}")
    return lines


def report_json(results: list[ModuleResult]) -> dict:
    return {"modules": [{
        "module": r.module, "tests": sorted(r.tests), "mutants": r.mutants, "killed": _killed(r),
        "timeouts": len(r.timeouts), "score": round(r.score, 1) if r.mutants else None, "error": r.error,
        "survivors": [{"line": m.line, "column": m.column, "mutant": m.description, "run": ran}
                      for m, ran in _survivors(r)],
    } for r in sorted(results, key=lambda r: r.module)]}
