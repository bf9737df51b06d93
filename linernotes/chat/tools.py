"""The tools a chat model (or an MCP client) calls: their JSON schemas and what they do.

``measurements``, ``ask_audio``, ``compare``, ``search_library`` and ``propose_edit`` all
answer compact JSON. A failing tool answers ``{"error": "..."}`` instead of raising, so the
model can read what went wrong and try something else. ``propose_edit`` writes nothing: it
checks the value and parks the edit until the person confirms it
(:meth:`ChatTools.confirm`); only then does it reach the human layer, with its author.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from linernotes.chat import facts
from linernotes.chat.budget import MAX_AUDIO_S, audio_spans
from linernotes.chat.library_access import EditProposal, LibraryAccess
from linernotes.errors import LinernotesError
from linernotes.library.shared import LibraryTrack
from linernotes.reconcile.normalize import canonical_key

#: Longest tool result handed back to the model, in characters (about 2,000 tokens).
MAX_RESULT_CHARS = 6000
_TRACK = {"type": "string", "description": "track path, or its file name as listed"}
_SECONDS = {"type": "number", "minimum": 0}

TOOL_SPECS: list[dict[str, Any]] = [
    {
        "name": "measurements",
        "description": "Measured facts of a track (the source of truth for tempo, key, meter,"
        " duration): tempo with its steady stretches, beat grid, key, meter, loudness,"
        " quality, stems, final tags. With start and end, also the tempo of that range read"
        " from the beats (is it steady, where does it change).",
        "parameters": {
            "type": "object",
            "properties": {"track": _TRACK, "start": _SECONDS, "end": _SECONDS},
            "required": ["track"],
        },
    },
    {
        "name": "ask_audio",
        "description": "Ask the audio-language model (Music Flamingo / Audio Flamingo 3) a"
        " question about a span of a track: what it sounds like, sections, instruments,"
        " vocals, lyrics. Weak on exact tempo and key: use measurements for those. Spans"
        " over 20 minutes are cut into segments, each answered separately.",
        "parameters": {
            "type": "object",
            "properties": {
                "track": _TRACK,
                "question": {"type": "string"},
                "start": {**_SECONDS, "description": "seconds (default 0)"},
                "end": {**_SECONDS, "description": "seconds (default: the end of the track)"},
            },
            "required": ["track", "question"],
        },
    },
    {
        "name": "compare",
        "description": "Two tracks' measurements side by side, with how tempo, key and"
        " loudness relate (bpm ratio, relative/parallel keys, level difference).",
        "parameters": {
            "type": "object",
            "properties": {"track_a": _TRACK, "track_b": _TRACK},
            "required": ["track_a", "track_b"],
        },
    },
    {
        "name": "search_library",
        "description": "Find analysed tracks of the library by tags (genres, moods,"
        " instruments), bpm range, key, time signature, quality or text.",
        "parameters": {
            "type": "object",
            "properties": {
                "tags": {"type": "array", "items": {"type": "string"}},
                "bpm_min": {"type": "number"},
                "bpm_max": {"type": "number"},
                "key": {"type": "string", "description": "e.g. 'A minor', 'F#', or 'minor'"},
                "time_signature": {"type": "string"},
                "min_quality": {"type": "number", "minimum": 0, "maximum": 1},
                "text": {"type": "string", "description": "words in the caption, title or path"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
        },
    },
    {
        "name": "propose_edit",
        "description": "Propose a correction of a track's field (bpm, key, time_signature,"
        " caption, genres, moods, instruments, ...). Nothing changes until the user"
        " confirms it; tell the user what you proposed.",
        "parameters": {
            "type": "object",
            "properties": {
                "track": _TRACK,
                "field": {"type": "string"},
                "value": {"description": "the new value (string, number, list or boolean)"},
            },
            "required": ["track", "field", "value"],
        },
    },
]
TOOL_NAMES = tuple(spec["name"] for spec in TOOL_SPECS)


def openai_tools() -> list[dict[str, Any]]:
    """The tool definitions in the chat-completions ``tools`` format."""
    return [{"type": "function", "function": spec} for spec in TOOL_SPECS]


def compact_json(value: Any) -> str:
    """JSON without spaces, cut to :data:`MAX_RESULT_CHARS` (a cut one says so)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return json.dumps(
        {"truncated": True, "partial": text[: MAX_RESULT_CHARS - 200]}, ensure_ascii=False
    )


class ToolError(LinernotesError):
    """A tool could not answer (bad arguments, unknown track, failing backend)."""


