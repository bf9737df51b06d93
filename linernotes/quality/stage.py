"""``signal_quality``: the objective quality detectors as a registered stage.

Reads the shared front end (block powers, stereo cross term, DC, peaks, and the native-rate
long-term spectrum of :class:`~linernotes.dsp.SpectrumAccumulator`) and the ``loudness``
stage's result, so loudness, true peak, crest factor and clipping are computed once, by the
loudness analyzer. Features without a native spectrum leave the bandwidth and noise-floor
detectors ``unknown``, out of the score.

Quality registers this stage itself (importing this module does it; the pipeline imports it),
so the analyzers never import quality.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from linernotes.analyzers.loudness import LoudnessResult
from linernotes.analyzers.registry import FEATURES, analyzer
from linernotes.features import Features
from linernotes.models.quality import ObjectiveQuality
from linernotes.quality.detectors import QualityThresholds
from linernotes.quality.objective import assess
from linernotes.quality.weights import OBJECTIVE_WEIGHTS

#: "+spectrum": measured with the native spectrum (records made before it existed are redone).
VERSION = "2+spectrum"


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
        features.native_spectrum,
        loudness=loudness,
        thresholds=params.thresholds,
        weights=params.weights,
    )
