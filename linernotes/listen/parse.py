"""Turning a model's reply into fields, without ever losing the reply.

Audio-language models wrap JSON in code fences, add prose after it, use single quotes and
trailing commas, or stop in the middle of an object when they hit the token limit; they also
pad answers with filler ("not provided", "unknown", "N/A") and repeat sentences. The functions
here are tolerant where the model is sloppy and say plainly when they could not make sense of
a reply: :func:`parse_reply` returns the parsed fields or a parse error, and the caller always
keeps the raw text beside them.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, Field

from linernotes.claims import parse_claims
from linernotes.models.quality import MODEL_SCORE_KEYS

QUALITY_TEXT_KEYS = ("genre", "tempo", "key", "instruments", "production_style", "mood")

_FILLER = re.compile(
    r"^\s*(?:n/?a|none|null|nil|unknown|not\s+(?:provided|specified|available|applicable|"
    r"given|known|mentioned|clear|determined|identifiable|detected)|unspecified|undetermined|"
    r"no\s+information|-+|\?+|tbd|\.{3})\s*[.!]?\s*$",
    re.IGNORECASE,
)
_FILLER_PHRASE = re.compile(
    r"[^.;\n]*\b(?:is|are|was|were)\s+(?:not\s+(?:provided|specified|available|mentioned|given)"
    r"|unknown)\b[^.;\n]*[.;]?",
    re.IGNORECASE,
)


class Parsed(BaseModel):
    """A reply's fields (``data``), tempo/key/meter claims, and the parse error if any."""

    data: dict[str, Any] | None = None
    claims: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    notes: list[str] = Field(default_factory=list)


