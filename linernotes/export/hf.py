"""Hugging Face ``audiofolder``: ``metadata.jsonl`` beside the audio, one row per track
with a ``file_name`` column and every final field (``<prefix>_file_name`` columns would add
stems; linernotes records hold no stems yet)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportTarget, ExportTrack, FileWriter

NAME = "hf"
METADATA = "metadata.jsonl"
COLUMNS = ("caption", "genres", "moods", "instruments", "is_instrumental", "vocal_language",
           "lyrics", "bpm", "key", "time_signature", "duration", "title", "artist")  # fmt: skip


def row(track: ExportTrack, file_name: str) -> dict[str, Any]:
    final = track.final
    out: dict[str, Any] = {"file_name": file_name}
    for name in COLUMNS:
        value = final.value(name)
        if name in ("genres", "moods", "instruments"):
            value = value or []
        out[name] = value
    out["review"] = list(final.review)
    out["content_hash"] = track.record.file.content_hash
    return out


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    lines = []
    for track in sorted(tracks, key=lambda t: t.rel.as_posix()):
        audio = target.place(track, writer)
        rel = audio.relative_to(target.folder).as_posix()
        lines.append(json.dumps(row(track, rel), ensure_ascii=False))
    writer.write(target.folder / METADATA, "".join(line + "\n" for line in lines))


def validate(folder: Path) -> list[str]:
    """Every row names an existing file and has the same columns (``datasets`` needs both);
    ``datasets.load_dataset("audiofolder", ...)`` itself is exercised in the tests."""
    problems = []
    columns = None
    for n, line in enumerate((folder / METADATA).read_text().splitlines(), 1):
        data = json.loads(line)
        if columns is None:
            columns = list(data)
        elif list(data) != columns:
            problems.append(f"line {n}: columns differ from line 1")
        if not (folder / data["file_name"]).exists():
            problems.append(f"line {n}: {data['file_name']} not found")
    return problems
