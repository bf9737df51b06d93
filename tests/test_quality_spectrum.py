"""SpectrumAccumulator on arrays: streaming, scaling, bandwidth and noise floor."""

from __future__ import annotations

import numpy as np
import pytest
from quality_signals import SR, brick_wall, clean_stereo

from linernotes.dsp import SpectrumAccumulator, third_octave_edges
from linernotes.quality.spectrum import analyse_bandwidth, effective_bandwidth_hz, noise_floor


def accumulate(y: np.ndarray, sr: int = SR, chunk: int = SR, **kw) -> object:
    acc = SpectrumAccumulator(sr, np.atleast_2d(y).shape[0], **kw)
    x = np.atleast_2d(y)
    for start in range(0, x.shape[1], chunk):
        acc.push(x[:, start : start + chunk])
    return acc.finish()


def test_chunking_does_not_change_the_result():
    y = clean_stereo(6.0)
    whole = accumulate(y, chunk=y.shape[1])
    odd = accumulate(y, chunk=1237)  # chunks shorter than a frame, misaligned with the stride
    assert whole.n_frames == odd.n_frames > 0
    np.testing.assert_allclose(odd.ltas, whole.ltas, rtol=1e-5)
    np.testing.assert_allclose(odd.band_power, whole.band_power, rtol=1e-5)


def test_stride_subsamples_frames():
    y = np.zeros((1, 4096 * 40), np.float32)
    assert accumulate(y, stride=4).n_frames == 10
    assert accumulate(y, stride=1).n_frames == 40


def test_ltas_sums_to_mean_square_and_sine_lands_in_its_bin():
    t = np.arange(SR * 3) / SR
    y = (0.5 * np.sin(2 * np.pi * 900.0 * t)).astype(np.float32)
    spec = accumulate(y, stride=1)
    assert spec.ltas.sum() == pytest.approx(0.125, rel=0.01)  # 0.5**2 / 2
    assert spec.freqs[np.argmax(spec.ltas)] == pytest.approx(900.0, abs=spec.sr / spec.n_fft)
    band = np.searchsorted(spec.band_edges_hz, 900.0) - 1
    assert spec.band_power[band].mean() == pytest.approx(0.125, rel=0.02)


def test_band_edges_cover_to_nyquist():
    edges = third_octave_edges(44100)
    assert edges[0] == 50.0 and edges[-1] == 22050.0
    assert np.all(np.diff(edges) > 0)


@pytest.mark.parametrize("cutoff", [11025.0, 16000.0, 19000.0])
def test_brick_wall_cut_off_is_found(cutoff):
    rng = np.random.default_rng(3)
    y = brick_wall(rng.standard_normal((2, SR * 4)).astype(np.float32) * 0.1, cutoff)
    est = analyse_bandwidth(accumulate(y).ltas, SR)
    assert est.cut_off
    assert est.hz == pytest.approx(cutoff, abs=300)
    assert est.cliff_db > 40


def test_natural_roll_off_is_not_a_cut_off():
    # pink-ish music-like spectrum falling 6 dB per octave all the way up: no wall
    rng = np.random.default_rng(4)
    n = SR * 4
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    y = np.fft.irfft(spec / np.maximum(f, 20.0), n).astype(np.float32)
    y *= 0.3 / np.abs(y).max()
    ltas = accumulate(y).ltas
    assert effective_bandwidth_hz(ltas, SR) == SR / 2
    assert not analyse_bandwidth(ltas, SR).cut_off


def test_empty_and_silent_spectra():
    assert effective_bandwidth_hz(np.zeros(2049), SR) == SR / 2
    silent = accumulate(np.zeros((2, SR * 2), np.float32))
    assert noise_floor(silent.band_power, silent.band_edges_hz).snr_db is None


def test_noise_floor_tracks_added_white_noise():
    y = clean_stereo(8.0)
    rng = np.random.default_rng(5)
    snrs = []
    for snr in (50.0, 30.0, 15.0):
        noise = rng.standard_normal(y.shape)
        noise *= np.sqrt(np.mean(y**2) / np.mean(noise**2) / 10 ** (snr / 10))
        spec = accumulate((y + noise).astype(np.float32))
        snrs.append(noise_floor(spec.band_power, spec.band_edges_hz).snr_db)
    assert snrs[0] > snrs[1] > snrs[2]
    assert snrs[1] == pytest.approx(30.0, abs=3.0)
    assert snrs[2] == pytest.approx(15.0, abs=3.0)


def test_noise_floor_ignores_bands_above_the_cut_off():
    rng = np.random.default_rng(6)
    y = brick_wall(rng.standard_normal((2, SR * 4)).astype(np.float32) * 0.1, 11000.0)
    spec = accumulate(y)
    # above the wall the band is empty; reading it there would report a huge SNR
    capped = noise_floor(spec.band_power, spec.band_edges_hz, bandwidth_hz=11000.0)
    assert capped.band_hz < 11000.0
    assert capped.snr_db < 10.0
