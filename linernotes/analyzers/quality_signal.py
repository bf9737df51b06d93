"""``signal_quality``: the objective quality detectors as a registered stage.

Reads the shared front end (block powers, stereo cross term, DC, peaks) and the ``loudness``
stage's result (so loudness, true peak, crest factor and clipping are computed once, by the
loudness analyzer), plus ``features.native_spectrum`` - the native-rate long-term spectrum of
:class:`~linernotes.quality.spectrum.SpectrumAccumulator` - when the front end collects it.
Without it the bandwidth and noise-floor detectors say ``unknown`` and drop out of the score.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from linernotes.analyzers.loudness import LoudnessResult
from linernotes.analyzers.registry import FEATURES, analyzer
from linernotes.features import Features
from linernotes.models.quality import ObjectiveQuality
from linernotes.quality.detectors import QualityThresholds
from linernotes.quality.objective import OBJECTIVE_WEIGHTS, assess

#: The front end's native spectrum changes what this stage can measure, so it is part of the
#: version (and therefore of the cache key): records made before it existed are redone.
_HAS_NATIVE_SPECTRUM = "native_spectrum" in getattr(Features, "__dataclass_fields__", {})
VERSION = "1" + ("+spectrum" if _HAS_NATIVE_SPECTRUM else "")


class SignalQualityParams(BaseModel, frozen=True):
    """Detector limits and the objective score's weights."""

    thresholds: QualityThresholds = QualityThresholds()
    weights: dict[str, float] = Field(default_factory=lambda: dict(OBJECTIVE_WEIGHTS))


@analyzer(
    "signal_quality",
    version=VERSION,
    params=SignalQualityParams(),
    inputs=(FEATURES, "loudness"),
)
def analyze_signal_quality(
    features: Features, loudness: LoudnessResult, params: SignalQualityParams
) -> ObjectiveQuality:
    """Objective quality: clipping, peaks, loudness, bandwidth, silence, DC, stereo, noise."""
    return assess(
        features.loudness,
        getattr(features, "native_spectrum", None),
        loudness=loudness,
        thresholds=params.thresholds,
        weights=params.weights,
    )
