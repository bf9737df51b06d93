"""Each objective detector on a synthesised clean signal and on a degraded copy."""

from __future__ import annotations

import numpy as np
import pytest
from quality_signals import SR, add_noise, brick_wall, clean_stereo, to_16bit

from linernotes.models.quality import Detection
from linernotes.quality import detectors as d
from linernotes.quality.detection import worst
from linernotes.quality.objective import assess_array, objective_score
from linernotes.quality.weights import OBJECTIVE_WEIGHTS

T = d.QualityThresholds()


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return to_16bit(clean_stereo())


@pytest.fixture(scope="module")
def clean_q(clean):
    return assess_array(clean, SR)


def test_clean_signal_passes_the_fault_detectors(clean_q):
    for name in (
        "clipping",
        "true_peak",
        "bandwidth",
        "silence",
        "dc_offset",
        "stereo",
        "noise_floor",
        "loudness",
        "crest_factor",
    ):
        assert clean_q.detections[name].status == "pass", clean_q.detections[name].reason
    assert clean_q.score is not None and clean_q.score >= 0.95


def test_hard_clipping_fails_with_ratio_and_run(clean):
    clipped = np.clip(clean * 10.0, -1.0, 1.0)  # +20 dB into the rails
    det = assess_array(clipped, SR).detections["clipping"]
    assert det.status == "fail"
    assert det.value > T.clip_ratio_fail
    assert det.details["longest_run"] >= T.clip_run_fail
    assert "clipped" in det.reason
    # +12 dB clips only the click peaks here: flagged, not yet failed
    assert assess_array(np.clip(clean * 4.0, -1.0, 1.0), SR).detections["clipping"].status == "warn"


def test_clipping_detector_thresholds_directly():
    assert d.detect_clipping(0, 1_000_000, 0, T).status == "pass"
    assert d.detect_clipping(50, 1_000_000, 2, T).status == "warn"  # ratio 5e-5
    assert d.detect_clipping(3, 1_000_000, 9, T).status == "fail"  # one long run is enough
    assert d.detect_clipping(0, 0, 0, T).status == "unknown"


def test_true_peak_over_full_scale(clean):
    hot = clean * (1.2 / np.abs(clean).max())  # float signal over full scale, not clipped
    det = assess_array(hot, SR).detections["true_peak"]
    assert det.status == "fail" and det.value > 1.0
    assert d.detect_true_peak(0.5, T).status == "warn"
    assert d.detect_true_peak(-1.0, T).status == "pass"


def test_loudness_and_range_limits():
    assert d.detect_loudness(-14.0, T).status == "pass"
    assert d.detect_loudness(-30.0, T).status == "warn"
    assert d.detect_loudness(-40.0, T).status == "fail"
    assert d.detect_loudness(-3.0, T).status == "fail"
    assert d.detect_loudness(None, T).status == "fail"  # nothing above the gate
    assert d.detect_loudness_range(0.3, T).status == "warn"
    assert d.detect_loudness_range(8.0, T).status == "pass"
    assert d.detect_loudness_range(None, T).status == "unknown"
    short = d.detect_loudness_range(0.3, T, duration_s=20.0)  # a clip, not a programme
    assert short.status == "unknown" and short.value == 0.3
    assert d.detect_loudness_range(0.3, T, duration_s=200.0).status == "warn"


def test_quiet_signal_fails_loudness(clean):
    det = assess_array(clean * 10 ** (-40 / 20), SR).detections["loudness"]
    assert det.status == "fail" and det.value < T.lufs_quiet_fail


def test_crest_factor_of_squashed_signal(clean):
    squashed = np.tanh(clean * 40.0) * 0.9  # saturated almost to a square wave
    det = assess_array(squashed, SR).detections["crest_factor"]
    assert det.status == "fail" and det.value < T.crest_fail_db


@pytest.mark.parametrize(("cutoff", "status"), [(11000.0, "fail"), (16000.0, "warn")])
def test_band_limited_copy_is_flagged(clean, cutoff, status):
    det = assess_array(to_16bit(brick_wall(clean, cutoff)), SR).detections["bandwidth"]
    assert det.status == status
    assert abs(det.value - cutoff) < 600
    assert det.details["cliff_db"] >= 18


