"""A track's stems as the record holds them, and the names that make a file a stem.

Stems are found beside their mix by :mod:`linernotes.library.scan` and measured by
:mod:`linernotes.pipeline.stems`; the figures are defined there.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from linernotes.models.provenance import Provenance

#: Stem types recognised, in the order stems are listed in a record.
STEM_TYPES: tuple[str, ...] = ("drums", "bass", "vocals", "other", "piano", "guitar")
#: File names (without extension) of the mix in the folder layout.
MIX_NAMES: tuple[str, ...] = ("full_mix", "mixture", "mix")


class StemFeatures(BaseModel):
    """Measured figures of one stem (see :mod:`linernotes.pipeline.stems` for their definitions).

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