@dataclass
class ToolOutcome:
    """A tool's answer: the JSON-ready result, whether it worked, and cuts to show."""

    name: str
    result: dict[str, Any]
    ok: bool = True
    notices: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return compact_json(self.result)

    def summary(self, limit: int = 160) -> str:
        """One line for a person reading the transcript."""
        r = self.result
        if not self.ok:
            line = f"error: {r.get('error')}"
        elif self.name == "measurements":
            key, meter = r["key"].get("key"), r["meter"].get("time_signature")
            bpm = r["tempo"].get("bpm")
            line = ", ".join(
                x
                for x in (f"{bpm:g} BPM" if bpm else "", key, meter, f"{r['duration_s']:g} s")
                if x
            )
            if r["tempo"].get("change"):
                line += f"; tempo {r['tempo']['change']}"
            if "tempo_in_range" in r:
                w = r["tempo_in_range"]
                span = f"{facts.clock(w['start_s'])}-{facts.clock(w['end_s'])}"
                line += f"; {span}: {w['verdict']}"
        elif self.name == "ask_audio":
            parts = r.get("segments") or [r]
            line = " | ".join(json.dumps(p["answer"], ensure_ascii=False) for p in parts)
        elif self.name == "search_library":
            names = ", ".join(t["track"] for t in r["tracks"])
            line = f"{r['found']} of {r['searched']} tracks" + (f": {names}" if names else "")
        elif self.name == "propose_edit":
            line = f"proposal #{r['proposal']}, waiting for confirmation"
        else:
            line = compact_json(r)
        return line if len(line) <= limit else line[: limit - 3] + "..."


def _number(args: dict[str, Any], name: str) -> float | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ToolError(f"{name} must be a number of seconds, not {value!r}") from None


class ChatTools:
    """The tools, bound to one library; parks proposed edits until they are confirmed."""

    def __init__(
        self,
        library: LibraryAccess,
        *,
        audio_max_new_tokens: int = 512,
        max_audio_s: float = MAX_AUDIO_S,
    ) -> None:
        self.library = library
        self.audio_max_new_tokens = audio_max_new_tokens
        self.max_audio_s = max_audio_s
        self.pending: dict[int, EditProposal] = {}
        self._next_proposal = 1

    def call(self, name: str, arguments: str | dict[str, Any] | None) -> ToolOutcome:
        """Run tool ``name``; every failure comes back as an ``{"error"}`` outcome."""
        try:
            args = json.loads(arguments or "{}") if isinstance(arguments, str) else arguments
        except json.JSONDecodeError as exc:
            return ToolOutcome(name, {"error": f"arguments are not valid JSON: {exc}"}, ok=False)
        if not isinstance(args, dict):
            return ToolOutcome(name, {"error": "arguments must be a JSON object"}, ok=False)
        method = getattr(self, f"_tool_{name}", None) if name in TOOL_NAMES else None
        if method is None:
            known = ", ".join(TOOL_NAMES)
            return ToolOutcome(name, {"error": f"unknown tool {name!r}; tools: {known}"}, ok=False)
        notices: list[str] = []
        try:
            result = method(args, notices)
        except KeyError as exc:
            result, ok = {"error": f"missing argument {exc.args[0]!r}"}, False
        except (LinernotesError, LookupError, ValueError) as exc:
            result, ok = {"error": str(exc)}, False
        except Exception as exc:  # a tool must never end the conversation
            result, ok = {"error": f"{type(exc).__name__}: {exc}"}, False
        else:
            ok = True
        return ToolOutcome(name, result, ok, notices)

    # -- the tools ------------------------------------------------------------------------
    def _tool_measurements(self, args: dict[str, Any], notices: list[str]) -> dict[str, Any]:
        track = self.library.record(args["track"])
        out = facts.measurements(track)
        start, end = _number(args, "start"), _number(args, "end")
        if start is not None or end is not None:
            duration = out["duration_s"] or (track.record.summary.beats or [0.0])[-1]
            lo, hi = start or 0.0, end if end is not None else duration
            if hi <= lo:
                raise ToolError(f"end ({hi:g} s) must come after start ({lo:g} s)")
            out["tempo_in_range"] = facts.track_tempo_between(track, lo, hi)
        return out

    def _tool_ask_audio(self, args: dict[str, Any], notices: list[str]) -> dict[str, Any]:
        question = str(args["question"]).strip()
        if not question:
            raise ToolError("the question is empty")
        track = self.library.record(args["track"])
        duration = self.library.duration_s(args["track"])
        start = _number(args, "start") or 0.0
        end = _number(args, "end")
        end = duration if end is None or (duration and end > duration) else end
        if end <= start:
            raise ToolError(f"end ({end:g} s) must come after start ({start:g} s)")
        cap = min(self.library.audio_cap_s, self.max_audio_s)
        spans = audio_spans(start, end, cap)
        out: dict[str, Any] = {"track": track.id, "start_s": start, "end_s": round(end, 2)}
        if len(spans) > 1:
            cut = (
                f"audio {facts.clock(start)}-{facts.clock(end)} is longer than the model's"
                f" {cap / 60:g} minutes: cut into {len(spans)} segments, each answered alone"
            )
            notices.append(cut)
            out["cut"] = cut
        prompt = self._audio_prompt(track, question)
        answers = []
        for a, b in spans:
            answer = self.library.ask_audio(
                args["track"], prompt, a, b, max_new_tokens=self.audio_max_new_tokens
            )
            answers.append({"start_s": a, "end_s": b, "answer": answer.text})
            out["model"] = answer.model
        if len(answers) == 1:
            out["answer"] = answers[0]["answer"]
        else:
            out["segments"] = answers
        return out

    def _audio_prompt(self, track: LibraryTrack, question: str) -> str:
        """The question, with the measured facts the audio model should not contradict."""
        return f"{audio_context(track)}\n{question}".strip()

    def _tool_compare(self, args: dict[str, Any], notices: list[str]) -> dict[str, Any]:
        a = self.library.record(args["track_a"])
        b = self.library.record(args["track_b"])
        return facts.compare(a, b)

    def _tool_search_library(self, args: dict[str, Any], notices: list[str]) -> dict[str, Any]:
        limit = int(args.get("limit") or 10)
        tracks = self.library.tracks()
        hits = [t for t in tracks if matches(t, args)]
        return {
            "searched": len(tracks),
            "found": len(hits),
            "tracks": [facts.search_summary(t) for t in hits[:limit]],
        }

    def _tool_propose_edit(self, args: dict[str, Any], notices: list[str]) -> dict[str, Any]:
        proposal = self.library.propose_edit(args["track"], str(args["field"]), args["value"])
        number = self._next_proposal
        self._next_proposal += 1
        self.pending[number] = proposal
        text = (
            f"proposed edit #{number}: {proposal.track}: {proposal.field} ="
            f" {json.dumps(proposal.value, ensure_ascii=False)} (now"
            f" {json.dumps(proposal.current, ensure_ascii=False)}); /confirm {number} applies it,"
            f" /reject {number} drops it"
        )
        notices.append(text)
        return {
            "proposal": number,
            "track": proposal.track,
            "field": proposal.field,
            "value": proposal.value,
            "current": proposal.current,
            "status": "waiting for the user's confirmation; nothing is changed yet",
        }

    # -- confirmation ---------------------------------------------------------------------
    def confirm(self, number: int, *, author: str) -> dict[str, Any]:
        """Apply a proposed edit to the human layer.

        Raises
        ------
        KeyError
            No pending proposal with that number.
        """
        proposal = self.pending.pop(number)
        return self.library.apply_edit(proposal, author=author)

    def reject(self, number: int) -> EditProposal:
        """Drop a proposed edit (``KeyError`` when there is none with that number)."""
        return self.pending.pop(number)


