"""MIR feature files for Stable Audio Tools conditioning: ``<stem>.INFO`` (all features as
JSON, merged: a key another tool wrote is never dropped), ``<stem>.BEATS_GRID`` and
``<stem>.DOWNBEATS`` (one time in seconds per line). ``.INFO`` files are never deleted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportTarget, ExportTrack, FileWriter
from linernotes.export.features import scalar_features
from linernotes.fileio import format_times, read_times

NAME = "info"
INFO = ".INFO"


def info_fields(track: ExportTrack) -> dict[str, Any]:
    summary = track.record.summary
    out: dict[str, Any] = dict(track.final.values())
    out["loudness_lufs"] = summary.loudness_lufs
    out["sample_rate"] = track.record.file.sample_rate
    out["content_hash"] = track.record.file.content_hash
    out.update(scalar_features(track))
    out["confidence"] = {k: v.confidence for k, v in sorted(track.final.fields.items())}
    out["provenance"] = {k: v.provenance for k, v in sorted(track.final.fields.items())}
    return out


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    for track in tracks:
        target.place(track, writer)
        writer.merge_json(target.sidecar(track, INFO), info_fields(track))
        summary = track.record.summary
        writer.write(target.sidecar(track, ".BEATS_GRID"), format_times(summary.beats))
        writer.write(target.sidecar(track, ".DOWNBEATS"), format_times(summary.downbeats))


def validate(folder: Path) -> list[str]:
    """Every ``.INFO`` is a JSON object with the core fields and its grids parse as
    ascending times; every downbeat is also a beat."""
    problems = []
    for info in sorted(folder.rglob(f"*{INFO}")):
        data = json.loads(info.read_text())
        missing = [k for k in ("bpm", "key", "duration") if k not in data]
        if missing:
            problems.append(f"{info.name}: missing {missing}")
        stem = str(info)[: -len(INFO)]
        beats = read_times(stem + ".BEATS_GRID")
        downbeats = read_times(stem + ".DOWNBEATS")
        if beats != sorted(beats) or downbeats != sorted(downbeats):
            problems.append(f"{info.name}: grid times not ascending")
        beat_set = {round(b, 3) for b in beats}
        if any(round(d, 3) not in beat_set for d in downbeats):
            problems.append(f"{info.name}: a downbeat is not on the beat grid")
    return problems
