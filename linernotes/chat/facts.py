"""Compact views of a track's measurements for a language model or a plain-text answer.

A record holds thousands of beat times and long feature vectors; a chat needs a few hundred
tokens: tempo (with its steady stretches), a beat-grid summary, key, meter, loudness, quality,
stems and the final tags. These pure functions cut a record down to that, and read the tempo
of any time range from the beats and the local tempo curve (:func:`tempo_between`).

Examples
--------
>>> beats = [i * 0.5 for i in range(41)]           # 120 BPM for 20 s
>>> window = tempo_between(beats, 10.0, 20.0)
>>> window["bpm"], window["steady"]
(120.0, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from linernotes.models import FINAL_FIELDS

if TYPE_CHECKING:
    from linernotes.library.shared import LibraryTrack

#: Local tempo may wander this much (relative) and still count as steady: the 4 % tolerance of
#: the usual tempo accuracy measure, which the rhythm stage's tempo segments also use.
STEADY_TOLERANCE = 0.04
#: The final fields that describe rather than measure (tempo, key, meter, length are measured).
_FINAL_TEXT_FIELDS = tuple(
    f for f in FINAL_FIELDS if f not in ("lyrics", "bpm", "key", "time_signature", "duration")
)
_NOTES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def _r(value: Any, digits: int = 2) -> Any:
    return round(float(value), digits) if isinstance(value, (int, float)) else value


def _result(track: LibraryTrack, analyzer: str) -> dict[str, Any]:
    section = track.record.analyses.get(analyzer)
    return dict(section.result) if section is not None else {}


def clock(seconds: float) -> str:
    """``75.3`` -> ``"1:15.3"``: a time as a listener reads it."""
    minutes, rest = divmod(max(0.0, float(seconds)), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def beat_grid_summary(beats: Sequence[float], downbeats: Sequence[float]) -> dict[str, Any]:
    """Count, span and regularity of a beat grid (not the times themselves)."""
    times = np.asarray(beats, dtype=float)
    out: dict[str, Any] = {"count": int(times.size), "bars": max(0, len(downbeats) - 1)}
    if times.size >= 2:
        ibi = np.diff(times)
        out.update(
            first_s=_r(times[0]),
            last_s=_r(times[-1]),
            mean_interval_s=_r(ibi.mean(), 3),
            interval_cv=_r(ibi.std() / ibi.mean(), 3) if ibi.mean() > 0 else None,
        )
    if len(downbeats):
        out["first_downbeat_s"] = _r(downbeats[0])
    return out


def _local_bpm(times: np.ndarray) -> np.ndarray:
    """Tempo of every beat interval, median-filtered over three (one late beat is no change)."""
    bpm = 60.0 / np.diff(times)
    if bpm.size < 3:
        return bpm
    padded = np.concatenate([bpm[:1], bpm, bpm[-1:]])
    return np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)


def _best_split(values: np.ndarray, least: int) -> tuple[int, float, float]:
    """Where a series is best cut into two tempi (the cut that leaves the smallest absolute
    deviation from each side's median, at least ``least`` values each side), and the
    medians either side."""
    best, where = np.inf, least
    for i in range(least, values.size - least + 1):
        left, right = values[:i], values[i:]
        cost = np.abs(left - np.median(left)).sum() + np.abs(right - np.median(right)).sum()
        if cost < best:
            best, where = float(cost), i
    return where, float(np.median(values[:where])), float(np.median(values[where:]))


def _changes(before: float, after: float) -> bool:
    return abs(after / before - 1.0) > STEADY_TOLERANCE


def tempo_between(
    beats: Sequence[float],
    start_s: float,
    end_s: float,
    curve: Sequence[Sequence[float]] = (),
) -> dict[str, Any]:
    """The tempo of ``start_s``..``end_s``: from the beats there (median BPM, each half, the
    spread) and from the rhythm stage's local tempo ``curve`` (``(seconds, bpm)`` every 2 s
    from 8 s windows), whether it is steady (within :data:`STEADY_TOLERANCE` throughout) and,
    when it is not, where it changes.

    The beat tracker follows one tempo with a penalty on every departure, so across a real
    change of tempo its grid may keep going at one period; the local tempo curve does not,
    and a change it shows is reported even where the beats did not follow it (and said so).
    """
    times = np.asarray(beats, dtype=float)
    inside = times[(times >= start_s - 1e-6) & (times <= end_s + 1e-6)]
    points = np.asarray([p for p in curve if start_s - 1e-6 <= p[0] <= end_s + 1e-6], float)
    out: dict[str, Any] = {"start_s": _r(start_s), "end_s": _r(end_s), "beats": int(inside.size)}
    local = _local_bpm(inside) if inside.size >= 4 else np.empty(0)
    beats_steady = None
    if local.size:
        median = float(np.median(local))
        half = local.size // 2
        beats_steady = bool(np.all(np.abs(local / median - 1.0) <= STEADY_TOLERANCE))
        out.update(
            bpm=_r(median, 1),
            bpm_first_half=_r(np.median(local[:half]), 1),
            bpm_second_half=_r(np.median(local[half:]), 1),
            min_bpm=_r(local.min(), 1),
            max_bpm=_r(local.max(), 1),
            spread=_r((local.max() - local.min()) / median, 3),
        )
    if points.shape[0] >= 2:
        out["local_tempo"] = [[_r(t, 1), _r(b, 1)] for t, b in points[:16]]
        where, before, after = _best_split(points[:, 1], 1)
        if _changes(before, after):
            at = 0.5 * (points[where - 1, 0] + points[where, 0])
            out.update(steady=False, change_at_s=_r(at, 1))
            out["verdict"] = (
                f"not steady: about {before:.0f} BPM until about {clock(at)},"
                f" then about {after:.0f} BPM"
            )
            early = local[inside[1:] <= at]
            if early.size and abs(float(np.median(early)) / before - 1.0) > 2 * STEADY_TOLERANCE:
                out["note"] = (
                    "the beat grid keeps one period through the change; the tempo figures"
                    " come from the local tempo of 8-second windows"
                )
            return out
        if beats_steady is None:
            median = float(np.median(points[:, 1]))
            out.update(steady=True, verdict=f"steady at about {median:.0f} BPM")
            return out
    if beats_steady is None:
        out.update(steady=None, verdict="too few beats in this range to judge the tempo")
        return out
    out["steady"] = beats_steady
    if beats_steady:
        out["verdict"] = f"steady at about {out['bpm']:.0f} BPM"
        return out
    where, before, after = _best_split(local, 2)
    if _changes(before, after):
        out["change_at_s"] = _r(inside[where])
        out["verdict"] = (
            f"not steady: about {before:.0f} BPM until {clock(inside[where])},"
            f" then about {after:.0f} BPM"
        )
    else:
        out["verdict"] = (
            f"not steady: wanders between {local.min():.0f} and {local.max():.0f} BPM"
            f" around {out['bpm']:.0f}"
        )
    return out


def track_tempo_between(track: LibraryTrack, start_s: float, end_s: float) -> dict[str, Any]:
    """:func:`tempo_between` on a track's beats and local tempo curve."""
    curve = _result(track, "rhythm").get("tempo_curve") or []
    return tempo_between(track.record.summary.beats, start_s, end_s, curve)


