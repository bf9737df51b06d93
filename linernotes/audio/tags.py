"""Embedded tags (artist, title, album, year, ...) and the header's declared length, read with
tinytag (MIT) for ID3, Vorbis comments, FLAC, MP4, WAV and AIFF, with the container's own
metadata (from FFmpeg) filling any gaps."""

from __future__ import annotations

import re
from pathlib import Path

from tinytag import TinyTag

#: Tag names kept in the record, mapped from tinytag's and FFmpeg's names.
_TAG_NAMES = {
    "artist": "artist",
    "title": "title",
    "album": "album",
    "albumartist": "albumartist",
    "album_artist": "albumartist",
    "year": "year",
    "date": "year",
    "genre": "genre",
    "track": "track",
    "composer": "composer",
    "language": "language",
    "comment": "comment",
    "isrc": "isrc",
}
#: Placeholder values that mean "no tag".
_EMPTY = {"", "und", "unknown", "none"}


def _probe(path: str | Path, *, tags: bool, duration: bool) -> TinyTag | None:
    try:
        return TinyTag.get(str(path), tags=tags, duration=duration)
    except Exception:  # unsupported or damaged headers: the file simply has no tags
        return None


def read_tags(path: str | Path, fallback: dict[str, str] | None = None) -> dict[str, str]:
    """Return normalised tags; ``fallback`` (the container's metadata) fills gaps.

    Years are reduced to four digits; empty and placeholder values are dropped.
    """
    found: dict[str, str] = {}
    tag = _probe(path, tags=True, duration=False)
    if tag is not None:
        for key, value in tag.as_dict().items():
            name = _TAG_NAMES.get(str(key).lower())
            text = _first_text(value)
            if name and text.lower() not in _EMPTY and name not in found:
                found[name] = text
    for key, value in (fallback or {}).items():
        name = _TAG_NAMES.get(key.lower())
        text = str(value).strip()
        if name and text.lower() not in _EMPTY and name not in found:
            found[name] = text
    if "year" in found:
        match = re.search(r"\d{4}", found["year"])
        if match:
            found["year"] = match.group(0)
        else:
            del found["year"]
    return found


def declared_duration(path: str | Path) -> float | None:
    """The length the file's header declares (WAV data size, FLAC sample count, MP3 Xing
    frame count), independent of how much of the file actually decodes; ``None`` if unknown."""
    tag = _probe(path, tags=False, duration=True)
    length = getattr(tag, "duration", None)
    return float(length) if length and length > 0 else None


def _first_text(value: object) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip() if value is not None else ""
