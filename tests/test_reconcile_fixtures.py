"""Helpers of the reconcile/edits/export tests: records with hand-built listen sections.

(A module of helpers, not tests; its name keeps it inside the files these tests own.)
"""

from __future__ import annotations

from typing import Any

from linernotes.listen.backends.base import AudioUse
from linernotes.listen.parse import parse_reply
from linernotes.models import AnalysisSection, FileInfo, Provenance, TrackRecord
from linernotes.models.listen import ListenEntry, ListenSection

KINDS = {
    "caption": "text",
    "brief": "text",
    "technical": "text",
    "tags": "tags",
    "genre_mood_inst": "fields",
    "lyrics": "lyrics",
    "quality": "json",
}


def listen_section(answers: dict[str, str], *, content_hash: str = "0" * 64) -> ListenSection:
    """A listen section whose entries are parsed from ``answers`` (prompt id -> raw text)
    exactly as the listen layer parses real replies."""
    entries = {}
    for prompt_id, raw in answers.items():
        kind = KINDS.get(prompt_id, "text")
        parsed = parse_reply(raw, kind, prompt_id)
        entries[prompt_id] = ListenEntry(
            prompt_id=prompt_id,
            prompt_version="1",
            kind=kind,
            backend="openai",
            model_id="nvidia/music-flamingo-2601-hf",
            raw_text=raw,
            parsed=parsed.data,
            parse_error=parsed.error,
            claims=parsed.claims,
            audio=AudioUse(duration_s=20.0, used_s=20.0, max_seconds=1200.0, windows=1),
            elapsed_s=0.1,
        )
    return ListenSection(
        backend="openai",
        model_id="nvidia/music-flamingo-2601-hf",
        content_hash=content_hash,
        entries=entries,
    )


def measured_record(
    *,
    bpm: float | None = 128.0,
    key: str | None = "C major",
    time_signature: str | None = "4/4",
    duration: float = 20.0,
    candidates: list[dict[str, Any]] | None = None,
    confidence: float = 0.9,
    tags: dict[str, str] | None = None,
    path: str = "/music/song.flac",
) -> TrackRecord:
    """A record with the given measured summary and a rhythm section with candidates."""
    record = TrackRecord(
        file=FileInfo(
            path=path,
            content_hash="a" * 64,
            size_bytes=1000,
            duration=duration,
            sample_rate=44100,
            channels=2,
            tags=tags or {},
        )
    )
    s = record.summary
    s.set("bpm", bpm, source=Provenance.MEASURED, confidence=confidence if bpm else 0.0)
    s.set("key", key, source=Provenance.MEASURED, confidence=confidence if key else 0.0)
    s.set("time_signature", time_signature, source=Provenance.MEASURED, confidence=confidence)
    s.set("duration", duration, source=Provenance.MEASURED, confidence=1.0)
    if candidates is None and bpm:
        candidates = [
            {"bpm": bpm, "score": 1.0, "relation": "primary"},
            {"bpm": bpm / 2, "score": 0.6, "relation": "half"},
            {"bpm": bpm * 2, "score": 0.4, "relation": "double"},
        ]
    record.analyses["rhythm"] = AnalysisSection(
        analyzer="rhythm",
        version="1",
        result={"bpm": bpm, "bpm_candidates": candidates or [], "time_signature": time_signature},
    )
    return record
