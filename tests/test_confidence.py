"""Calibrated confidences: each is its fitted model applied to the evidence the analyzer
records beside it, and review flags a measured value below its field's threshold."""

from __future__ import annotations

import numpy as np
from test_reconcile_fixtures import measured_record

from linernotes.analyzers.fitted import fitted_model
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.stage import TEMPO_EVIDENCE, rhythm, tempo_confidence
from linernotes.features import extract_features_from_array
from linernotes.reconcile.core import reconcile
from linernotes.reconcile.review import MEASURED_REVIEW_BELOW

SR = 22050


def test_tempo_confidence_is_the_fitted_model_of_the_recorded_evidence():
    y = np.zeros(SR * 12, np.float32)
    for k in range(24):  # clicks at 120 BPM
        i = int((0.25 + 0.5 * k) * SR)
        y[i : i + 200] = np.hanning(200)
    result = rhythm(extract_features_from_array(y, SR), RhythmParams())
    assert set(result.bpm_evidence) == set(TEMPO_EVIDENCE)
    assert fitted_model("tempo_confidence").features == TEMPO_EVIDENCE
    assert abs(result.bpm_confidence - tempo_confidence(result.bpm_evidence)) < 1e-3
    assert 0.0 <= result.bpm_confidence <= 1.0


def test_measured_fields_are_flagged_below_their_own_threshold():
    for name in ("bpm", "key", "time_signature"):
        below = MEASURED_REVIEW_BELOW[name]
        low_confidence = round(max(below - 0.05, 0.0), 2)  # two decimals, as the reason shows
        low = reconcile(measured_record(confidence=low_confidence))
        high = reconcile(measured_record(confidence=min(below + 0.05, 1.0)))
        assert name in low.review
        assert f"confidence {low_confidence:.2f} is below {below:g}" in (
            low.fields[name].review_reasons)
        assert not any(r.startswith("confidence") for r in high.fields[name].review_reasons)
