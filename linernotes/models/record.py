"""The track record: one typed, versioned document per track, at the centre of linernotes.

A record opens with a :class:`Summary` (what a user reads first), then the facts about the file
(:class:`FileInfo`), then one :class:`AnalysisSection` per analyzer, each stamped with the
analyzer's name, version and parameters, then what the audio-language model said
(:class:`~linernotes.models.listen.ListenSection`, provenance ``model``), then the final
reconciled fields (:class:`~linernotes.models.final.FinalFields`: measured, model and
human values merged, conflicts recorded, human edits on top), then the track's stems
(:class:`~linernotes.models.stems.StemInfo`) when it has any. Summary values
that a later stage may replace (a model caption, a human correction) carry their provenance
and confidence beside them, so the record always says where a number came from. Later stages
add sections without reshaping these.

Examples
--------
>>> rec = TrackRecord(file=FileInfo(path="a.wav", content_hash="0" * 64, size_bytes=10))
>>> rec.summary.set("bpm", 120.0, source=Provenance.MEASURED, confidence=0.9)
>>> rec.summary.bpm, rec.summary.provenance["bpm"]
(120.0, <Provenance.MEASURED: 'measured'>)
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from linernotes.models.decode import DecodeReport
from linernotes.models.final import FinalFields
from linernotes.models.listen import ListenSection
from linernotes.models.provenance import Provenance
from linernotes.models.quality import QualitySection
from linernotes.models.stems import StemInfo

#: Bumped whenever the serialised shape changes incompatibly.
SCHEMA_VERSION = 1


class Summary(BaseModel):
    """The final values a user reads first. Later stages keep these names.

    ``provenance`` and ``confidence`` are keyed by field name; a field that makes no sense for
    the track (the tempo of silence) is ``None`` rather than invented.
    """

    model_config = ConfigDict(validate_assignment=True)

    bpm: float | None = None
    """Tempo in beats per minute."""
    key: str | None = None
    """Tonic and mode, spelled ``"F# minor"``."""
    time_signature: str | None = None
    """``"4/4"``, ``"6/8"``..."""
    duration: float | None = None
    """Seconds of audio that decoded."""
    loudness_lufs: float | None = None
    """Integrated loudness (BS.1770-4), LUFS."""
    beats: list[float] = Field(default_factory=list)
    downbeats: list[float] = Field(default_factory=list)
    """Beat and downbeat times in seconds."""
    provenance: dict[str, Provenance] = Field(default_factory=dict)
    confidence: dict[str, float] = Field(default_factory=dict)

    def set(
        self, name: str, value: Any, *, source: Provenance, confidence: float | None = None
    ) -> None:
        """Set a summary field and record where it came from."""
        if name not in type(self).model_fields or name in ("provenance", "confidence"):
            raise KeyError(f"unknown summary field {name!r}")
        setattr(self, name, value)
        self.provenance[name] = source
        if confidence is not None:
            self.confidence[name] = round(float(confidence), 4)
        else:
            self.confidence.pop(name, None)


class FileInfo(BaseModel):
    """Facts about the audio file, read from the container and its tags."""

    path: str
    """Where the file was when it was analysed."""
    content_hash: str
    """SHA-256 of the bytes: the track's identity wherever it lives."""
    size_bytes: int
    format: str | None = None
    """The container, as the file's extension names it (``mp3``, ``m4a``...)."""
    codec: str | None = None
    duration: float | None = None
    """Seconds, as the container declares them (``decode`` says what decoded)."""
    sample_rate: int | None = None
    channels: int | None = None
    bit_rate: int | None = None
    """Bits per second, where the container says."""
    tags: dict[str, str] = Field(default_factory=dict)
    """Embedded artist, title, album, year..."""
    decode: DecodeReport = Field(default_factory=DecodeReport)
    fingerprint: str | None = None
    """Acoustic fingerprint of the first 120 s, ``tool:base64`` (Chromaprint's when ``fpcalc``
    is installed): finds the same recording in other files (:mod:`linernotes.audio.fingerprint`)."""


class AnalysisSection(BaseModel):
    """One analyzer's output, stamped so that its cache key and meaning are explicit."""

    analyzer: str
    version: str
    params: dict[str, Any] = Field(default_factory=dict)
    provenance: Provenance = Provenance.MEASURED
    result: dict[str, Any] = Field(default_factory=dict)


class TrackRecord(BaseModel):
    """Everything linernotes knows about one track."""

    schema_version: int = SCHEMA_VERSION
    summary: Summary = Field(default_factory=Summary)
    file: FileInfo
    analyses: dict[str, AnalysisSection] = Field(default_factory=dict)
    listen: ListenSection | None = None
    final: FinalFields | None = None
    quality: QualitySection | None = None
    stems: list[StemInfo] = Field(default_factory=list)
    created_at: str = Field(default_factory=lambda: _now())
    tool: dict[str, str] = Field(default_factory=dict)
    frontend: dict[str, Any] = Field(default_factory=dict)

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> TrackRecord:
        return cls.model_validate_json(text)

    @classmethod
    def load(cls, path: str | Path) -> TrackRecord:
        return cls.from_json(Path(path).read_bytes())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