def test_low_sample_rate_limits_bandwidth():
    sr = 22050
    y = clean_stereo(6.0, sr)
    det = assess_array(y, sr).detections["bandwidth"]
    assert det.status == "fail" and det.value == sr / 2
    assert "sample rate" in det.reason


def test_bandwidth_unknown_without_spectrum():
    det = d.detect_bandwidth(None, T)
    assert det.status == "unknown" and det.value is None


def test_edge_silence(clean):
    pad = np.zeros((2, 6 * SR), np.float32)
    padded = np.concatenate([pad, clean, pad[:, :SR]], axis=1)
    det = assess_array(padded, SR).detections["silence"]
    assert det.status == "fail"
    assert det.details["leading_s"] == pytest.approx(6.0, abs=0.15)
    assert det.details["trailing_s"] == pytest.approx(1.0, abs=0.15)


def test_edge_silence_helper():
    silent = np.array([True] * 3 + [False] * 5 + [True] * 2)
    assert d.edge_silence_s(silent, 0.1) == pytest.approx((0.3, 0.2))
    assert d.edge_silence_s(np.ones(4, bool), 0.1) == pytest.approx((0.4, 0.4))


def test_all_silent_signal_fails_silence():
    det = assess_array(np.zeros((2, SR * 3), np.float32), SR).detections["silence"]
    assert det.status == "fail" and det.value == 1.0


def test_dc_offset(clean):
    det = assess_array(clean * 0.9 + 0.03, SR).detections["dc_offset"]
    assert det.status == "fail" and det.value == pytest.approx(0.03, abs=0.002)


def test_polarity_inverted_channel(clean):
    inverted = clean.copy()
    inverted[1] *= -1
    det = assess_array(inverted, SR).detections["stereo"]
    assert det.status == "fail"
    assert det.value < -0.5  # the 11-sample delay decorrelates the clicks' top octave
    assert det.details["mono_fold_db"] < T.fold_loss_warn_db


def test_uncorrelated_stereo_is_not_a_phase_problem():
    rng = np.random.default_rng(1)
    y = (rng.standard_normal((2, SR * 4)) * 0.1).astype(np.float32)
    det = assess_array(y, SR).detections["stereo"]
    assert det.status == "pass"
    assert abs(det.value) < 0.05
    assert det.details["mono_fold_db"] == pytest.approx(-3.0, abs=0.2)


def test_mono_has_no_stereo_verdict(clean):
    assert assess_array(clean[0], SR).detections["stereo"].status == "unknown"


@pytest.mark.parametrize(("snr", "status"), [(20.0, "fail"), (31.0, "warn"), (50.0, "pass")])
def test_white_noise_raises_the_floor(clean, snr, status):
    det = assess_array(to_16bit(add_noise(clean, snr)), SR).detections["noise_floor"]
    assert det.status == status
    assert det.value == pytest.approx(snr, abs=3.0)


def test_objective_score_skips_unknown_and_weights():
    dets = {
        "clipping": Detection(value=0, status="fail", reason="x"),
        "stereo": Detection(value=None, status="unknown", reason="mono"),
        "silence": Detection(value=0, status="pass", reason="x"),
    }
    # (0.20 * 0 + 0.10 * 1) / 0.30
    assert objective_score(dets) == pytest.approx(1 / 3, abs=1e-4)
    assert objective_score({"x": Detection(value=None, status="unknown", reason="")}) is None
    assert sum(OBJECTIVE_WEIGHTS.values()) == pytest.approx(1.0)


def test_degraded_scores_below_clean(clean, clean_q):
    clipped = assess_array(np.clip(clean * 10.0, -1, 1), SR)
    assert clipped.score < clean_q.score
    assert "clipping" in clipped.failed()


def test_worst():
    assert worst("pass", "warn") == "warn"
    assert worst("unknown", "fail", "pass") == "fail"
    assert worst("unknown") == "unknown"
