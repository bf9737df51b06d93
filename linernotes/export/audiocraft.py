"""audiocraft / MusicGen: a JSONL manifest (``path, duration, sample_rate, amplitude,
weight, info_path``) and, at the same path as each audio file, a ``.json`` with every key
its ``MusicInfo`` requires (a missing one raises ``KeyError`` at load time).

``MusicDataset`` opens ``Path(path).with_suffix('.json')`` and silently trains without
metadata when that file is missing, so ``song.mp3`` and ``song.flac`` in one folder cannot
each have their own info under their own names: :mod:`linernotes.export.placement` renames
them (``--out``) or exports one (beside the audio), and transcodes containers outside
:data:`AUDIO_EXTENSIONS`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportTarget, ExportTrack, FileWriter, bpm_int

NAME = "audiocraft"
TRAINER = "audiocraft"
#: The audio audiocraft collects into manifests (``DEFAULT_EXTS`` in its data/audio_dataset.py).
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".flac", ".ogg", ".m4a"})
#: ``audio_read`` and ``audio_info`` (its data/audio.py) decode these with ``soundfile``
#: (libsndfile), the rest with torchaudio or PyAV (FFmpeg).
LIBSNDFILE_EXTENSIONS = frozenset({".flac", ".ogg"})
#: ``MusicDataset`` finds the info at ``Path(path).with_suffix('.json')``.
FILES_BY_STEM = True
MANIFEST = "data.jsonl"
#: The keys audiocraft's music dataset requires in every info JSON.
REQUIRED = ("title", "artist", "key", "bpm", "genre", "moods", "description", "name",
            "instrument")  # fmt: skip


def tag_description(genres: list[str], moods: list[str], instruments: list[str]) -> str:
    """The text-encoder description of a track with no caption: its known genres, moods and
    instruments as a tag list (what MusicGen's own data mostly is), empty when none is known."""
    return ", ".join(dict.fromkeys([*genres, *moods, *instruments]))


def info_json(track: ExportTrack) -> dict[str, Any]:
    final = track.final
    genres = final.value("genres", [])
    moods = final.value("moods", [])
    instruments = final.value("instruments", [])
    return {
        "title": final.value("title") or track.stem,
        "artist": final.value("artist") or "",
        "key": final.value("key") or "",
        "bpm": bpm_int(final.value("bpm")),
        "genre": ", ".join(genres),
        "moods": moods,
        "description": final.value("caption") or tag_description(genres, moods, instruments),
        "name": track.stem,
        "instrument": ", ".join(instruments),
        "keywords": list(dict.fromkeys([*genres, *moods, *instruments])),
    }


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    lines = []
    for track in tracks:
        audio = target.place(track, writer)
        writer.merge_json(target.sidecar(track, ".json"), info_json(track))
        entry = {
            "path": str(target.shown(audio)),
            "duration": track.final.value("duration"),
            "sample_rate": track.record.file.sample_rate,
            "amplitude": None,
            "weight": None,
            "info_path": None,
        }
        lines.append(json.dumps(entry, ensure_ascii=False))
    writer.write(target.folder / MANIFEST, "".join(line + "\n" for line in lines))


def load_info(audio: Path) -> dict[str, Any]:
    """The info of ``audio`` as audiocraft's ``MusicInfo`` loader reads it: the ``.json`` at
    ``audio.with_suffix('.json')``, every required key present (``KeyError`` otherwise), key
    lower-cased, bpm a float (``None`` when not a number), moods/keywords split on commas
    and spaces when strings."""
    data = json.loads(audio.with_suffix(".json").read_text())
    out = {name: data[name] for name in REQUIRED}
    out["keywords"] = data.get("keywords")
    if out["key"]:
        out["key"] = out["key"].strip().lower()
    if out["bpm"] is not None:
        try:
            out["bpm"] = float(out["bpm"])
        except ValueError:  # audiocraft's get_bpm drops what is not a number
            out["bpm"] = None
    for name in ("moods", "keywords"):
        value = out[name]
        if isinstance(value, str):
            out[name] = [v for v in value.replace(",", " ").split() if v]
    return out


def validate(folder: Path) -> list[str]:
    """Load every manifest line and its info as audiocraft does."""
    problems: list[str] = []
    infos: dict[Path, int] = {}
    for n, line in enumerate((folder / MANIFEST).read_text().splitlines(), 1):
        entry = json.loads(line)
        missing = {"path", "duration", "sample_rate", "amplitude", "weight", "info_path"} - set(
            entry
        )
        if missing:
            problems.append(f"line {n}: missing {sorted(missing)}")
            continue
        audio = Path(entry["path"])
        if not audio.exists():
            problems.append(f"line {n}: {audio} not found")
            continue
        if not isinstance(entry["duration"], (int, float)) or not entry["sample_rate"]:
            problems.append(f"line {n}: duration/sample_rate missing")
        if audio.suffix.lower() not in AUDIO_EXTENSIONS:
            problems.append(f"line {n}: audiocraft does not collect {audio.suffix} audio")
        info_path = audio.with_suffix(".json")
        if info_path in infos:
            problems.append(f"line {n}: shares {info_path.name} with line {infos[info_path]}")
        infos[info_path] = n
        try:
            info = load_info(audio)
        except (KeyError, FileNotFoundError) as exc:
            problems.append(f"{audio.name}: info JSON unreadable by audiocraft ({exc!r})")
            continue
        if not isinstance(info["moods"], list) or not isinstance(info["keywords"], list):
            problems.append(f"{audio.name}: moods/keywords are not lists")
    return problems
