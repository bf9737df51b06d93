"""The stages of a Ray batch, as they run on the cluster's workers: measuring (a CPU task per
track) and listening (an actor that holds the model and takes tracks in batches).

A row of the Ray dataset is one track: ``{"key": ..., "work": <pickled TrackWork>}``. The
work carries the job, the library's knowledge of it (a :class:`ShardStore`) and, once
measured, the outcome; each stage returns a new row and nothing here touches the library,
so a task that dies with its worker can run again anywhere and the one writer merges each
track once. This module imports no Ray: Ray imports it on the workers.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np

from linernotes.features import FeatureParams
from linernotes.pipeline.listening import Listener, listen_outcome
from linernotes.pipeline.runner import TrackJob, TrackOutcome, measure_track
from linernotes.pipeline.shard import ShardStore


@dataclass
class TrackWork:
    """One track on its way through the cluster."""

    job: TrackJob
    store: ShardStore
    outcome: TrackOutcome | None = None
    force: bool = False
    frontend: FeatureParams | None = None

    def row(self) -> dict[str, Any]:
        """The dataset row that carries this work."""
        return {"key": self.job.key, "work": pickle.dumps(self)}


def work_of(row: dict[str, Any]) -> TrackWork:
    """The work a dataset row carries."""
    return pickle.loads(row["work"])


def measure_row(row: dict[str, Any]) -> dict[str, Any]:
    """Measure the row's track (a CPU task): the ordinary :func:`measure_track` against the
    track's :class:`ShardStore`; a track that already has an outcome (skipped by the
    library's writer, sent on only to be listened to) passes through."""
    work = work_of(row)
    if work.outcome is None:
        work.outcome = measure_track(
            work.job, open_store=lambda: work.store, owner=0, force=work.force,
            frontend=work.frontend,
        )  # fmt: skip
    return work.row()


class ListenActor:
    """Holds one listener (its model loaded on first use, once per actor) and listens to a
    batch of tracks; answers are cached in each track's store and travel back with it.
    Make one with :func:`listen_actor`."""

    listener: Listener

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows = []
        for blob in batch["work"]:
            work = work_of({"work": blob})
            if work.outcome is not None:
                listen_outcome(work.outcome, self.listener, work.store)
            rows.append(work.row()["work"])
        return {"key": batch["key"], "work": np.array(rows, dtype=object)}


def listen_actor(listener: Listener) -> type[ListenActor]:
    """A :class:`ListenActor` class bound to ``listener`` (the listener travels inside the
    class, pickled by value; every actor Ray starts or restarts unpickles its own copy)."""
    return type("BoundListenActor", (ListenActor,), {"listener": listener})