# -- filler and repetition ----------------------------------------------------------------
def is_filler(value: Any) -> bool:
    """True for placeholder answers ("unknown", "N/A", "not provided", empty)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip() or bool(_FILLER.match(value))
    if isinstance(value, (list, dict)):
        return len(value) == 0
    return False


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def _norm(sentence: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", sentence.lower()).strip()


def clean_text(text: str) -> str:
    """Drop repeated sentences and lines, sentences that only say something is unknown or
    not provided, and runs of a repeated phrase (a decoding loop); keep everything else."""
    text = text.replace("\r\n", "\n").strip()
    text = _collapse_loops(text)
    out_lines: list[str] = []
    seen: set[str] = set()
    for line in text.split("\n"):
        if not line.strip():
            if out_lines and out_lines[-1] != "":
                out_lines.append("")
            continue
        kept: list[str] = []
        for sentence in _sentences(line):
            key = _norm(sentence)
            if not key or key in seen:
                continue
            label, colon, value = sentence.partition(":")
            if (
                is_filler(sentence)
                or _FILLER_PHRASE.fullmatch(sentence.strip())
                or (colon and len(label) <= 40 and is_filler(value))
            ):
                continue
            seen.add(key)
            kept.append(sentence.strip())
        if kept:
            out_lines.append(" ".join(kept))
    return "\n".join(out_lines).strip()


_LOOP = re.compile(r"(.{3,120}?)\1{2,}", re.DOTALL)


def _collapse_loops(text: str) -> str:
    """Replace a stretch of 3 to 120 characters repeated 3+ times in a row (a decoding loop,
    "the song is upbeat. the song is upbeat. ...") by one occurrence."""
    previous = None
    while previous != text:
        previous = text
        text = _LOOP.sub(r"\1", text)
    return text


def clean_value(value: Any) -> Any:
    """Recursively drop filler values from parsed JSON (None when nothing is left)."""
    if isinstance(value, dict):
        out = {k: clean_value(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, list):
        items = [clean_value(v) for v in value]
        items = [v for v in items if v is not None]
        return items or None
    if isinstance(value, str):
        value = value.strip()
        return None if is_filler(value) else value
    return value


# -- JSON extraction ----------------------------------------------------------------------
_FENCE = re.compile(r"```(?:json|JSON|js|javascript)?\s*\n?(.*?)(?:```|$)", re.DOTALL)


def extract_json(text: str) -> tuple[Any, list[str]]:
    """The first JSON object (or array) in ``text``, repaired if needed.

    Handles code fences, prose before and after, single quotes, trailing commas, Python
    literals (True/None), unquoted keys, comments and truncation (open strings, objects and
    arrays are closed; a dangling key is dropped). Returns ``(value, notes)`` where ``notes``
    lists the repairs made.

    Raises
    ------
    ValueError
        No JSON object could be recovered.
    """
    candidates: list[str] = []
    for match in _FENCE.finditer(text):
        block = match.group(1).strip()
        if block:
            candidates.append(block)
    candidates.append(text)
    last_error = "no JSON object in the reply"
    for candidate in candidates:
        start = _first_open(candidate)
        if start < 0:
            continue
        span, complete = _balanced_span(candidate, start)
        try:
            return json.loads(span), []
        except json.JSONDecodeError:
            pass
        notes = [] if complete else ["truncated JSON was closed"]
        repaired = _repair(span, notes)
        try:
            return json.loads(repaired), notes
        except json.JSONDecodeError as exc:
            last_error = f"unparseable JSON ({exc.msg} at char {exc.pos})"
    raise ValueError(last_error)


def _first_open(text: str) -> int:
    positions = [p for p in (text.find("{"), text.find("[")) if p >= 0]
    return min(positions) if positions else -1


def _balanced_span(text: str, start: int) -> tuple[str, bool]:
    """From ``start`` to the matching close bracket (or to the end: not complete)."""
    depth = 0
    quote: str | None = None
    escape = False
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == quote and _closes_string(text, i):
                quote = None
            continue
        if ch in "\"'" and _opens_string(text, i):
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return text[start : i + 1], True
    return text[start:], False


def _opens_string(text: str, i: int) -> bool:
    """A single quote opens a string only where a JSON value or key may start (so that an
    apostrophe in "don't" inside a double-quoted string is never one)."""
    if text[i] == '"':
        return True
    j = i - 1
    while j >= 0 and text[j] in " \t\r\n":
        j -= 1
    return j < 0 or text[j] in "{[,:"


def _closes_string(text: str, i: int) -> bool:
    """A quote closes its string unless it is an apostrophe inside a single-quoted one
    ('don't know'): then what follows it is not a delimiter."""
    if text[i] == '"':
        return True
    j = i + 1
    while j < len(text) and text[j] in " \t\r\n":
        j += 1
    return j >= len(text) or text[j] in ",}]:"


def _repair(span: str, notes: list[str]) -> str:
    """Rewrite near-JSON as JSON, closing whatever a truncation left open."""
    out: list[str] = []
    stack: list[str] = []
    quote: str | None = None
    escape = False
    i = 0
    n = len(span)
    while i < n:
        ch = span[i]
        if quote:
            if escape:
                escape = False
                out.append(ch)
            elif ch == "\\":
                if quote == "'" and span.startswith("'", i + 1):
                    out.append("'")  # \' is not a JSON escape
                    i += 2
                    continue
                escape = True
                out.append(ch)
            elif ch == quote and _closes_string(span, i):
                quote = None
                out.append('"')
            elif ch == '"':
                out.append('\\"')  # a double quote inside a single-quoted string
            elif ch == "\n":
                out.append("\\n")
            else:
                out.append(ch)
            i += 1
            continue
        if ch in "\"'" and _opens_string(span, i):
            if ch == "'" and "single quotes" not in notes:
                notes.append("single quotes")
            quote = ch
            out.append('"')
        elif ch == "/" and span.startswith("//", i):
            end = span.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
            out.append(ch)
        elif ch in "}]":
            _drop_trailing_comma(out, notes)
            if stack:
                stack.pop()
            out.append(ch)
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (span[j].isalnum() or span[j] in "_-"):
                j += 1
            word = span[i:j]
            k = j
            while k < n and span[k] in " \t":
                k += 1
            if k < n and span[k] == ":" and stack and stack[-1] == "}":
                out.append(json.dumps(word))  # an unquoted key
                if "unquoted keys" not in notes:
                    notes.append("unquoted keys")
            else:
                out.append(
                    {"True": "true", "False": "false", "None": "null", "NaN": "null"}.get(
                        word, word
                    )
                )
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    if quote:
        out.append('"')
    text = "".join(out).rstrip()
    if stack:
        text = _drop_dangling(text)
        text = text.rstrip().rstrip(",")
        text += "".join(reversed(stack))
    return re.sub(r",\s*([}\]])", r"\1", text)


def _drop_trailing_comma(out: list[str], notes: list[str]) -> None:
    j = len(out) - 1
    while j >= 0 and out[j] in (" ", "\n", "\t", "\r"):
        j -= 1
    if j >= 0 and out[j] == ",":
        del out[j]
        if "trailing commas" not in notes:
            notes.append("trailing commas")


def _drop_dangling(text: str) -> str:
    """Remove a key with no value (``"mood":`` or ``"mood"``) left at a truncation."""
    text = re.sub(r',?\s*"[^"]*"\s*:\s*$', "", text)
    text = re.sub(r'([{,])\s*"[^"]*"\s*$', r"\1", text)
    text = re.sub(r",\s*-?\d*\.?$", "", text) if re.search(r":\s*-?\d*\.$", text) else text
    return text


# -- kinds of answer ------------------------------------------------------------------------
def parse_quality(obj: Any, notes: list[str]) -> dict[str, Any]:
    """The quality object: the five scores as floats in [0, 1] (percentages and 1-10 scales
    rescaled, with a note) and the descriptive strings. Weighing the scores into one is
    :mod:`linernotes.quality`'s job (:func:`~linernotes.quality.model_score.model_quality`)."""
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object with the quality scores")
    lowered = {str(k).strip().lower().replace(" ", "_"): v for k, v in obj.items()}
    out: dict[str, Any] = {}
    for key in QUALITY_TEXT_KEYS:
        value = lowered.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        value = clean_value(value) if value is not None else None
        if value is not None:
            out[key] = str(value)
    scores: dict[str, float] = {}
    for key in MODEL_SCORE_KEYS:
        raw = lowered.get(key)
        score = _score(raw, key, notes)
        if score is not None:
            scores[key] = score
    missing = [k for k in MODEL_SCORE_KEYS if k not in scores]
    if missing:
        notes.append("missing scores: " + ", ".join(missing))
    out.update(scores)
    if not scores:
        raise ValueError("no quality scores in the reply")
    return out


def _score(raw: Any, key: str, notes: list[str]) -> float | None:
    if isinstance(raw, str):
        m = re.search(r"-?\d+(?:\.\d+)?", raw)
        raw = float(m.group()) * (0.01 if "%" in raw else 1.0) if m else None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    value = float(raw)
    if 1.0 < value <= 10.0:
        notes.append(f"{key} read on a 0-10 scale")
        value /= 10.0
    elif 10.0 < value <= 100.0:
        notes.append(f"{key} read as a percentage")
        value /= 100.0
    if not 0.0 <= value <= 1.0:
        notes.append(f"{key} out of range ({raw}) dropped")
        return None
    return round(value, 4)


_SECTION = re.compile(r"^\s*\[([^\]\n]{1,40})\]\s*$")


def parse_lyrics(text: str) -> dict[str, Any]:
    """Lyrics with section tags: ``{"instrumental": bool, "sections": [{tag, lines}],
    "lyrics": normalised text}``. Exactly ``[Instrumental]`` marks a track without vocals."""
    body = text.strip().strip("`").strip()
    if re.fullmatch(r"\[?\s*instrumental\s*\]?\.?", body, re.IGNORECASE):
        return {"instrumental": True, "sections": [], "lyrics": "[Instrumental]"}
    sections: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for line in body.splitlines():
        m = _SECTION.match(line)
        if m:
            current = {"tag": m.group(1).strip(), "lines": []}
            sections.append(current)
        elif line.strip():
            if current is None:
                current = {"tag": None, "lines": []}
                sections.append(current)
            current["lines"].append(line.strip())
    sections = [s for s in sections if s["lines"] or s["tag"]]
    if not any(s["tag"] for s in sections):
        raise ValueError("no section tags ([Verse 1], [Chorus], ...) and not [Instrumental]")
    parts = []
    for s in sections:
        head = [f"[{s['tag']}]"] if s["tag"] else []
        parts.append("\n".join(head + s["lines"]))
    return {"instrumental": False, "sections": sections, "lyrics": "\n\n".join(parts)}


def parse_fields(text: str) -> dict[str, Any]:
    """``Label: value`` lines (``Genre: ...``, ``Mood: ...``) as lists of comma-separated
    values keyed by the lower-case label."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*[-*]?\s*\**([A-Za-z][A-Za-z _/]{1,30}?)\**\s*:\s*(.+)$", line)
        if not m:
            continue
        key = m.group(1).strip().lower().replace(" ", "_")
        values = [v.strip(" .*") for v in re.split(r",|;|\band\b", m.group(2))]
        values = [v for v in values if v and not is_filler(v)]
        if values:
            out[key] = values
    if not out:
        raise ValueError("no 'Label: value' lines in the reply")
    return out


def parse_tags(text: str) -> dict[str, Any]:
    """Comma- or line-separated tags, lower-cased and de-duplicated in order."""
    raw = re.split(r",|\n|;|#", text)
    tags: list[str] = []
    for item in raw:
        tag = re.sub(r"^\s*(?:[-*]|\d+[.)])\s*", "", item).strip(" .\"'`").lower()
        if tag and not is_filler(tag) and len(tag) <= 40 and tag not in tags:
            tags.append(tag)
    if not tags:
        raise ValueError("no tags in the reply")
    return {"tags": tags}


def parse_reply(text: str, kind: str, prompt_id: str = "") -> Parsed:
    """Parse a reply of the given kind; never raises. The claims (tempo, key, meter the
    model states) are read from the whole reply whatever its kind."""
    notes: list[str] = []
    claims = parse_claims(text)
    try:
        if kind == "json":
            obj, notes = extract_json(text)
            if prompt_id == "quality" or (isinstance(obj, dict) and "production_quality" in obj):
                data = parse_quality(obj, notes)
            else:
                data = clean_value(obj) if isinstance(obj, dict) else {"items": clean_value(obj)}
                data = data or {}
        elif kind == "lyrics":
            data = parse_lyrics(text)
        elif kind == "fields":
            data = parse_fields(text)
        elif kind == "tags":
            data = parse_tags(text)
        else:
            cleaned = clean_text(text)
            if not cleaned:
                raise ValueError("empty reply")
            data = {"text": cleaned}
    except ValueError as exc:
        return Parsed(data=None, claims=claims, error=str(exc), notes=notes)
    return Parsed(data=data, claims=claims, notes=notes)
