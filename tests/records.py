"""Changing a track's record in a test the way a command does: through its library."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from test_reconcile_fixtures import listen_section

from linernotes.library import Library
from linernotes.models import TrackRecord


def update_record(audio: Path, change: Callable[[TrackRecord], None]) -> None:
    """Change a track's record through its library, as a command would (stored, final fields
    reconciled, record files rewritten)."""
    with Library.find(audio) as library:
        record = library.record_of(audio)
        change(record)
        library.save(audio, record)


def attach(audio: Path, answers: dict[str, str]) -> None:
    """Give a track a listen section made of ``answers`` (prompt id -> reply)."""

    def listen(record: TrackRecord) -> None:
        record.listen = listen_section(answers, content_hash=record.file.content_hash)

    update_record(audio, listen)
