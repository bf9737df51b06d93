"""Timbre stage: spectral-shape statistics over non-silent frames."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from linernotes.analyzers.timbre import (
    TimbreParams,
    TimbreResult,
    active_frames,
    round_sig,
    timbre,
)
from linernotes.features import FeatureParams, extract_features_from_array

SR = 22050
PARAMS = TimbreParams()


def dark(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 110.0 * t)).astype(np.float32)


def bright(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A 220 Hz sawtooth-like tone with all harmonics up to Nyquist plus white noise."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * 220.0 * h * t) / h for h in range(1, 50))
    y = y + 0.3 * np.random.default_rng(seed).standard_normal(t.shape)
    return (0.2 * y / np.max(np.abs(y))).astype(np.float32)


def analyse(y: np.ndarray) -> TimbreResult:
    return timbre(extract_features_from_array(y, SR), PARAMS)


def all_numbers(result: TimbreResult) -> list[float]:
    out: list[float] = []
    for value in result.model_dump().values():
        if isinstance(value, list):
            out.extend(value)
        elif isinstance(value, (int, float)):
            out.append(float(value))
    return out


def test_bright_signal_has_higher_centroid_rolloff_and_zcr_than_dark() -> None:
    b, d = analyse(bright()), analyse(dark())
    assert b.centroid_mean_hz is not None and d.centroid_mean_hz is not None
    assert b.centroid_mean_hz > 5 * d.centroid_mean_hz
    assert d.centroid_mean_hz == pytest.approx(110.0, rel=0.25)
    assert b.rolloff_mean_hz > d.rolloff_mean_hz
    assert b.zcr_mean > d.zcr_mean
    assert b.flatness_mean > d.flatness_mean  # the noise part flattens the spectrum
    assert b.bandwidth_mean_hz > d.bandwidth_mean_hz


def test_noise_is_flat_and_a_tone_has_contrast() -> None:
    rng = np.random.default_rng(1)
    noise = analyse((0.2 * rng.standard_normal(3 * SR)).astype(np.float32))
    sine = analyse(dark())
    assert noise.flatness_mean > 0.3 > sine.flatness_mean
    # the lowest contrast band (below 200 Hz) holds the 110 Hz tone: a sharp peak over valleys
    assert sine.contrast_mean_db[0] > noise.contrast_mean_db[0] + 20


def test_shapes_and_finite_values() -> None:
    result = analyse(bright())
    assert len(result.contrast_mean_db) == len(result.contrast_std_db) == 7
    assert len(result.mfcc_mean) == len(result.mfcc_var) == FeatureParams().n_mfcc
    assert all(math.isfinite(v) for v in all_numbers(result))
    assert all(v >= 0 for v in result.mfcc_var)
    assert result.centroid_std_hz is not None and result.centroid_std_hz >= 0
    assert result.active_fraction == pytest.approx(1.0, abs=0.02)


def test_stationary_signal_has_small_spread() -> None:
    result = analyse(dark())
    assert result.centroid_std_hz < 0.1 * result.centroid_mean_hz


def test_silent_frames_are_excluded_from_statistics() -> None:
    tone = dark(2.0)
    with_gap = np.concatenate([tone, np.zeros(2 * SR, np.float32)])
    alone, gapped = analyse(tone), analyse(with_gap)
    assert gapped.active_fraction == pytest.approx(0.5, abs=0.05)
    assert gapped.n_frames == pytest.approx(alone.n_frames, abs=8)
    assert gapped.centroid_mean_hz == pytest.approx(alone.centroid_mean_hz, rel=0.05)
    assert gapped.mfcc_mean[0] == pytest.approx(alone.mfcc_mean[0], rel=0.05)


def test_silence_yields_none_and_no_nan() -> None:
    result = analyse(np.zeros(3 * SR, np.float32))
    assert result.n_frames == 0
    assert result.active_fraction == 0.0
    assert result.centroid_mean_hz is None and result.zcr_std is None
    assert result.mfcc_mean == [] and result.contrast_mean_db == []
    text = result.model_dump_json()
    assert "NaN" not in text
    json.loads(text)


def test_empty_one_frame_and_corrupt_features_do_not_raise() -> None:
    feats = extract_features_from_array(np.zeros(10, np.float32), SR)
    assert timbre(feats, PARAMS).n_frames == 0
    one = extract_features_from_array(bright(0.01), SR)
    result = timbre(one, PARAMS)
    assert result.n_frames >= 1 and result.centroid_std_hz == 0.0
    empty = dataclasses.replace(
        feats,
        rms=np.zeros(0, np.float32),
        mel_db=np.zeros((64, 0), np.float32),
        spectral={k: v[..., :0] for k, v in feats.spectral.items()},
    )
    assert timbre(empty, PARAMS) == TimbreResult()
    loud = extract_features_from_array(bright(1.0), SR)
    spectral = dict(loud.spectral)
    spectral["centroid"] = spectral["centroid"].copy()
    spectral["centroid"][::3] = np.nan
    spectral["mfcc"] = spectral["mfcc"].copy()
    spectral["mfcc"][:, 5] = np.inf
    del spectral["zcr"]
    broken = timbre(dataclasses.replace(loud, spectral=spectral), PARAMS)
    assert broken.centroid_mean_hz is not None and math.isfinite(broken.centroid_mean_hz)
    assert broken.zcr_mean is None
    assert all(math.isfinite(v) for v in all_numbers(broken))
    assert "NaN" not in broken.model_dump_json()


def test_active_frames_floors() -> None:
    rms = np.array([0.0, 1e-4, 0.1, 0.2, 1e-3, np.nan])
    mask = active_frames(rms, silence_floor_dbfs=-60.0, relative_floor_db=30.0)
    assert mask.tolist() == [False, False, True, True, False, False]
    assert active_frames(np.zeros(0)).shape == (0,)


def test_round_sig() -> None:
    assert round_sig(1234.5678, 3) == 1230.0
    assert round_sig(0.000123456, 3) == 0.000123
    assert round_sig(float("nan")) == 0.0
    assert round_sig(0.0) == 0.0


def test_stage_registration_and_summary() -> None:
    assert timbre.stage.name == "timbre" and timbre.stage.version == "1"
    assert timbre.stage.summarize(analyse(dark(1.0))) == {}


def test_three_minutes_of_random_frames_is_handled() -> None:
    fp = FeatureParams()
    n = int(180 * fp.frame_rate)
    rng = np.random.default_rng(3)
    base = extract_features_from_array(np.zeros(100, np.float32), SR)
    spectral = {
        k: rng.random((*v.shape[:-1], n)).astype(np.float32) for k, v in base.spectral.items()
    }
    feats = dataclasses.replace(base, rms=rng.random(n).astype(np.float32) * 0.3, spectral=spectral)
    result = timbre(feats, PARAMS)  # speed is measured in bench/speed
    assert result.n_frames > 0.9 * n
