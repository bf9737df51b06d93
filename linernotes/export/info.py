"""MIR feature files for Stable Audio Tools conditioning: ``<stem>.INFO`` (all features as
JSON, merged: a key another tool wrote is never dropped), ``<stem>.BEATS_GRID`` and
``<stem>.DOWNBEATS`` (one time in seconds per line). ``.INFO`` files are never deleted.

In the stem folder layout (``Track Name/full_mix.flac`` beside ``drums.mp3``...; see
:mod:`linernotes.library.scan`) the files are named after the folder, as that layout's users expect:
``Track Name/Track Name.INFO``, ``.BEATS_GRID``, ``.DOWNBEATS``. Each measured stem's
features join the ``.INFO`` as flat keys ``stems.<type>.<feature>`` (``stems.drums.onset_density``)
beside ``stems.<type>.file``, so the top-level merge keeps every key of every tool; a silent
or unreadable stem gets ``stems.<type>.error`` instead. Stems are linked (or copied) into an
output folder beside their mix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportTarget, ExportTrack, FileWriter
from linernotes.export.features import scalar_features
from linernotes.fileio import format_times, read_times
from linernotes.models import MIX_NAMES

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
    out.update(stem_fields(track))
    return out


def stem_fields(track: ExportTrack) -> dict[str, Any]:
    """Each stem's file, provenance (``separated`` with its ``model`` and ``model_version``,
    or ``measured`` for the user's), presence and scalar features as flat
    ``stems.<type>.<name>`` keys (a second stem of one type, rare, is keyed ``<type>_2``);
    an unusable stem gives its ``error``. The activity time series stays in the record."""
    out: dict[str, Any] = {}
    if track.record.stems:
        out["stem_types"] = sorted({s.stem_type for s in track.record.stems})
    seen: dict[str, int] = {}
    for stem in track.record.stems:
        seen[stem.stem_type] = seen.get(stem.stem_type, 0) + 1
        n = seen[stem.stem_type]
        key = f"stems.{stem.stem_type}" + (f"_{n}" if n > 1 else "")
        out[f"{key}.file"] = stem.relpath
        out[f"{key}.provenance"] = stem.provenance.value
        if stem.model is not None:
            out[f"{key}.model"] = stem.model
            out[f"{key}.model_version"] = stem.model_version
        if stem.error is not None:
            out[f"{key}.error"] = stem.error
        if stem.presence is not None:
            out[f"{key}.presence"] = stem.presence
        if stem.features is not None:
            for name, value in stem.features.model_dump(exclude={"activity"}).items():
                out[f"{key}.{name}"] = value
    return out


def sidecar_name(track: ExportTrack) -> str:
    """The file stem of a track's ``.INFO`` and grids: the folder's name for a mix of the
    stem folder layout (``Track Name/full_mix.flac`` -> ``Track Name``), else the track's."""
    folder = track.rel.parent.name or track.audio.parent.name
    return folder if track.stem.lower() in MIX_NAMES and folder else track.stem


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    for track in tracks:
        target.place(track, writer)
        for stem in track.stems:
            target.place_stem(stem, writer)
        name = sidecar_name(track)
        folder = target.folder / track.rel.parent
        writer.merge_json(folder / (name + INFO), info_fields(track))
        summary = track.record.summary
        writer.write(folder / (name + ".BEATS_GRID"), format_times(summary.beats))
        writer.write(folder / (name + ".DOWNBEATS"), format_times(summary.downbeats))


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
