"""The figures recorded in ``bench/results/recorded.json``, and the check that a run did not
fall below them.

Each benchmark that has figures on record hands its headline figures to :func:`check` at the
end of a run that measured the same thing (the whole set, the default settings); the run then
prints each figure beside the recorded one and exits non-zero when one is worse by more than
its tolerance, so that a regression is seen. A figure is better ``higher`` (accuracy, speed)
or ``lower`` (cost ratios, memory); its tolerance is absolute, in the figure's unit (timings
get a wide one: they depend on the machine and its load). Improve a figure, then update the
record in the same commit as the README.

    >>> recorded = {"demo": {"set": "ten clips", "figures": {
    ...     "acc": {"value": 90.0, "better": "higher", "tolerance": 0.5},
    ...     "cost": {"value": 1.5, "better": "lower", "tolerance": 0.1}}}}
    >>> [c.regressed for c in compare("demo", {"acc": 89.6, "cost": 1.7}, recorded)]
    [False, True]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

RECORDED = Path(__file__).resolve().parent / "results" / "recorded.json"


@dataclass(frozen=True)
class Comparison:
    """One figure of a run against its record."""

    name: str
    recorded: float
    measured: float
    better: Literal["higher", "lower"]
    tolerance: float

    @property
    def regressed(self) -> bool:
        """Worse than the record by more than the tolerance."""
        if self.better == "higher":
            return self.measured < self.recorded - self.tolerance
        return self.measured > self.recorded + self.tolerance

    def line(self) -> str:
        verdict = "REGRESSED" if self.regressed else "ok"
        return (f"{self.name:32s} {self.measured:10.3f}  recorded {self.recorded:10.3f}"
                f"  ({self.better} is better, tolerance {self.tolerance:g})  {verdict}")


def load(path: Path = RECORDED) -> dict[str, Any]:
    """The recorded figures of every benchmark."""
    return json.loads(path.read_text(encoding="utf-8"))


def compare(
    bench: str, measured: Mapping[str, float], recorded: Mapping[str, Any] | None = None
) -> list[Comparison]:
    """Each recorded figure of ``bench`` that the run measured, against its record. A figure
    recorded but not measured is an error: the run and the record must say the same things."""
    entry = (load() if recorded is None else recorded)[bench]
    missing = sorted(set(entry["figures"]) - set(measured))
    if missing:
        raise KeyError(f"{bench}: the run did not measure {', '.join(missing)}")
    return [
        Comparison(name, float(spec["value"]), float(measured[name]), spec["better"],
                   float(spec.get("tolerance", 0.0)))
        for name, spec in entry["figures"].items()
    ]  # fmt: skip


def check(
    bench: str, measured: Mapping[str, float], recorded: Mapping[str, Any] | None = None
) -> int:
    """Print the comparison; 1 when a figure regressed, else 0 (the run's exit status)."""
    entry = (load() if recorded is None else recorded)[bench]
    comparisons = compare(bench, measured, {bench: entry})
    print(f"\n# against bench/results/recorded.json ({bench}: {entry.get('set', '')})")
    for c in comparisons:
        print(c.line())
    regressed = [c.name for c in comparisons if c.regressed]
    if regressed:
        print(f"{bench}: below the recorded figures: {', '.join(regressed)}", file=sys.stderr)
        return 1
    return 0
