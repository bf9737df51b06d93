"""Optional metadata lookup: embedded tags first, then a MusicBrainz recording search.

Candidates are scored the way users' own pipelines do: duration match 0.5, year match 0.3,
artist similarity 0.2 (title similarity gates the search itself). The best candidate at or
above ``min_score`` becomes a :class:`LookupMatch`, which :func:`~linernotes.reconcile.reconcile`
uses only for fields the embedded tags leave empty.

MusicBrainz asks for a descriptive User-Agent and at most one request per second, and answers
503 to a client that asks faster: requests (retries included) are spaced by
``min_interval_s``, a 503, 429 or 5xx is retried with exponential backoff (its ``Retry-After``
honoured), and a service that stays down or rate-limiting is a failure, never "no match":
:meth:`MusicBrainzLookup.find` raises :class:`MusicBrainzError`; called per track in a batch,
the lookup records the failure in ``failures`` and the batch carries on, without asking a
service that failed ``max_consecutive_failures`` times in a row again.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from linernotes.errors import LinernotesError
from linernotes.http import HttpClient, join_url
from linernotes.version import __version__

if TYPE_CHECKING:
    from linernotes.models import TrackRecord

DEFAULT_URL = "https://musicbrainz.org"


class MusicBrainzError(LinernotesError):
    """MusicBrainz could not be asked: unreachable, down or rate-limiting past the retries,
    or an answer that is not a recording search result."""


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
    max_retries: int = 4
    base_delay_s: float = 1.0
    max_consecutive_failures: int = 3
    user_agent: str = f"linernotes/{__version__} ( https://github.com/linernotes )"
    http: HttpClient | None = None
    sleep: Callable[[float], None] | None = None  # default: time.sleep
    #: ``(file, reason)`` of every track whose lookup failed (not the ones with no match).
    failures: list[tuple[str, str]] = field(default_factory=list)
    _consecutive: int = field(default=0, init=False, repr=False)
    _last_reason: str = field(default="", init=False, repr=False)

    def __post_init__(self) -> None:
        if self.http is None:
            self.http = HttpClient(
                timeout_s=self.timeout_s,
                max_retries=self.max_retries,
                concurrency=1,
                base_delay_s=self.base_delay_s,
                min_interval_s=self.min_interval_s,
                error=MusicBrainzError,
                sleep=self.sleep or time.sleep,
            )

    def search(self, artist: str | None, title: str) -> list[dict[str, Any]]:
        """The recordings a search finds; :class:`MusicBrainzError` when it cannot be asked."""
        assert self.http is not None
        query = f'recording:"{_escape(title)}"'
        if artist:
            query += f' AND artist:"{_escape(artist)}"'
        body = self.http.get_json(
            join_url(self.base_url, "ws/2/recording"),
            {"query": query, "fmt": "json", "limit": str(self.limit)},
            headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            what="MusicBrainz recording search",
        )
        recordings = body.get("recordings") if isinstance(body, dict) else None
        if not isinstance(recordings, list):
            raise MusicBrainzError("MusicBrainz answered without a list of recordings")
        return recordings

    def find(self, record: TrackRecord) -> LookupMatch | None:
        """The best-scoring recording for ``record``, or ``None`` (no title to search for, or
        nothing above ``min_score``); :class:`MusicBrainzError` when the service could not
        answer."""
        artist, title, year = query_terms(record)
        if not title:
            return None
        candidates = self.search(artist, title)
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

    def __call__(self, record: TrackRecord) -> LookupMatch | None:
        """:meth:`find` for one track of a batch: a failure is recorded in ``failures`` and
        gives ``None``, so that the batch carries on."""
        where = str(record.file.path)
        if self._consecutive >= self.max_consecutive_failures:
            self.failures.append((where, f"not asked after {self._consecutive} failures in a row:"
                                         f" {self._last_reason}"))  # fmt: skip
            return None
        try:
            match = self.find(record)
        except MusicBrainzError as exc:
            self._consecutive += 1
            self._last_reason = str(exc)
            self.failures.append((where, str(exc)))
            return None
        self._consecutive = 0
        return match


def _escape(text: str) -> str:
    """Lucene-escape a phrase for the MusicBrainz query syntax."""
    return re.sub(r'([+\-&|!(){}\[\]^"~*?:\\/])', r"\\\1", text)
