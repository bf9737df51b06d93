"""Tempo, key and meter claims in a model's free text, as values a reconcile step can check.

The listening models are weak at exact tempo and key, so their claims never replace the
measured values; they are read here ("around 120 BPM", "in the key of A minor", "F#m",
"3/4 time", "waltz feel") so that the reconcile step can compare them with the measurements
and flag disagreements.
"""

from __future__ import annotations

import re
from typing import Any

_NOTE = r"([A-Ga-g])\s?(#|♯|b|♭|-?sharp|-?flat)?"
_BPM = re.compile(
    r"(?:(?:around|about|approximately|approx\.?|roughly|~|circa|near|at)\s*)?"
    r"(\d{2,3}(?:\.\d+)?)(?:\s*(?:-|–|to)\s*(\d{2,3}(?:\.\d+)?))?\s*"
    r"(?:bpm|b\.p\.m\.?|beats\s+per\s+minute)",
    re.IGNORECASE,
)
_TEMPO_OF = re.compile(
    r"tempo\s*(?:of|is|:|=|at|around|about)?\s*(?:around|about|approximately|roughly|~)?\s*"
    r"(\d{2,3}(?:\.\d+)?)(?!\s*/)",
    re.IGNORECASE,
)
_KEY_PHRASE = re.compile(
    r"(?:key\s*(?:of|is|:|=|signature\s*(?:of|is|:)?)?\s*|\bin\s+(?:the\s+key\s+of\s+)?)"
    + _NOTE
    + r"\s*(major|minor|maj|min|m)\b",
    re.IGNORECASE,
)
_KEY_BARE = re.compile(
    r"(?<![A-Za-z#/])" + _NOTE + r"\s*(major|minor|maj|min|m)(?![A-Za-z])", re.IGNORECASE
)
_KEY_FIELD = re.compile(
    r'"?key"?\s*[:=]\s*"?\s*' + _NOTE + r"\s*(major|minor|maj|min|m)?\b", re.IGNORECASE
)
_METER = re.compile(
    r"(?<![\d/])([2-9]|1[0-2])\s*/\s*(2|4|8|16)(?![\d/])\s*(time|meter|metre|signature|feel)?",
    re.IGNORECASE,
)
_METER_WORDS = [
    (re.compile(r"\bwaltz(?:es|ing)?\b", re.IGNORECASE), "3/4"),
    (re.compile(r"\btriple\s+(?:meter|metre|time)\b", re.IGNORECASE), "3/4"),
    (re.compile(r"\bcommon\s+time\b", re.IGNORECASE), "4/4"),
    (re.compile(r"\bcut\s+time\b|\balla\s+breve\b", re.IGNORECASE), "2/2"),
    (re.compile(r"\bcompound\s+duple\b", re.IGNORECASE), "6/8"),
    (re.compile(r"\bfour[- ]on[- ]the[- ]floor\b", re.IGNORECASE), "4/4"),
]
_SHARP_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def normalize_key(tonic: str, accidental: str | None, mode: str | None) -> str:
    """``"f", "#", "m"`` -> ``"F# minor"``; flats kept as written (``"Bb major"``)."""
    acc = (accidental or "").lower().replace("♯", "#").replace("♭", "b")
    acc = "#" if "sharp" in acc or acc == "#" else ("b" if "flat" in acc or acc == "b" else "")
    m = (mode or "major").lower()
    mode_name = "minor" if m in ("minor", "min", "m") else "major"
    return f"{tonic.upper()}{acc} {mode_name}"


def key_pitch_class(key: str) -> tuple[int, str] | None:
    """``"Bb major"`` -> ``(10, "major")``: for comparing spellings (A# = Bb)."""
    m = re.match(r"^([A-G])([#b]?)\s+(major|minor)$", key)
    if not m:
        return None
    pc = _SHARP_NAMES.index(m.group(1)) + {"#": 1, "b": -1, "": 0}[m.group(2)]
    return pc % 12, m.group(3)


def parse_claims(text: str) -> dict[str, Any]:
    """Tempo (``bpm``, with ``bpm_range`` for "120-125 BPM"), ``key`` and ``time_signature``
    stated in ``text``, each with the phrase it came from (``*_text``). Absent claims are
    left out."""
    out: dict[str, Any] = {}
    if not text:
        return out
    m = _BPM.search(text)
    if m:
        lo = float(m.group(1))
        hi = float(m.group(2)) if m.group(2) else None
        if 30 <= lo <= 300:
            out["bpm"] = round((lo + hi) / 2, 2) if hi and hi >= lo else lo
            if hi and hi >= lo:
                out["bpm_range"] = [lo, hi]
            out["bpm_text"] = m.group(0).strip()
    if "bpm" not in out:
        m = _TEMPO_OF.search(text)
        if m and 30 <= float(m.group(1)) <= 300:
            out["bpm"] = float(m.group(1))
            out["bpm_text"] = m.group(0).strip()
    for pattern in (_KEY_FIELD, _KEY_PHRASE, _KEY_BARE):
        m = pattern.search(text)
        if m and (pattern is not _KEY_BARE or _plausible_bare_key(m)):
            mode = m.group(3) if m.lastindex and m.lastindex >= 3 else None
            if pattern is _KEY_FIELD and mode is None:
                mode = "major"
            if mode and mode == "M":
                mode = "major"
            out["key"] = normalize_key(m.group(1), m.group(2), mode)
            out["key_text"] = m.group(0).strip().strip('"')
            break
    m = _METER.search(text)
    if m:
        out["time_signature"] = f"{m.group(1)}/{m.group(2)}"
        out["time_signature_text"] = m.group(0).strip()
    else:
        for pattern, meter in _METER_WORDS:
            m = pattern.search(text)
            if m:
                out["time_signature"] = meter
                out["time_signature_text"] = m.group(0)
                break
    return out


def _plausible_bare_key(m: re.Match[str]) -> bool:
    """A bare key ("F#m", "Bb major", "C minor.") counts; a phrase where "A major" is an
    article and an adjective ("a major label release") does not."""
    tonic, accidental, mode = m.group(1), m.group(2), m.group(3)
    if tonic.islower():
        return False
    if accidental or mode.lower() in ("m", "maj", "min"):
        return True
    rest = m.string[m.end() :].lstrip()
    if not rest or not rest[0].isalpha():
        return True
    next_word = re.match(r"[A-Za-z]+", rest)
    return bool(next_word) and next_word.group(0).lower() in (
        "key",
        "scale",
        "tonality",
        "mode",
        "tonic",
        "throughout",
        "with",
        "and",
    )
