"""Answers from the measurements alone, for when no model is configured.

The common questions — tempo and whether it is steady over a time range, key, meter,
loudness, length, structure as far as the beats and bars show it — are answered from the
record, plainly and with what the measurements cannot tell said out loud (nothing here knows
where a chorus is or which instruments play). Every answer opens by saying it comes from the
measurements alone.

Examples
--------
>>> parse_range("is the tempo steady between 10 and 20 s?")
(10.0, 20.0)
>>> parse_range("what happens from 1:05 to 1:30")
(65.0, 90.0)
>>> parse_range("in the first 30 seconds")
(0.0, 30.0)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from linernotes.chat import facts

if TYPE_CHECKING:
    from linernotes.library.shared import LibraryTrack

PREFACE = "From the measurements alone (no language or audio model is configured):"
_TIME = r"(\d+:\d{1,2}(?:\.\d+)?|\d+(?:\.\d+)?)\s*(?:s\b|sec\w*|seconds?)?"
_RANGE = re.compile(rf"(?:between|from)\s+{_TIME}\s*(?:and|to|-|–)\s*{_TIME}", re.I)
_DASH = re.compile(rf"\b{_TIME}\s*(?:-|–)\s*{_TIME}", re.I)
_FIRST = re.compile(r"first\s+(\d+(?:\.\d+)?)\s*(s\b|sec\w*|seconds?|min\w*)", re.I)
_LAST = re.compile(r"last\s+(\d+(?:\.\d+)?)\s*(s\b|sec\w*|seconds?|min\w*)", re.I)
_AFTER = re.compile(rf"\b(?:after|since)\s+{_TIME}", re.I)
_BEFORE = re.compile(rf"\b(?:before|until|till)\s+{_TIME}", re.I)
TOPICS: dict[str, tuple[str, ...]] = {
    "tempo": ("tempo", "bpm", "speed", "steady", "fast", "slow", "beat", "rush", "drag", "pace"),
    "key": ("key", "scale", "tonality", "tonic", "major", "minor"),
    "meter": (
        "meter",
        "metre",
        "time signature",
        "waltz",
        "bars",
        "bar ",
        "downbeat",
        "4/4",
        "3/4",
        "6/8",
    ),
    "loudness": ("loud", "lufs", "level", "dynamic", "peak", "clip", "volume", "quiet"),
    "structure": (
        "structure",
        "section",
        "chorus",
        "verse",
        "intro",
        "outro",
        "bridge",
        "drop",
        "form",
        "part",
        "where does",
    ),
    "length": ("long", "length", "duration", "minutes"),
    "quality": ("quality", "score", "noise", "clean"),
    "sound": ("instrument", "genre", "mood", "vocal", "sing", "lyric", "sound like", "style"),
}


def _seconds(text: str) -> float:
    if ":" in text:
        minutes, seconds = text.split(":", 1)
        return int(minutes) * 60 + float(seconds)
    return float(text)


def parse_range(question: str, duration_s: float | None = None) -> tuple[float, float] | None:
    """The time range a question names, in seconds (``None`` when it names none)."""
    for pattern in (_RANGE, _DASH):
        match = pattern.search(question)
        if match:
            a, b = _seconds(match.group(1)), _seconds(match.group(2))
            return (min(a, b), max(a, b)) if a != b else None
    for pattern, from_end in ((_FIRST, False), (_LAST, True)):
        match = pattern.search(question)
        if match:
            span = float(match.group(1)) * (60.0 if match.group(2).lower().startswith("min") else 1)
            if not from_end:
                return 0.0, span
            if duration_s:
                return max(0.0, duration_s - span), duration_s
    end = duration_s if duration_s else None
    match = _AFTER.search(question)
    if match and end:
        return _seconds(match.group(1)), end
    match = _BEFORE.search(question)
    if match:
        return 0.0, _seconds(match.group(1))
    return None


def topics_of(question: str) -> list[str]:
    """The topics a question asks about, in :data:`TOPICS` order."""
    text = f" {question.lower()} "
    return [name for name, words in TOPICS.items() if any(w in text for w in words)]


def _tempo(track: LibraryTrack, span: tuple[float, float] | None) -> str:
    m = facts.measurements(track)
    tempo = m["tempo"]
    if span is not None:
        window = facts.track_tempo_between(track, *span)
        where = f"Between {facts.clock(span[0])} and {facts.clock(span[1])}"
        if window.get("steady") is None:
            return f"{where} there are {window['beats']} beats: too few to judge the tempo."
        evidence = [f"{window['beats']} beats"]
        if window.get("local_tempo"):
            readings = ", ".join(f"{bpm:.0f}" for _, bpm in window["local_tempo"])
            evidence.append(f"local tempo every 2 s: {readings} BPM")
        if window.get("min_bpm") is not None and not window.get("note"):
            evidence.append(f"beat to beat {window['min_bpm']:.0f}-{window['max_bpm']:.0f} BPM")
        if window.get("note"):
            evidence.append(window["note"])
        detail = " (" + "; ".join(evidence) + ")"
        return f"{where} the tempo is {window['verdict']}{detail}."
    if not tempo.get("bpm"):
        return "No tempo was measured: the track has no clear beat."
    text = f"The tempo is {tempo['bpm']:.0f} BPM"
    if tempo.get("confidence") is not None:
        text += f" (confidence {tempo['confidence']:.2f})"
    segments = tempo.get("segments") or []
    if len(segments) > 1:
        steps = "; ".join(
            f"{facts.clock(a)}-{facts.clock(b)} at {bpm:.0f} BPM" for a, b, bpm in segments
        )
        text += f", but it changes: {steps}"
    elif (whole := facts.track_tempo_between(track, 0.0, m["duration_s"] or 0.0)).get(
        "change_at_s"
    ) is not None:
        text += f", but the local tempo changes: {whole['verdict'].removeprefix('not steady: ')}"
    elif tempo.get("stability") is not None:
        text += f"; {tempo['stability']:.0%} of the track's 8 s windows agree with it"
    return text + "."


def _reading(what: str, value: Any, confidence: Any, other: str, alternative: Any) -> str:
    """``The key is A minor (confidence 0.92); the next most likely is A major.``"""
    if not value:
        return f"No {what} was measured."
    text = f"The {what} is {value}"
    if confidence is not None:
        text += f" (confidence {confidence:.2f})"
    if alternative:
        text += f"; {other} is {alternative}"
    return text + "."


def _key(track: LibraryTrack) -> str:
    key = facts.measurements(track)["key"]
    return _reading("key", key.get("key"), key.get("confidence"), "the next most likely",
                    key.get("runner_up"))  # fmt: skip


def _meter(track: LibraryTrack) -> str:
    meter = facts.measurements(track)["meter"]
    return _reading("meter", meter.get("time_signature"), meter.get("confidence"),
                    "the alternative reading", meter.get("alternative"))  # fmt: skip


def _loudness(track: LibraryTrack) -> str:
    loud = facts.measurements(track)["loudness"]
    if loud.get("integrated_lufs") is None:
        return "No loudness was measured (silence?)."
    parts = [f"integrated loudness {loud['integrated_lufs']:.1f} LUFS"]
    if loud.get("range_lu") is not None:
        parts.append(f"loudness range {loud['range_lu']:.1f} LU")
    if loud.get("true_peak_dbtp") is not None:
        parts.append(f"true peak {loud['true_peak_dbtp']:.1f} dBTP")
    return "Loudness: " + ", ".join(parts) + "."


def _structure(track: LibraryTrack) -> str:
    summary = track.record.summary
    downbeats = summary.downbeats
    parts = []
    if len(downbeats) > 1:
        bars = len(downbeats) - 1
        phrase_starts = [facts.clock(t) for t in downbeats[::8][:12]]
        parts.append(
            f"The beats make {bars} bars from {facts.clock(downbeats[0])}; 8-bar phrases would"
            f" start at {', '.join(phrase_starts)}"
        )
    duration = facts.measurements(track)["duration_s"] or 0.0
    whole = facts.track_tempo_between(track, 0.0, duration)
    if whole.get("change_at_s") is not None:
        parts.append(
            f"the tempo changes at about {facts.clock(whole['change_at_s'])}"
            f" ({whole['verdict'].removeprefix('not steady: ')}), which often marks a new section"
        )
    text = "; ".join(parts) + "." if parts else "The measurements show no bar structure."
    return (
        text + " Section names (intro, verse, chorus) are not measured: they need an audio"
        " model (run with --model or --base-url)."
    )


def _length(track: LibraryTrack) -> str:
    duration = facts.measurements(track)["duration_s"]
    return f"The track lasts {facts.clock(duration)} ({duration:.1f} s)." if duration else ""


def _quality(track: LibraryTrack) -> str:
    quality = facts.measurements(track).get("quality")
    if not quality:
        return "No quality scores are recorded for this track."
    text = "Quality"
    if quality.get("objective_score") is not None:
        text += f": objective score {quality['objective_score']:.2f}"
    failed = quality.get("failed") or []
    warned = quality.get("warned") or []
    if failed:
        text += f"; failed checks: {', '.join(failed)}"
    if warned:
        text += f"; warnings: {', '.join(warned)}"
    return text + "."


def _sound(track: LibraryTrack) -> str:
    described = facts.final_text(track)
    if not described:
        return (
            "What the track sounds like (instruments, genre, mood, vocals) is not measured;"
            " it needs an audio model."
        )
    said = "; ".join(
        f"{name}: {', '.join(map(str, v['value'])) if isinstance(v['value'], list) else v['value']}"
        f" ({v['from']})"
        for name, v in described.items()
    )
    return f"No model is running now, but the record already says: {said}."


def answer_from_measurements(question: str, track: LibraryTrack) -> str:
    """A plain answer to ``question`` about ``track`` from its measurements."""
    duration = facts.measurements(track)["duration_s"]
    span = parse_range(question, duration)
    topics = topics_of(question)
    if not topics and span is not None:
        topics = ["tempo"]
    plain = {"key": _key, "meter": _meter, "loudness": _loudness, "structure": _structure,
             "length": _length, "quality": _quality, "sound": _sound}  # fmt: skip
    lines = [_tempo(track, span) if t == "tempo" else plain[t](track) for t in topics]
    if not lines:
        lines = [_tempo(track, None), _key(track), _meter(track), _loudness(track)]
        lines.append(
            "I can answer about tempo (and whether it is steady between two times), key,"
            " meter, loudness, length, bars and quality; anything about how it sounds needs a"
            " model."
        )
    body = " ".join(line for line in lines if line)
    return f"{PREFACE} {track.id}: {body}"
