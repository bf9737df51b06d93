"""Embedded file tags as a source of final fields: provenance ``tags``.

The tags a file carries (ID3, Vorbis comments, MP4 atoms; read into ``record.file.tags`` by
:mod:`linernotes.audio.tags`) are what its owner or publisher said about it. They rank above
defaults and below the listening model, the tagger and human edits: genres come from the tags
only where nothing better filled them, and are normalised like every other source's tags.
Album, year and comment have no other source, so the tags are their value whenever present.
(Title and artist are set with the metadata lookup in :mod:`linernotes.reconcile.core`.)
"""

from __future__ import annotations

import re

from linernotes.models import FinalFields, FinalValue, TrackRecord
from linernotes.reconcile.normalize import clean_tags

#: How sure a tag is taken to be: someone wrote it, but nobody checked it against the audio.
TAG_CONFIDENCE = 0.6
ORIGIN = "file tags"
#: Comments that are encoder or player bookkeeping, not words about the music.
_JUNK_COMMENT = re.compile(r"^(?:lavf|lavc|encoded by|itunnorm|itunsmpb|[0-9a-f ]{16,}$)", re.I)


def tag_genres(text: str | None) -> list[str]:
    """A genre tag as a normalised genre list (``"Synth-Pop; Rock"`` -> ``["synth-pop",
    "rock"]``); ID3v1 numeric genres such as ``"(13)"`` are dropped.

    >>> tag_genres("Electronic; Synth Pop")
    ['electronic', 'synth pop']
    """
    if not text:
        return []
    return clean_tags(re.sub(r"\(\d+\)", "", text))


def tag_comment(text: str | None) -> str | None:
    """A comment tag with whitespace folded, or ``None`` for empty and bookkeeping ones."""
    if not text:
        return None
    folded = " ".join(text.split())
    return None if not folded or _JUNK_COMMENT.match(folded) else folded[:500]


def apply_file_tags(record: TrackRecord, final: FinalFields) -> None:
    """Fill ``final`` from the record's embedded tags where no better source has."""
    tags = record.file.tags
    fields = final.fields

    def fill(name: str, value: object) -> None:
        current = fields.get(name)
        if value in (None, [], "") or (current is not None and current.value not in (None, [], "")
                                       and current.provenance != "default"):  # fmt: skip
            return
        fields[name] = FinalValue(value=value, confidence=TAG_CONFIDENCE, provenance="tags",
                                  origin=ORIGIN)  # fmt: skip

    fill("genres", tag_genres(tags.get("genre")))
    album = " ".join((tags.get("album") or "").split())
    fill("album", album or None)
    year = tags.get("year")
    fill("year", int(year) if year and year.isdigit() else None)
    fill("comment", tag_comment(tags.get("comment")))
