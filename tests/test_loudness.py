"""Loudness against EBU Tech 3341 reference signals and level statistics with known values."""

from __future__ import annotations

import numpy as np
import pytest
from synth import tone

from linernotes.analyzers.loudness import LoudnessParams, measure_loudness
from linernotes.features import extract_features_from_array


def _measure(y: np.ndarray, sr: int):
    return measure_loudness(extract_features_from_array(y, sr).loudness, LoudnessParams())


@pytest.mark.parametrize("sr", [44100, 48000, 96000])
@pytest.mark.parametrize("level_dbfs", [-23.0, -33.0])
def test_ebu3341_stereo_sine(sr: int, level_dbfs: float) -> None:
    # EBU Tech 3341 cases 1 and 2: 1 kHz stereo sine at -23 / -33 dBFS reads -23 / -33 LUFS
    y = np.stack([tone(1000.0, 20.0, sr, amp=10 ** (level_dbfs / 20))] * 2)
    result = _measure(y, sr)
    assert result.integrated_lufs == pytest.approx(level_dbfs, abs=0.1)
    assert result.loudness_range_lu == pytest.approx(0.0, abs=0.1)


def test_ebu3341_gating_with_quiet_segments() -> None:
    # case 3: -36, -23, -36 dBFS for 10, 60, 10 s reads -23 LUFS (quiet parts are gated out)
    sr = 48000
    parts = [
        tone(1000.0, s, sr, amp=10 ** (db / 20)) for s, db in ((10, -36), (60, -23), (10, -36))
    ]
    y = np.stack([np.concatenate(parts)] * 2)
    assert _measure(y, sr).integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_loudness_range_of_two_levels() -> None:
    # EBU Tech 3342 case 1: 20 s at -20 then 20 s at -30 dBFS gives LRA 10 LU
    sr = 48000
    y = np.concatenate(
        [tone(1000.0, 20, sr, amp=10 ** (-20 / 20)), tone(1000.0, 20, sr, amp=10 ** (-30 / 20))]
    )
    assert _measure(np.stack([y, y]), sr).loudness_range_lu == pytest.approx(10.0, abs=0.2)


def test_mono_and_surround_weighting() -> None:
    sr = 48000
    mono = tone(1000.0, 10.0, sr, amp=10 ** (-23 / 20))
    # one channel of the stereo case: 3 dB quieter
    assert _measure(mono, sr).integrated_lufs == pytest.approx(-26.0, abs=0.1)
    # 5.1: the LFE channel is ignored, surrounds weigh +1.5 dB
    lfe_only = np.zeros((6, mono.shape[0]), np.float32)
    lfe_only[3] = mono
    assert _measure(lfe_only, sr).integrated_lufs is None
    surround = np.zeros((6, mono.shape[0]), np.float32)
    surround[4] = mono
    assert _measure(surround, sr).integrated_lufs == pytest.approx(-26.0 + 1.49, abs=0.1)


def test_true_peak_exceeds_sample_peak_between_samples() -> None:
    # a sine at fs/4 sampled 45 degrees off its peaks: samples at 0.707, true peak 1.0 (+3 dB)
    sr = 44100
    y = tone(sr / 4, 2.0, sr, amp=0.5, phase=np.pi / 4)
    result = _measure(y, sr)
    assert result.sample_peak_dbfs == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.05)
    assert result.true_peak_dbtp == pytest.approx(20 * np.log10(0.5), abs=0.2)


def test_clipping_silence_dc_and_crest() -> None:
    sr = 44100
    # |2 sin| >= 1 for two thirds of each period; runs of a sixth of a 100 Hz period
    clipped = np.clip(tone(100.0, 4.0, sr, amp=2.0), -1.0, 1.0)
    silence = np.zeros(sr * 4, np.float32)
    result = _measure(np.concatenate([clipped, silence]), sr)
    assert result.clipping_ratio == pytest.approx(1 / 3, abs=0.01)
    assert result.longest_clip_run == pytest.approx(sr / 100 / 3, abs=3)
    offset = _measure(np.concatenate([clipped, silence]) * 0.5 + 0.01, sr)
    assert offset.clipping_ratio == 0.0
    assert offset.silence_ratio == pytest.approx(0.0, abs=0.01)  # the DC keeps it above -60 dBFS
    assert offset.dc_offset[0] == pytest.approx(0.01, abs=1e-4)
    quiet = _measure(np.concatenate([tone(440.0, 4.0, sr), silence]), sr)
    assert quiet.silence_ratio == pytest.approx(0.5, abs=0.03)
    assert quiet.crest_factor_db == pytest.approx(3.01 + 3.01, abs=0.1)  # sine crest + half silence


def test_digital_silence_has_no_invented_levels() -> None:
    result = _measure(np.zeros((2, 44100 * 3), np.float32), 44100)
    assert result.integrated_lufs is None
    assert result.true_peak_dbtp is None
    assert result.rms_dbfs is None
    assert result.silence_ratio == 1.0
