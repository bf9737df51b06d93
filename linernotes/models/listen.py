"""The record section the listen layer produces: one entry per prompt, raw text always kept.

Every entry says what produced it (prompt id and version, model id and revision, backend,
generation parameters, whether the measured tempo/key/meter were given as context), what came
back (the raw text, the cleaned and parsed fields beside it, or the parse error), the tempo /
key / meter the model claimed, and how much of the track the model heard.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

from linernotes.models.tagger import TaggerSection

LongAudioPolicy = Literal["truncate", "window"]

#: Bumped when the section's shape or the parsing changes (parsed fields may differ).
LISTEN_VERSION = "2"


class AudioUse(BaseModel):
    """How much of the track the model heard, and how."""

    duration_s: float
    used_s: float
    truncated: bool = False
    policy: LongAudioPolicy = "truncate"
    max_seconds: float
    windows: int = Field(description="30 s model windows in all segments")
    segments: list[tuple[float, float]] = Field(default_factory=list)


class SegmentText(BaseModel):
    """The answer for one segment of a windowed track."""

    start_s: float
    end_s: float
    text: str


class ListenEntry(BaseModel):
    """One prompt's answer about one track."""

    prompt_id: str
    prompt_version: str
    kind: str = "text"
    backend: str
    model_id: str
    revision: str | None = None
    variant: str | None = None
    generation: dict[str, Any] = Field(default_factory=dict)
    context_given: bool = False
    context: dict[str, Any] | None = None
    prompt_digest: str = ""
    raw_text: str
    parsed: dict[str, Any] | None = None
    parse_error: str | None = None
    parse_notes: list[str] = Field(default_factory=list)
    claims: dict[str, Any] = Field(default_factory=dict)
    parts: list[SegmentText] = Field(default_factory=list)
    audio: AudioUse
    elapsed_s: float
    cached: bool = False
    created_at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    info: dict[str, Any] = Field(default_factory=dict)


class ListenSection(BaseModel):
    """All prompts' answers about one track (``record.listen`` in the track record)."""

    version: str = LISTEN_VERSION
    provenance: str = "model"
    backend: str
    model_id: str
    revision: str | None = None
    content_hash: str
    entries: dict[str, ListenEntry] = Field(default_factory=dict)
    #: The CPU listener's tags, vocals, lyrics and caption (provenance ``tagger``), if it ran.
    tagger: TaggerSection | None = None

    def text(self, prompt_id: str) -> str | None:
        """The cleaned text of a prompt's answer (falls back to the raw text)."""
        entry = self.entries.get(prompt_id)
        if entry is None:
            return None
        if entry.parsed and isinstance(entry.parsed.get("text"), str):
            return entry.parsed["text"]
        return entry.raw_text
