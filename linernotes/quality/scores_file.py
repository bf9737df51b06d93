"""The scores file and per-track cache that recommenders already read.

``scores.json``::

    {"song-id-1": {"song_id": "song-id-1", "title": "Song Title",
                   "scores": {"content_usefulness": 0.85, ..., "overall_quality_score": 0.82}}}

and one ``<cache-dir>/<song-id>.json`` per track holding the same entry (the five model scores
among its ``scores``) plus, when known, the audio path and the reasons behind the verdict.
Files are written atomically. Song ids may contain ``/`` (tracks in sub-folders); in cache
file names it becomes ``__``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from linernotes.fileio import write_atomic

OVERALL_KEY = "overall_quality_score"


class ScoreEntry(BaseModel):
    """One track of the scores file (``path``, ``reasons`` and ``flags`` are extras that old
    readers ignore)."""

    song_id: str
    title: str = ""
    scores: dict[str, float] = Field(default_factory=dict)
    path: str | None = None
    flags: dict[str, str] = Field(default_factory=dict)
    reasons: list[str] = Field(default_factory=list)

    @property
    def overall(self) -> float | None:
        return self.scores.get(OVERALL_KEY)


def _clean_scores(scores: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in scores.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            continue
        out[str(k)] = float(v)
    return out


def write_scores(path: str | Path, entries: Mapping[str, ScoreEntry]) -> Path:
    """Write the scores file (ids sorted, so reruns diff cleanly). A song id from a file
    name that is not UTF-8 is written with ``\\udcXX`` escapes: valid JSON, and
    ``json.loads`` gives the same id back (as the cache entries and ``--json`` do)."""
    data = {
        sid: entries[sid].model_dump(mode="json", exclude_none=True, exclude_defaults=False)
        for sid in sorted(entries)
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return write_atomic(path, text.encode("utf-8", "backslashreplace"))


def read_scores(path: str | Path) -> dict[str, ScoreEntry]:
    """Read a scores file (ours or the users' hand-made ones; non-numeric scores skipped)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scores file is a JSON object keyed by song id")
    out: dict[str, ScoreEntry] = {}
    for key, value in data.items():
        if not isinstance(value, Mapping):
            continue
        scores = value.get("scores") if isinstance(value.get("scores"), Mapping) else value
        out[str(key)] = ScoreEntry(
            song_id=str(value.get("song_id", key)),
            title=str(value.get("title", "") or ""),
            scores=_clean_scores(scores),
            path=value.get("path"),
            flags={str(k): str(v) for k, v in (value.get("flags") or {}).items()},
            reasons=[str(r) for r in (value.get("reasons") or [])],
        )
    return out


def cache_path(cache_dir: str | Path, song_id: str) -> Path:
    return Path(cache_dir) / (song_id.replace("/", "__").replace("\\", "__") + ".json")


def write_cache_entry(cache_dir: str | Path, entry: ScoreEntry) -> Path:
    """``<cache-dir>/<song-id>.json`` with the entry (the five model scores in ``scores``)."""
    payload = entry.model_dump(mode="json", exclude_none=True)
    return write_atomic(cache_path(cache_dir, entry.song_id), json.dumps(payload, indent=2) + "\n")


def read_cache(cache_dir: str | Path) -> dict[str, ScoreEntry]:
    """Every cached entry of a cache folder, keyed by song id."""
    out: dict[str, ScoreEntry] = {}
    for p in sorted(Path(cache_dir).glob("*.json")):
        try:
            value = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(value, Mapping):
            sid = str(value.get("song_id", p.stem))
            scores = value.get("scores") if isinstance(value.get("scores"), Mapping) else value
            out[sid] = ScoreEntry(
                song_id=sid,
                title=str(value.get("title", "") or ""),
                scores=_clean_scores(scores),
                path=value.get("path"),
            )
    return out
