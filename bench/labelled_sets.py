"""The labelled clip sets the benchmarks read, by the name their command lines use.

``dev`` and ``test`` are the splits of ``bench/corpus_set``; ``game`` is
``bench/game_dev_set`` and ``produced`` ``bench/produced_set`` (dev sets too); ``charted`` is
``bench/charted_set`` (real recordings, test only). ``bench/measure``,
``bench/activation_sweep`` and ``bench/fit_confidence`` choose among them here, so a new set
is added in one place.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import charted_set
import corpus_set
import game_dev_set
import produced_set

NAMES = ("dev", "test", "game", "produced", "charted")


@dataclass(frozen=True)
class LabelledSet:
    """A set's clips (manifest entries), the folder their files are kept in, and the module
    that builds it (``corpus_set``, ``game_dev_set``, ...)."""

    clips: list[dict[str, Any]]
    data: Path
    module: str


def load(name: str, jobs: int) -> LabelledSet:
    """The set called ``name`` (:data:`NAMES`), built where anything of it is missing."""
    if name == "game":
        return LabelledSet(game_dev_set.ensure_set(jobs), game_dev_set.DATA, "game_dev_set")
    if name == "produced":
        return LabelledSet(produced_set.ensure_set(), produced_set.DATA, "produced_set")
    if name == "charted":
        return LabelledSet(charted_set.ensure_set(), charted_set.DATA, "charted_set")
    if name in ("dev", "test"):
        return LabelledSet(corpus_set.ensure_set(jobs, name), corpus_set.DATA, "corpus_set")
    raise ValueError(f"no labelled set called {name!r} (one of {', '.join(NAMES)})")
