"""Adding what the model hears to a batch: the ``analyze --listen`` step.

Listening runs in the batch's main process, after a track's measurements, so one model is
loaded once (GPU memory) while measuring may use worker processes; answers are cached (the
batch gives the library database), so a rerun or a resumed batch asks nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from linernotes.listen.backends import ListenBackend, make_backend
from linernotes.listen.cache import ListenCache
from linernotes.listen.settings import ListenSettings
from linernotes.listen.track import listen_to_track
from linernotes.models import TrackRecord

#: Summary fields offered to the model as context (when the settings allow it).
CONTEXT_FIELDS = ("bpm", "key", "time_signature")


class TrackListener:
    """Callable that adds a :class:`ListenSection` to a track's record."""

    def __init__(self, settings: ListenSettings, prompts: list[Any], *, force: bool = False):
        self.settings = settings
        self.prompts = prompts
        self.force = force
        self._backend: ListenBackend | None = None

    @property
    def backend(self) -> ListenBackend:
        if self._backend is None:  # loaded on first use: a batch of skipped tracks loads nothing
            self._backend = make_backend(self.settings)
        return self._backend

    def __call__(self, path: Path, record: TrackRecord, cache: ListenCache) -> TrackRecord:
        measured = None
        if self.settings.give_context:
            summary = record.summary
            measured = {f: getattr(summary, f) for f in CONTEXT_FIELDS if getattr(summary, f)}
        tagger = record.listen.tagger if record.listen is not None else None
        record.listen = listen_to_track(
            path,
            self.backend,
            self.prompts,
            measured=measured,
            content_hash=record.file.content_hash,
            cache=cache,
            force=self.force,
        )
        record.listen.tagger = tagger  # the CPU listener's section stays beside the model's
        return record