def audio_context(track: LibraryTrack) -> str:
    """One sentence of measured facts for the audio model's prompt."""
    m = facts.measurements(track)
    parts = []
    tempo = m["tempo"]
    if tempo.get("bpm"):
        segments = tempo.get("segments") or []
        if len(segments) > 1:
            steps = ", ".join(f"{s[2]:.0f} BPM from {facts.clock(s[0])}" for s in segments)
            parts.append(f"tempo {steps}")
        else:
            parts.append(f"tempo {tempo['bpm']:.0f} BPM")
    if m["key"].get("key"):
        parts.append(f"key {m['key']['key']}")
    if m["meter"].get("time_signature"):
        parts.append(f"time signature {m['meter']['time_signature']}")
    if m.get("duration_s"):
        parts.append(f"duration {facts.clock(m['duration_s'])}")
    if m["loudness"].get("integrated_lufs") is not None:
        parts.append(f"loudness {m['loudness']['integrated_lufs']:.1f} LUFS")
    if not parts:
        return ""
    return "Signal analysis measured (trust these numbers): " + ", ".join(parts) + "."


def matches(track: LibraryTrack, filters: dict[str, Any]) -> bool:
    """Whether a track passes every filter of ``search_library``."""
    final = track.final
    bpm = final.value("bpm")
    if filters.get("bpm_min") is not None and (bpm is None or bpm < float(filters["bpm_min"])):
        return False
    if filters.get("bpm_max") is not None and (bpm is None or bpm > float(filters["bpm_max"])):
        return False
    wanted_key = str(filters.get("key") or "").strip()
    if wanted_key and not _key_matches(final.value("key"), wanted_key):
        return False
    meter = str(filters.get("time_signature") or "").strip()
    if meter and final.value("time_signature") != meter:
        return False
    if filters.get("min_quality") is not None:
        quality = track.record.quality.combined_score if track.record.quality else None
        if quality is None or quality < float(filters["min_quality"]):
            return False
    tags = [str(t).lower().strip() for t in filters.get("tags") or [] if str(t).strip()]
    have = {str(t).lower() for n in ("genres", "moods", "instruments") for t in final.value(n, [])}
    if tags and not all(any(t in h for h in have) for t in tags):
        return False
    text = str(filters.get("text") or "").lower().strip()
    if text:
        haystack = (
            " ".join(str(final.value(n, "")) for n in ("caption", "title", "artist")).lower()
            + " "
            + track.id.lower()
        )
        if text not in haystack:
            return False
    return True


def _key_matches(key: str | None, wanted: str) -> bool:
    if not key:
        return False
    if wanted.lower() in ("major", "minor"):
        return key.lower().endswith(wanted.lower())
    if re.fullmatch(r"[A-Ga-g][#b]?", wanted):  # a bare tonic: either mode
        return key.split()[0].lower() == wanted.lower()
    return key == canonical_key(wanted)
