"""Optional metadata lookup: embedded tags first, then a MusicBrainz recording search.

Candidates are scored the way users' own pipelines do: duration match 0.5, year match 0.3,
artist similarity 0.2 (title similarity gates the search itself). The best candidate at or
above ``min_score`` becomes a :class:`LookupMatch`, which :func:`~linernotes.reconcile.reconcile`
uses only for fields the embedded tags leave empty. MusicBrainz asks for a descriptive
User-Agent and at most one request per second; both are honoured.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from linernotes.version import __version__

if TYPE_CHECKING:
    from linernotes.models import TrackRecord

DEFAULT_URL = "https://musicbrainz.org"
WEIGHTS = {"duration": 0.5, "year": 0.3, "artist": 0.2}


class LookupMatch(BaseModel):
    """The chosen recording and why."""

    source: str = "musicbrainz"
    recording_id: str
    title: str
    artist: str | None = None
    album: str | None = None
    """The first release the recording appears on."""
    year: int | None = None
    duration: float | None = None
    """Seconds."""
    score: float
    """How well it matches the track, 0..1: :data:`WEIGHTS` over ``parts``."""
    parts: dict[str, float]


def similarity(a: str | None, b: str | None) -> float:
    """Case- and punctuation-insensitive string similarity in [0, 1]."""
    if not a or not b:
        return 0.0
    norm = [re.sub(r"[^\w]+", " ", s.lower()).strip() for s in (a, b)]
    return difflib.SequenceMatcher(None, norm[0], norm[1]).ratio()


def score_candidate(
    candidate: dict[str, Any], *, artist: str | None, year: int | None, duration: float | None
) -> tuple[float, dict[str, float]]:
    """``(score, parts)`` of one MusicBrainz recording: duration within 2 s scores 1 and
    falls to 0 at 20 s off; the same year 1, one year off 0.5; artist by similarity."""
    parts = {"duration": 0.0, "year": 0.0, "artist": 0.0}
    length = candidate.get("length")
    if duration and length:
        off = abs(length / 1000.0 - duration)
        parts["duration"] = 1.0 if off <= 2.0 else max(0.0, 1.0 - (off - 2.0) / 18.0)
    found = _year(candidate)
    if year and found:
        parts["year"] = 1.0 if found == year else (0.5 if abs(found - year) == 1 else 0.0)
    parts["artist"] = similarity(artist, _artist(candidate))
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    return round(score, 4), {k: round(v, 4) for k, v in parts.items()}


def _artist(candidate: dict[str, Any]) -> str | None:
    credits = candidate.get("artist-credit") or []
    names = [c.get("name") or (c.get("artist") or {}).get("name", "") for c in credits]
    joins = [c.get("joinphrase", "") for c in credits]
    return "".join(n + j for n, j in zip(names, joins, strict=False)).strip() or None


def _year(candidate: dict[str, Any]) -> int | None:
    dates = [candidate.get("first-release-date")]
    dates += [r.get("date") for r in candidate.get("releases") or []]
    for date in dates:
        if date and re.match(r"^\d{4}", date):
            return int(date[:4])
    return None


def query_terms(record: TrackRecord) -> tuple[str | None, str | None, int | None]:
    """``(artist, title, year)`` from the embedded tags, else ``Artist - Title`` in the file
    name."""
    tags = record.file.tags
    artist, title = tags.get("artist"), tags.get("title")
    year_text = tags.get("year") or tags.get("date") or ""
    year = int(year_text[:4]) if re.match(r"^\d{4}", year_text) else None
    if not title:
        stem = Path(record.file.path).stem
        left, sep, right = stem.partition(" - ")
        title, artist = (right, artist or left) if sep else (stem, artist)
    return artist, title, year


@dataclass
class MusicBrainzLookup:
    """Searches MusicBrainz recordings (``/ws/2/recording?query=...&fmt=json``)."""

    base_url: str = DEFAULT_URL
    min_score: float = 0.6
    limit: int = 10
    timeout_s: float = 20.0
    min_interval_s: float = 1.0
    user_agent: str = f"linernotes/{__version__} ( https://github.com/linernotes )"
    _last: float = field(default=0.0, init=False, repr=False)

    def search(self, artist: str | None, title: str) -> list[dict[str, Any]]:
        query = f'recording:"{_escape(title)}"'
        if artist:
            query += f' AND artist:"{_escape(artist)}"'
        wait = self._last + self.min_interval_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        response = httpx.get(
            self.base_url.rstrip("/") + "/ws/2/recording",
            params={"query": query, "fmt": "json", "limit": str(self.limit)},
            headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            timeout=self.timeout_s,
        )
        response.raise_for_status()
        return list(response.json().get("recordings") or [])

    def __call__(self, record: TrackRecord) -> LookupMatch | None:
        """The best-scoring recording for ``record``, or ``None`` (no title to search for,
        nothing above ``min_score``, or the service unreachable)."""
        artist, title, year = query_terms(record)
        if not title:
            return None
        try:
            candidates = self.search(artist, title)
        except (httpx.HTTPError, ValueError):
            return None
        duration = record.summary.duration or record.file.duration
        best: LookupMatch | None = None
        for c in candidates:
            if similarity(title, c.get("title")) < 0.6:
                continue
            score, parts = score_candidate(c, artist=artist, year=year, duration=duration)
            if score >= self.min_score and (best is None or score > best.score):
                releases = c.get("releases") or []
                best = LookupMatch(
                    recording_id=c["id"], title=c.get("title", ""), artist=_artist(c),
                    album=releases[0].get("title") if releases else None, year=_year(c),
                    duration=c["length"] / 1000.0 if c.get("length") else None,
                    score=score, parts=parts,
                )  # fmt: skip
        return best


def _escape(text: str) -> str:
    """Lucene-escape a phrase for the MusicBrainz query syntax."""
    return re.sub(r'([+\-&|!(){}\[\]^"~*?:\\/])', r"\\\1", text)
