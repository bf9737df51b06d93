"""The listening step of a batch: what the audio model hears, added to a measured record.

It runs wherever the model is held: in the process that owns the library for a local batch,
in a model actor for a Ray batch (:mod:`linernotes.pipeline.ray_stages`). The cache it is
given keeps the answers (the library database locally, a worker's
:class:`~linernotes.pipeline.shard.ShardStore` on Ray), so a rerun asks nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from linernotes.errors import LinernotesError
from linernotes.listen.cache import ListenCache
from linernotes.models import TrackRecord
from linernotes.pipeline.runner import TrackOutcome


class Listener(Protocol):
    """Adds a listen section to a record (see :class:`linernotes.listen.attach.TrackListener`)."""

    def __call__(self, path: Path, record: TrackRecord, cache: ListenCache) -> TrackRecord: ...


def listen_outcome(outcome: TrackOutcome, listener: Listener, cache: ListenCache) -> None:
    """Give a measured (or skipped) track's record what ``listener`` hears, in place; a
    listening failure marks the track failed with the reason and keeps the measured record
    (it is still stored)."""
    if outcome.record_json is None:
        return
    record = TrackRecord.from_json(outcome.record_json)
    try:
        record = listener(outcome.path, record, cache)
    except (LinernotesError, OSError) as exc:
        outcome.status, outcome.reason = "failed", f"listen: {exc}"
    outcome.record_json = record.to_json()
