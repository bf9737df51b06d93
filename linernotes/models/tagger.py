"""What the CPU listener says about a track (``record.listen.tagger``), provenance ``tagger``.

Tags come with their probabilities, per track and per 3 s segment; vocal presence over time
gives ``is_instrumental`` with a confidence; lyrics (faster-whisper) only where vocals were
heard; and a caption written from the tags and the measurements, never by a language model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

#: Bumped when the tagger's output or its thresholds change (cached results are redone).
TAGGER_VERSION = "1"


class TagScore(BaseModel):
    """One tag and the tagger's probability for it (0..1)."""

    tag: str
    probability: float


class TaggerSegment(BaseModel):
    """One 3 s patch: its tags per category above the report floor, and its vocal probability
    (``vocal_stem_active``: whether the vocal stem sounds there, when there is one)."""

    start_s: float
    end_s: float
    vocal_probability: float
    vocal_stem_active: bool | None = None
    tags: dict[str, list[TagScore]] = Field(default_factory=dict)


class VocalActivity(BaseModel):
    """Whether the track has a voice, how sure that is, and where the voice is."""

    is_instrumental: bool
    confidence: float
    vocal_probability: float = Field(description="The track's vocal probability (0..1).")
    vocal_ratio: float = Field(description="Share of segments with a voice.")
    spans: list[tuple[float, float]] = Field(default_factory=list, description="Voiced spans.")
    sources: list[str] = Field(default_factory=list, description="tagger, vocal stem")


class LyricLine(BaseModel):
    """One transcribed line with its time span."""

    start_s: float
    end_s: float
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None


class LyricsResult(BaseModel):
    """faster-whisper's transcription of the voiced parts, or why there is none."""

    model: str
    language: str | None = None
    language_probability: float | None = None
    text: str = ""
    lines: list[LyricLine] = Field(default_factory=list)
    skipped: str | None = Field(None, description="Why nothing was transcribed, if so.")
    elapsed_s: float = 0.0


class TaggerCaption(BaseModel):
    """A caption built from tags and measurements, with the words it was built from."""

    text: str
    confidence: float
    parts: dict[str, Any] = Field(default_factory=dict)


class TaggerSection(BaseModel):
    """The CPU listener's whole answer about one track."""

    version: str = TAGGER_VERSION
    provenance: str = "tagger"
    models: dict[str, dict[str, str]] = Field(default_factory=dict)
    tags: dict[str, list[TagScore]] = Field(
        default_factory=dict, description="category -> the tags chosen for the track"
    )
    scores: dict[str, float] = Field(
        default_factory=dict, description="every tag's track probability"
    )
    segments: list[TaggerSegment] = Field(default_factory=list)
    vocals: VocalActivity
    lyrics: LyricsResult | None = None
    caption: TaggerCaption
    audio_s: float
    elapsed_s: float
    cached: bool = False

    def words(self, category: str) -> list[str]:
        """The chosen tags of a category, most probable first."""
        return [t.tag for t in self.tags.get(category, [])]
