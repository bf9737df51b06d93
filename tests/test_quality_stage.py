"""The ``signal_quality`` stage: registration, inputs, the native spectrum hook, and the
loudness-only fallback for records made without the stage."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from quality_signals import SR, brick_wall, clean_stereo, to_16bit

from linernotes.analyzers.loudness import LoudnessParams, analyze_loudness
from linernotes.analyzers.registry import get_stage
from linernotes.dsp import SpectrumAccumulator
from linernotes.features import extract_features_from_array
from linernotes.quality.build import objective_from_loudness, objective_from_record
from linernotes.quality.stage import analyze_signal_quality


def test_stage_is_registered_after_loudness():
    stage = get_stage("signal_quality")
    assert stage.inputs == ("features", "loudness")
    assert stage.version.startswith("2")  # 2: lossy-robust clipping
    assert stage.params_dict["thresholds"]["clip_run_fail"] == 8


def _features(y):
    feats = extract_features_from_array(y, SR)
    return feats, analyze_loudness(feats, LoudnessParams())


def test_without_native_spectrum_bandwidth_and_noise_are_unknown():
    feats, loud = _features(clean_stereo(5.0))
    if hasattr(feats, "native_spectrum"):
        feats.native_spectrum = None
    q = analyze_signal_quality(feats, loud, get_stage("signal_quality").params)
    assert q.detections["bandwidth"].status == "unknown"
    assert q.detections["noise_floor"].status == "unknown"
    assert q.detections["clipping"].status == "pass"
    assert "bandwidth" not in q.failed() and q.score is not None


def test_with_a_native_spectrum_the_cut_off_is_seen():
    y = to_16bit(brick_wall(clean_stereo(5.0), 11000.0))
    feats, loud = _features(y)
    acc = SpectrumAccumulator(SR, 2)
    acc.push(y)
    feats.native_spectrum = acc.finish()  # what the features.py hook provides
    q = analyze_signal_quality(feats, loud, get_stage("signal_quality").params)
    assert q.detections["bandwidth"].status == "fail"
    assert q.detections["clipping"].value == loud.clipping_ratio  # reused, not recomputed


def test_loudness_only_fallback():
    y = np.clip(clean_stereo(5.0) * 10.0, -1, 1)
    _, loud = _features(y)
    q = objective_from_loudness(loud)
    assert q.detections["clipping"].status == "fail"
    assert q.detections["stereo"].status == "unknown"

    section = SimpleNamespace(result=loud.model_dump(mode="json"))
    record = SimpleNamespace(analyses={"loudness": section})
    assert objective_from_record(record).detections["clipping"].status == "fail"
    assert objective_from_record(SimpleNamespace(analyses={})) is None