def _tempo(track: LibraryTrack) -> dict[str, Any]:
    rhythm = _result(track, "rhythm")
    summary = track.record.summary
    out: dict[str, Any] = {
        "bpm": _r(track.final.value("bpm", summary.bpm)),
        "measured_bpm": _r(rhythm.get("bpm", summary.bpm)),
        "confidence": summary.confidence.get("bpm"),
        "stability": rhythm.get("tempo_stability"),
    }
    segments = rhythm.get("tempo_segments") or []
    out["segments"] = [[_r(s["start"], 1), _r(s["end"], 1), _r(s["bpm"], 1)] for s in segments[:8]]
    alternatives = [c for c in rhythm.get("bpm_candidates") or [] if c.get("relation") != "primary"]
    if alternatives:
        out["alternatives"] = [
            {"bpm": _r(c.get("bpm"), 1), "relation": c.get("relation"), "score": _r(c.get("score"))}
            for c in alternatives[:2]
        ]
    return out


def _quality(track: LibraryTrack) -> dict[str, Any] | None:
    quality = track.record.quality
    if quality is None:
        return None
    out: dict[str, Any] = {"combined_score": quality.combined_score}
    if quality.objective is not None:
        out["objective_score"] = quality.objective.score
        out["failed"] = quality.objective.failed()
        out["warned"] = quality.objective.warned()
    if quality.model is not None:
        out["model_score"] = quality.model.score
    return out


def _stems(track: LibraryTrack) -> list[dict[str, Any]]:
    out = []
    for stem in track.record.stems:
        item: dict[str, Any] = {"type": stem.stem_type}
        if stem.features is not None:
            f = stem.features
            item.update(
                lufs=_r(f.integrated_lufs, 1),
                onset_density=_r(f.onset_density),
                rhythm_complexity=_r(f.rhythm_complexity),
                active=_r(f.active_ratio),
            )
        if stem.error:
            item["error"] = stem.error
        out.append(item)
    return out


def final_text(track: LibraryTrack, *, caption_chars: int = 400) -> dict[str, Any]:
    """The final descriptive fields that have a value, each with where it came from."""
    out: dict[str, Any] = {}
    for name in _FINAL_TEXT_FIELDS:
        item = track.final.fields.get(name)
        if item is None or item.value in (None, "", []):
            continue
        value = item.value
        if isinstance(value, str) and len(value) > caption_chars:
            value = value[:caption_chars] + "..."
        out[name] = {"value": value, "from": item.provenance}
    return out


