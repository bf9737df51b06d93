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

from linernotes.library.ray_batch import RaySettings, connect
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
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    rows = [{"job": pickle.dumps((p, overlap, batch))} for p in pending]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        separate_actor(recipe),
        batch_size=max(1, settings.batch),
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=max(1, settings.actors)),
        num_gpus=settings.gpus,
        num_cpus=settings.cpus,
    )
    for row in dataset.iter_rows():
        yield pickle.loads(row["job"])
