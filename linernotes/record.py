"""The track record: one typed, versioned document per track, at the centre of linernotes.

A record opens with a :class:`Summary` (what a user reads first), then the facts about the file
(:class:`FileInfo`), then one :class:`AnalysisSection` per analyzer, each stamped with the
analyzer's name, version and parameters, then what the audio-language model said
(:class:`~linernotes.listen.section.ListenSection`, provenance ``model``), then the final
reconciled fields (:class:`~linernotes.reconcile.model.FinalFields`: measured, model and
human values merged, conflicts recorded, human edits on top), then the track's stems
(:class:`StemInfo`, from :mod:`linernotes.stems`) when it has any. Summary values
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
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from linernotes.audio.report import DecodeReport
from linernotes.listen.section import ListenSection
from linernotes.quality.section import QualitySection
from linernotes.reconcile.model import FinalFields

#: Bumped whenever the serialised shape changes incompatibly.
SCHEMA_VERSION = 1


class Provenance(str, Enum):
    """Where a value came from. Human values are never overwritten by automatic runs.
    ``separated``: a stem a separation model made from the mix (not one the user provided)."""

    MEASURED = "measured"
    MODEL = "model"
    HUMAN = "human"
    SEPARATED = "separated"


class Summary(BaseModel):
    """The final values a user reads first. Later stages keep these names.

    ``provenance`` and ``confidence`` are keyed by field name; a field that makes no sense for
    the track (the tempo of silence) is ``None`` rather than invented.
    """

    model_config = ConfigDict(validate_assignment=True)

    bpm: float | None = None
    key: str | None = None
    time_signature: str | None = None
    duration: float | None = None
    loudness_lufs: float | None = None
    beats: list[float] = Field(default_factory=list)
    downbeats: list[float] = Field(default_factory=list)
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
    content_hash: str
    size_bytes: int
    format: str | None = None
    codec: str | None = None
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_rate: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    decode: DecodeReport = Field(default_factory=DecodeReport)


class AnalysisSection(BaseModel):
    """One analyzer's output, stamped so that its cache key and meaning are explicit."""

    analyzer: str
    version: str
    params: dict[str, Any] = Field(default_factory=dict)
    provenance: Provenance = Provenance.MEASURED
    result: dict[str, Any] = Field(default_factory=dict)


class StemFeatures(BaseModel):
    """Measured figures of one stem (see :mod:`linernotes.stems` for their definitions).

    Levels are ``None`` where they make no sense (the loudness of silence); ``rhythm_complexity``
    is ``None`` when the stem has too few onsets to judge. ``activity`` is the share of each
    ``activity_window_s`` window in which the stem sounds (within ``activity_range_db`` of its
    own loud level): for a vocals stem, singing or speech over time.
    """

    duration: float
    integrated_lufs: float | None = None
    rms_dbfs: float | None = None
    peak_dbfs: float | None = None
    true_peak_dbtp: float | None = None
    onset_count: int = 0
    onset_density: float = 0.0
    rhythm_complexity: float | None = None
    spectral_centroid_hz: float | None = None
    active_ratio: float = 0.0
    activity_window_s: float = 1.0
    activity: list[float] = Field(default_factory=list)


class StemInfo(BaseModel):
    """One stem of a track (drums, bass, vocals...): where it is, what it is and what was
    measured, stamped with the stem analysis' version and parameters like an analyzer section.

    ``relpath`` is relative to the folder of the track's mix, so a moved dataset still finds
    its stems. ``error`` is set, and the track itself still succeeds, when the stem is silent
    or cannot be read. ``provenance`` is ``separated`` for a stem a model split from the mix
    (``model`` and ``model_version``, the weights' signature, say which), ``measured`` for
    one the user provided. ``presence`` is the probability that the part really plays in the
    track rather than being separation bleed, from the stem's loudness against the mix's
    (for the vocals stem: that the track has vocals).
    """

    stem_type: str
    path: str
    relpath: str
    sha256: str | None = None
    analyzer: str = "stem_features"
    version: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    provenance: Provenance = Provenance.MEASURED
    model: str | None = None
    model_version: str | None = None
    features: StemFeatures | None = None
    presence: float | None = None
    error: str | None = None


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
