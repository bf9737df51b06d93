"""``QualityFilter``: keep the tracks whose quality score clears a threshold.

The API recommenders already use, unchanged::

    qf = QualityFilter(quality_threshold=0.4, quality_scores_file="scores.json")
    qf.fit(songs_df)                    # a DataFrame (song_id column or index) or a list of ids
    kept_ids = qf.filter(candidate_ids)  # a list in, the kept ids out (order kept)
    kept_df = qf.filter(songs_df)        # a DataFrame in, its kept rows out
    qf.score("song-id-1")                # overall_quality_score, or the unknown policy

``threshold``/``scores_file`` are the new names; ``quality_threshold``/``quality_scores_file``
still work. Ids without a score follow ``unknown``: ``"keep"`` (default: never drop a track
for lack of evidence), ``"drop"`` or ``"raise"`` (:class:`KeyError`). A ``scorer`` callable
(e.g. a model-backed one) fills in missing scores on the fly. ``require_pass`` names
detectors (``clipping``, ``bandwidth``, ``stereo`` ...) whose ``fail`` rejects a track
whatever its score (``reject_warn=True``: a ``warn`` too).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from linernotes.quality.scores_file import OVERALL_KEY, ScoreEntry, read_scores

UnknownPolicy = Literal["keep", "drop", "raise"]
ID_COLUMNS = ("song_id", "id", "track_id")


@dataclass(frozen=True)
class Decision:
    """Why one id was kept or rejected."""

    song_id: str
    kept: bool
    score: float | None
    reason: str


def _is_dataframe(obj: Any) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "index") and hasattr(obj, "loc")


class QualityFilter:
    """Threshold filter over a scores file (or scores given directly)."""

    def __init__(
        self,
        threshold: float | None = None,
        scores_file: str | Path | None = None,
        *,
        unknown: UnknownPolicy = "keep",
        score_key: str = OVERALL_KEY,
        require_pass: Sequence[str] = (),
        reject_warn: bool = False,
        scores: Mapping[str, ScoreEntry | Mapping[str, Any] | float] | None = None,
        scorer: Callable[[str], float | None] | None = None,
        id_column: str | None = None,
        quality_threshold: float | None = None,
        quality_scores_file: str | Path | None = None,
    ) -> None:
        if threshold is not None and quality_threshold is not None:
            raise TypeError("give threshold or quality_threshold, not both")
        if scores_file is not None and quality_scores_file is not None:
            raise TypeError("give scores_file or quality_scores_file, not both")
        if unknown not in ("keep", "drop", "raise"):
            raise ValueError(f"unknown must be 'keep', 'drop' or 'raise', not {unknown!r}")
        self.threshold = float(threshold if threshold is not None else (quality_threshold or 0.0))
        self.scores_file = scores_file if scores_file is not None else quality_scores_file
        self.unknown: UnknownPolicy = unknown
        self.score_key = score_key
        self.require_pass = tuple(require_pass)
        self.reject_warn = reject_warn
        self.scorer = scorer
        self.id_column = id_column
        self.entries: dict[str, ScoreEntry] = {}
        if self.scores_file is not None:
            self.entries.update(read_scores(self.scores_file))
        if scores:
            self.entries.update({str(k): _entry(str(k), v) for k, v in scores.items()})
        self.ids_: list[str] = []
        self.missing_: list[str] = []

    # -- legacy attribute names -----------------------------------------------------------------
    @property
    def quality_threshold(self) -> float:
        return self.threshold

    @property
    def quality_scores_file(self) -> str | Path | None:
        return self.scores_file

    # -- fitting --------------------------------------------------------------------------------
    def ids_of(self, songs: Any) -> list[str]:
        """The song ids of a DataFrame (id column, else its index), a Series, or an iterable of
        ids or of dicts with an id key."""
        if _is_dataframe(songs):
            col = self.id_column or next((c for c in ID_COLUMNS if c in songs.columns), None)
            values = songs[col] if col is not None else songs.index
            return [str(v) for v in values]
        if hasattr(songs, "tolist") and not isinstance(songs, (str, bytes)):
            songs = songs.tolist()
        if isinstance(songs, (str, bytes)):
            raise TypeError("pass a list of ids, not a single string")
        out = []
        for item in songs:
            if isinstance(item, Mapping):
                key = self.id_column or next((c for c in ID_COLUMNS if c in item), None)
                if key is None:
                    raise ValueError(f"no id key ({', '.join(ID_COLUMNS)}) in {item!r}")
                out.append(str(item[key]))
            else:
                out.append(str(item))
        return out

    def fit(self, songs: Any) -> QualityFilter:
        """Learn which songs are known; a DataFrame with a ``score_key`` column also supplies
        scores for ids the scores file lacks. Missing scores are computed by ``scorer`` when
        one is given, else listed in ``missing_``."""
        ids = self.ids_of(songs)
        if _is_dataframe(songs) and self.score_key in songs.columns:
            for sid, value in zip(ids, songs[self.score_key].tolist(), strict=True):
                if sid not in self.entries and _is_number(value):
                    self.entries[sid] = ScoreEntry(song_id=sid, scores={self.score_key: value})
        self.ids_ = ids
        self.missing_ = [sid for sid in ids if self._lookup(sid) is None]
        return self

    # -- scoring and filtering ------------------------------------------------------------------
    def _lookup(self, song_id: str) -> float | None:
        entry = self.entries.get(song_id)
        if entry is not None and self.score_key in entry.scores:
            return entry.scores[self.score_key]
        if self.scorer is not None:
            value = self.scorer(song_id)
            if _is_number(value):
                self.entries.setdefault(song_id, ScoreEntry(song_id=song_id)).scores[
                    self.score_key
                ] = float(value)  # type: ignore[arg-type]
                return float(value)  # type: ignore[arg-type]
        return None

    def score(self, song_id: str) -> float | None:
        """The song's score; ``None`` for an unknown id (``KeyError`` under ``unknown="raise"``)."""
        value = self._lookup(str(song_id))
        if value is None and self.unknown == "raise":
            raise KeyError(f"no {self.score_key} for song {song_id!r}")
        return value

    def decide(self, song_id: str) -> Decision:
        """Keep or reject one id, with the reason."""
        sid = str(song_id)
        value = self.score(sid)
        if value is None:
            kept = self.unknown == "keep"
            policy = "kept" if kept else "dropped"
            return Decision(sid, kept, None, f"no score ({policy} by policy)")
        entry = self.entries.get(sid)
        flags = entry.flags if entry is not None else {}
        bad = {"fail", "warn"} if self.reject_warn else {"fail"}
        for name in self.require_pass:
            if flags.get(name) in bad:
                why = next((r for r in (entry.reasons if entry else []) if r.startswith(name)), "")
                reason = f"{name} {flags[name]}" + (f": {why}" if why else "")
                return Decision(sid, False, value, reason)
        if value < self.threshold:
            return Decision(sid, False, value, f"score {value:.3f} < {self.threshold:g}")
        return Decision(sid, True, value, f"score {value:.3f} >= {self.threshold:g}")

    def decisions(self, songs: Any) -> list[Decision]:
        return [self.decide(sid) for sid in self.ids_of(songs)]

    def filter(self, songs: Any) -> Any:
        """The kept songs: a list of ids for a list (order kept), the kept rows for a
        DataFrame."""
        decisions = self.decisions(songs)
        if _is_dataframe(songs):
            return songs[[d.kept for d in decisions]]
        return [d.song_id for d in decisions if d.kept]

    def split(self, songs: Any) -> tuple[list[Decision], list[Decision]]:
        """(kept, rejected) decisions."""
        decisions = self.decisions(songs)
        return [d for d in decisions if d.kept], [d for d in decisions if not d.kept]


def _is_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(float(value))
    )


def _entry(song_id: str, value: ScoreEntry | Mapping[str, Any] | float) -> ScoreEntry:
    if isinstance(value, ScoreEntry):
        return value
    if isinstance(value, Mapping):
        scores = value.get("scores") if isinstance(value.get("scores"), Mapping) else value
        return ScoreEntry(
            song_id=song_id,
            title=str(value.get("title", "") or ""),
            scores={k: float(v) for k, v in scores.items() if _is_number(v)},
            flags={str(k): str(v) for k, v in (value.get("flags") or {}).items()},
        )
    return ScoreEntry(song_id=song_id, scores={OVERALL_KEY: float(value)})


def ids_from(items: Iterable[Any]) -> list[str]:
    """Ids of any iterable (convenience for callers without a filter)."""
    return QualityFilter().ids_of(items)
