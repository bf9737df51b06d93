"""Test datasets and records: copies of analysed datasets, and changing a track's record the
way a command does (through its library)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
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


def fresh_copy(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of an analysed dataset (its library included) for one test to change, with
    no ``LINERNOTES_DB`` pointing elsewhere."""
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    return Path(shutil.copytree(folder, tmp_path / folder.name))
