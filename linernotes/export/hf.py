"""Hugging Face ``audiofolder``: ``metadata.jsonl`` beside the audio, one row per track with a
``file_name`` column, ``<stem_type>_file_name`` columns for stems (``drums_file_name``,
``vocals_file_name``...; ``datasets`` turns each into its own audio column) and every final
field.

``datasets`` cannot hold a missing file in an audio column (it joins every value to the
folder), so a stem type gets a ``<type>_file_name`` column only when every exported track has
that stem; a stem type only some tracks have gets a plain-text ``<type>_path`` column instead
(``""`` where the track lacks it), and ``stems`` lists each row's stem types. Stems are linked
(or copied) beside their mix, as the mix is.

Which audio ``datasets`` reads (3.x, the range the project tests): ``audiofolder`` collects
files whose lower-cased extension is in its ``AUDIO_EXTENSIONS`` (packaged_modules/audiofolder,
the formats libsndfile names plus ``.opus``), and the ``Audio`` feature decodes every row with
``soundfile.read`` (features/audio.py), so libsndfile is the only decoder: an AAC ``.m4a`` is
never collected and a file libsndfile cannot decode fails at the row. Both are transcoded to
FLAC with an output folder (:mod:`linernotes.export.placement`), mixes and stems alike.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportStem, ExportTarget, ExportTrack, FileWriter
from linernotes.export.placement import TrainerAudio, place_readable_stem
from linernotes.models import STEM_TYPES

NAME = "hf"
TRAINER = "Hugging Face datasets (audiofolder)"
#: ``audiofolder``'s extensions (datasets 3.x ``packaged_modules/audiofolder/audiofolder.py``).
AUDIO_EXTENSIONS = frozenset({
    ".aiff", ".au", ".avr", ".caf", ".flac", ".htk", ".svx", ".mat4", ".mat5", ".mpc2k", ".ogg",
    ".paf", ".pvf", ".raw", ".rf64", ".sd2", ".sds", ".ircam", ".voc", ".w64", ".wav", ".nist",
    ".wavex", ".wve", ".xi", ".mp3", ".opus",
})  # fmt: skip
#: The ``Audio`` feature decodes every one of them with ``soundfile`` (libsndfile).
LIBSNDFILE_EXTENSIONS = AUDIO_EXTENSIONS
#: Rows name their audio in ``file_name``: tracks sharing a stem need no renaming.
FILES_BY_STEM = False
#: The rule above, for the stems of each row (a mix's audio goes through the registry's plan).
READS = TrainerAudio(TRAINER, AUDIO_EXTENSIONS, FILES_BY_STEM, LIBSNDFILE_EXTENSIONS)
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


def first_of_each_type(track: ExportTrack) -> dict[str, ExportStem]:
    """One stem per type (the first in record order), in :data:`STEM_TYPES` order."""
    found: dict[str, ExportStem] = {}
    for stem in track.stems:
        found.setdefault(stem.stem_type, stem)
    return {t: found[t] for t in sorted(found, key=_type_order)}


def _type_order(stem_type: str) -> tuple[int, str]:
    known = STEM_TYPES.index(stem_type) if stem_type in STEM_TYPES else len(STEM_TYPES)
    return known, stem_type


def stem_columns(stems_per_track: list[dict[str, ExportStem]]) -> tuple[list[str], list[str]]:
    """Stem types every track has (audio columns) and those only some have (path columns)."""
    seen = {t for stems in stems_per_track for t in stems}
    everywhere = [t for t in sorted(seen, key=_type_order)
                  if all(t in stems for stems in stems_per_track)]  # fmt: skip
    partial = [t for t in sorted(seen, key=_type_order) if t not in everywhere]
    return everywhere, partial


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    ordered = sorted(tracks, key=lambda t: t.rel.as_posix())
    stems_per_track = [first_of_each_type(t) for t in ordered]
    audio_types, path_types = stem_columns(stems_per_track)
    lines = []
    for track, stems in zip(ordered, stems_per_track, strict=True):
        audio = target.place(track, writer)
        rel = _rel(audio, target.folder)
        placed = {t: _rel(place_readable_stem(s, target, writer, READS), target.folder)
                  for t, s in stems.items()}  # fmt: skip
        data: dict[str, Any] = {"file_name": rel}
        data.update({f"{t}_file_name": placed[t] for t in audio_types})
        data.update(row(track, rel))
        data.update({f"{t}_path": placed.get(t, "") for t in path_types})
        data["stems"] = list(stems)
        lines.append(json.dumps(data, ensure_ascii=False))
    writer.write(target.folder / METADATA, "".join(line + "\n" for line in lines))


def _rel(path: Path, folder: Path) -> str:
    """``path`` relative to the metadata folder, POSIX, as ``audiofolder`` resolves it."""
    return Path(os.path.relpath(path.absolute(), folder.absolute())).as_posix()


def validate(folder: Path) -> list[str]:
    """Every row names existing files in ``file_name`` and each ``<type>_file_name``, and has
    the same columns with ``file_name`` first (``datasets`` needs all three: it reads the
    columns from the first row and gives ``file_name`` to the first audio column);
    ``datasets.load_dataset("audiofolder", ...)`` itself is exercised in the tests."""
    problems = []
    columns = None
    for n, line in enumerate((folder / METADATA).read_text().splitlines(), 1):
        data = json.loads(line)
        if columns is None:
            columns = list(data)
            if columns[:1] != ["file_name"]:
                problems.append("line 1: file_name is not the first column")
        elif list(data) != columns:
            problems.append(f"line {n}: columns differ from line 1")
        for key, value in data.items():
            if key != "file_name" and not key.endswith("_file_name"):
                continue
            if not isinstance(value, str) or not value:
                problems.append(f"line {n}: {key} is {value!r}, not a file name")
            elif not (folder / value).exists():
                problems.append(f"line {n}: {value} not found")
    return problems
