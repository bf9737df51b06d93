"""``stems --executor ray``: Demucs separation on a Ray cluster's GPUs (or CPUs).

The driver decides what to separate (a track's completion marker, its own stems) exactly as a
local run does (:mod:`linernotes.library.separate`), then sends each pending track to an actor
pool whose actors each load the separator once (``num_gpus`` each) and write the track's stem
FLAC files into its stems folder; the driver writes each completion marker (last, atomically)
as results stream back. The stems folder must be one every node can write and the driver
read: ``stems --out`` on shared storage (the library's own folder is the driver's). A track
whose actor dies is separated again by a restarted actor; its files are written under
temporary names and renamed only when complete, so nothing half-written is ever marked done.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from linernotes.library.ray_batch import (
    LOST,
    RaySettings,
    connect,
    one_row_per_block,
    through_actors,
)
from linernotes.separate.model import Separator, load_separator
from linernotes.separate.track import SeparatedTrack, failure_reason, separate_file


@dataclass(frozen=True)
class RaySeparation:
    """Where a ``stems`` run goes on Ray, and how each actor loads its separator (by name,
    from ``model_dir`` when given: a folder every GPU node can read)."""

    settings: RaySettings
    model: str
    model_dir: str | None = None
    device: str = "auto"


class SeparateActor:
    """Holds one separator and separates a batch of tracks (make one with
    :func:`separate_actor`)."""

    recipe: RaySeparation

    def __init__(self) -> None:
        recipe = self.recipe
        self.separator: Separator = load_separator(
            recipe.model, model_dir=recipe.model_dir, device=recipe.device
        )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for blob in batch["job"]:
            pending, overlap, segments = pickle.loads(blob)
            start = time.monotonic()
            try:
                result: SeparatedTrack | str = separate_file(
                    pending.track, self.separator, pending.folder, overlap=overlap,
                    batch=segments,
                )  # fmt: skip
            except Exception as exc:  # one bad track fails alone
                result = failure_reason(exc)
            out.append(pickle.dumps((pending, result, time.monotonic() - start)))
        return {"job": np.array(out, dtype=object)}


def separate_actor(recipe: RaySeparation) -> type[SeparateActor]:
    """A :class:`SeparateActor` class bound to ``recipe``."""
    return type("BoundSeparateActor", (SeparateActor,), {"recipe": recipe})


def separate_on_ray(
    pending: list[Any], recipe: RaySeparation, *, overlap: float, batch: int
) -> Iterator[tuple[Any, SeparatedTrack | str, float]]:
    """``(pending, result or failure reason, seconds)`` for each pending separation
    (:class:`linernotes.library.separate.PendingSeparation`), in the order they finish."""
    if not pending:
        return
    settings = recipe.settings
    connect(settings, listening=True)
    rows = [{"job": pickle.dumps((p, overlap, batch))} for p in pending]
    dataset = through_actors(one_row_per_block(rows), separate_actor(recipe), settings)
    waiting = {p.track: p for p in pending}
    for row in dataset.iter_rows():
        done = pickle.loads(row["job"])
        waiting.pop(done[0].track, None)
        yield done
    for lost in waiting.values():
        yield lost, LOST, 0.0
