"""Timbre statistics order bright above dark and never produce NaN."""

from __future__ import annotations

import json

import numpy as np
from synth import tone

from linernotes.analyzers.timbre import TimbreParams, timbre
from linernotes.features import extract_features_from_array

SR = 22050


def _timbre(y: np.ndarray):
    return timbre(extract_features_from_array(y, SR), TimbreParams())


def test_bright_noise_is_brighter_and_flatter_than_a_low_sine() -> None:
    rng = np.random.default_rng(0)
    dark = _timbre(tone(110.0, 4.0, SR))
    bright = _timbre(0.2 * rng.standard_normal(4 * SR).astype(np.float32))
    assert bright.spectral_centroid_hz > 10 * dark.spectral_centroid_hz
    assert bright.spectral_rolloff_hz > dark.spectral_rolloff_hz
    assert bright.spectral_flatness > 0.3 > dark.spectral_flatness
    assert bright.zero_crossing_rate > dark.zero_crossing_rate
    assert len(bright.mfcc_mean) == 13 and len(bright.spectral_contrast_db) == 7
    # in the band holding the tone (0-200 Hz) a pure tone has far more peak-to-valley contrast
    assert dark.spectral_contrast_db[0] > bright.spectral_contrast_db[0] + 20


def test_silent_frames_are_left_out() -> None:
    y = np.concatenate([tone(1000.0, 2.0, SR), np.zeros(6 * SR, np.float32)])
    result = _timbre(y)
    assert result.frames_used < 0.35 * (1 + len(y) // 256)
    assert abs(result.spectral_centroid_hz - 1000.0) < 150.0


def test_silence_and_empty_input_give_no_nan() -> None:
    for y in (np.zeros(3 * SR, np.float32), np.zeros(0, np.float32)):
        result = _timbre(y)
        assert result.frames_used == 0
        assert result.spectral_centroid_hz is None
        json.dumps(result.model_dump())  # serialisable, no NaN