def measurements(track: LibraryTrack) -> dict[str, Any]:
    """Everything measured about a track, compact (a few hundred tokens as JSON)."""
    summary = track.record.summary
    rhythm = _result(track, "rhythm")
    tonal = _result(track, "tonal")
    loud = _result(track, "loudness")
    runner = tonal.get("runner_up") or {}
    out: dict[str, Any] = {
        "track": track.id,
        "duration_s": _r(track.final.value("duration", summary.duration), 1),
        "tempo": _tempo(track),
        "beat_grid": beat_grid_summary(summary.beats, summary.downbeats),
        "key": {
            "key": track.final.value("key", summary.key),
            "confidence": summary.confidence.get("key"),
            "runner_up": runner.get("key") if isinstance(runner, dict) else None,
        },
        "meter": {
            "time_signature": track.final.value("time_signature", summary.time_signature),
            "confidence": summary.confidence.get("time_signature"),
            "alternative": rhythm.get("meter_alternative"),
            "beats_per_bar": rhythm.get("beats_per_bar"),
        },
        "loudness": {
            "integrated_lufs": _r(loud.get("integrated_lufs"), 1),
            "range_lu": _r(loud.get("loudness_range_lu"), 1),
            "true_peak_dbtp": _r(loud.get("true_peak_dbtp"), 1),
            "crest_factor_db": _r(loud.get("crest_factor_db"), 1),
            "silence_ratio": _r(loud.get("silence_ratio"), 3),
        },
    }
    whole = track_tempo_between(track, 0.0, out["duration_s"] or 0.0)
    if whole.get("change_at_s") is not None:
        out["tempo"]["change"] = whole["verdict"].removeprefix("not steady: ")
    quality = _quality(track)
    if quality:
        out["quality"] = quality
    stems = _stems(track)
    if stems:
        out["stems"] = stems
    described = final_text(track)
    if described:
        out["described"] = described
    human = [n for n, v in track.final.fields.items() if v.provenance == "human"]
    if human:
        out["human_edited"] = human
    if track.final.review:
        out["flagged_for_review"] = list(track.final.review)
    return out


def key_pitch_class(key: str | None) -> tuple[int, str] | None:
    """``"F# minor"`` -> ``(6, "minor")``; ``None`` for anything else."""
    if not key:
        return None
    parts = key.split()
    if len(parts) != 2 or not parts[0] or parts[0][0] not in _NOTES:
        return None
    pc = _NOTES[parts[0][0]] + parts[0][1:].count("#") - parts[0][1:].count("b")
    return pc % 12, parts[1]


def key_relation(a: str | None, b: str | None) -> str | None:
    """How two keys relate, for a DJ or an arranger: same, relative, parallel, a fifth apart,
    or the distance in semitones."""
    ka, kb = key_pitch_class(a), key_pitch_class(b)
    if ka is None or kb is None:
        return None
    (pa, ma), (pb, mb) = ka, kb
    if ka == kb:
        return "same key"
    if ma != mb:
        major, minor = (pa, pb) if ma == "major" else (pb, pa)
        if (major - 3) % 12 == minor:
            return "relative major/minor"
        if pa == pb:
            return "parallel major/minor"
    if ma == mb and (pa - pb) % 12 in (5, 7):
        return "a fifth apart (neighbours on the circle of fifths)"
    step = min((pa - pb) % 12, (pb - pa) % 12)
    return f"{step} semitones apart" + ("" if ma == mb else ", different modes")


def compare(a: LibraryTrack, b: LibraryTrack) -> dict[str, Any]:
    """Two tracks' measurements side by side, with how their tempo, key and level relate."""
    ma, mb = measurements(a), measurements(b)
    bpm_a, bpm_b = ma["tempo"]["bpm"], mb["tempo"]["bpm"]
    relations: dict[str, Any] = {"key": key_relation(ma["key"]["key"], mb["key"]["key"])}
    if bpm_a and bpm_b:
        relations["bpm_ratio"] = _r(bpm_b / bpm_a, 3)
        relations["bpm_difference"] = _r(bpm_b - bpm_a, 1)
    la, lb = ma["loudness"]["integrated_lufs"], mb["loudness"]["integrated_lufs"]
    if la is not None and lb is not None:
        relations["loudness_difference_lu"] = _r(lb - la, 1)
    tags_a, tags_b = _tags(a), _tags(b)
    relations["shared_tags"] = sorted(tags_a & tags_b)
    keep = ("track", "duration_s", "tempo", "key", "meter", "loudness", "quality", "described")
    return {
        "a": {k: ma[k] for k in keep if k in ma},
        "b": {k: mb[k] for k in keep if k in mb},
        "relations": relations,
    }


def _tags(track: LibraryTrack) -> set[str]:
    out: set[str] = set()
    for name in ("genres", "moods", "instruments"):
        out.update(str(t).lower() for t in track.final.value(name, []) or [])
    return out


def search_summary(track: LibraryTrack) -> dict[str, Any]:
    """One line of a search result."""
    return {
        "track": track.id,
        "bpm": track.final.value("bpm"),
        "key": track.final.value("key"),
        "time_signature": track.final.value("time_signature"),
        "duration_s": _r(track.final.value("duration"), 1),
        "quality": track.record.quality.combined_score if track.record.quality else None,
        "tags": sorted(_tags(track))[:8],
    }
