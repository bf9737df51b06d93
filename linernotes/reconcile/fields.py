"""The final fields by name, and a value for one of them as a person types it.

Values are checked and spelled canonically when an edit is made (``bpm=128``,
``key=Am`` -> ``A minor``, ``genres=rock, indie``), so a typo is refused at the prompt rather
than exported to a trainer; other tools' names for the fields (``keyscale``, ``BPM``) are
understood.
"""

from __future__ import annotations

from typing import Any

from linernotes.models.final import FINAL_FIELDS
from linernotes.reconcile.normalize import (
    canonical_key,
    canonical_time_signature,
    clean_tags,
    language_code,
)

EDITABLE_FIELDS = FINAL_FIELDS
#: Other trainers' and tools' names for the editable fields (``keyscale``, ``BPM``...).
FIELD_ALIASES = {
    "keyscale": "key", "key_scale": "key", "genre": "genres", "mood": "moods",
    "instrument": "instruments", "timesignature": "time_signature", "signature": "time_signature",
    "meter": "time_signature", "language": "vocal_language", "instrumental": "is_instrumental",
    "description": "caption", "tempo": "bpm",
}  # fmt: skip
_TRUE = {"true", "yes", "1", "y", "instrumental"}
_FALSE = {"false", "no", "0", "n", "vocal", "vocals"}


def canonical_field(name: str) -> str:
    """``"BPM"`` -> ``"bpm"``, ``"keyscale"`` -> ``"key"``; unknown names pass through."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return FIELD_ALIASES.get(key, key)


def parse_value(field: str, raw: Any) -> Any:
    """``raw`` (a string from the command line, or a typed value) as ``field``'s canonical
    value; ``""``/``null``/``none`` clear it to ``None``.

    Raises
    ------
    ValueError
        Unknown field, or a value that is not valid for it.
    """
    if field not in EDITABLE_FIELDS:
        raise ValueError(f"unknown field {field!r} (editable: {', '.join(EDITABLE_FIELDS)})")
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "null", "none")):
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    if field in ("bpm", "duration"):
        try:
            float(text)
        except (TypeError, ValueError):
            raise ValueError(f"{field} {text!r} is not a number") from None
    if field == "bpm":
        bpm = float(text)
        if not 20.0 <= bpm <= 400.0:
            raise ValueError(f"bpm {bpm:g} is outside 20..400")
        return round(bpm, 3)
    if field == "duration":
        seconds = float(text)
        if seconds <= 0:
            raise ValueError("duration must be positive")
        return round(seconds, 3)
    if field == "key":
        key = canonical_key(str(text))
        if key is None:
            raise ValueError(f"{text!r} is not a key (e.g. 'F# minor', 'Bb major', 'Am')")
        return key
    if field == "time_signature":
        sig = canonical_time_signature(text)
        if sig is None:
            raise ValueError(f"{text!r} is not a time signature (e.g. '4/4', '6/8', '3')")
        return sig
    if field == "vocal_language":
        if str(text).lower() == "unknown":
            return "unknown"
        code = language_code(str(text))
        if code is None:
            raise ValueError(f"{text!r} is not a supported language (ISO code or English name)")
        return code
    if field == "is_instrumental":
        if isinstance(text, bool):
            return text
        word = str(text).lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError(f"{text!r} is not true/false")
    if field in ("genres", "moods", "instruments"):
        return clean_tags(text, limit=50)
    return str(text)
