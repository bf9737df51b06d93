"""Filterbanks and per-frame spectral descriptors: pure functions over arrays.

Mel (Slaney, as librosa's default) and log-frequency pitch filterbanks, and the per-frame
centroid, bandwidth, roll-off, flatness, zero-crossing rate, contrast and MFCCs the front end
(:mod:`linernotes.features`) computes once for every analyzer.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.sparse

#: The Slaney mel scale: Hz per mel below 1 kHz, where the log part starts, and its step.
_HZ_PER_MEL = 200.0 / 3
_LOG_HZ = 1000.0
_LOG_MEL = _LOG_HZ / _HZ_PER_MEL
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(freq: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (as librosa's default)."""
    f = np.asarray(freq, dtype=np.float64)
    log_part = _LOG_MEL + np.log(np.maximum(f, 1e-10) / _LOG_HZ) / _LOG_STEP
    return np.where(f >= _LOG_HZ, log_part, f / _HZ_PER_MEL)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    return np.where(m >= _LOG_MEL, _LOG_HZ * np.exp(_LOG_STEP * (m - _LOG_MEL)), _HZ_PER_MEL * m)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Area-normalised triangular mel filters, shape (n_mels, n_fft // 2 + 1), float32."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_pts = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(min(fmax, sr / 2)), n_mels + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:] - mel_pts[:-2]))[:, None]
    return weights.astype(np.float32)


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def pitch_filterbank(
    sr: int, n_fft: int, bin_midi: np.ndarray, bins_per_semitone: int
) -> scipy.sparse.csr_matrix:
    """Sparse map from STFT magnitude bins to log-frequency pitch bins.

    Each pitch bin is a triangle centred on its frequency, half as wide as the spacing of the
    pitch bins, but never narrower than one STFT bin so that low pitches still receive energy.
    """
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    df = fft_freqs[1]
    centres = midi_to_hz(bin_midi)
    widths = np.maximum(centres * (2.0 ** (1.0 / (12 * bins_per_semitone)) - 1.0), df)
    rows, cols, vals = [], [], []
    for j, (fc, w) in enumerate(zip(centres, widths, strict=True)):
        lo = int(np.floor((fc - w) / df))
        hi = int(np.ceil((fc + w) / df))
        k = np.arange(max(lo, 0), min(hi, len(fft_freqs) - 1) + 1)
        wt = np.maximum(0.0, 1.0 - np.abs(fft_freqs[k] - fc) / w)
        keep = wt > 0
        rows.extend([j] * int(keep.sum()))
        cols.extend(k[keep].tolist())
        vals.extend(wt[keep].tolist())
    return scipy.sparse.csr_matrix(
        (np.asarray(vals, np.float32), (rows, cols)), shape=(len(centres), len(fft_freqs))
    )


def spectral_frame_features(
    frames: np.ndarray, spec: np.ndarray, mel_db: np.ndarray, params
) -> dict[str, np.ndarray]:
    """Per-frame timbre descriptors from time frames (n, n_fft) and magnitudes (n, bins)."""
    sr, n_fft = params.sr, params.n_fft
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr).astype(np.float32)
    total = spec.sum(axis=1) + 1e-10
    centroid = spec @ freqs / total
    spread = spec @ (freqs**2) / total - centroid**2
    bandwidth = np.sqrt(np.maximum(spread, 0.0))
    cumulative = np.cumsum(spec, axis=1)
    rolloff_idx = np.argmax(cumulative >= 0.85 * cumulative[:, -1:], axis=1)
    rolloff = freqs[rolloff_idx]
    power = spec * spec + np.float32(1e-10)
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    signs = np.signbit(frames)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)
    contrast = spectral_contrast(spec, freqs)
    mfcc = scipy.fft.dct(mel_db, type=2, norm="ortho", axis=0)[: params.n_mfcc]
    return {
        "centroid": centroid.astype(np.float32),
        "bandwidth": bandwidth.astype(np.float32),
        "rolloff": rolloff.astype(np.float32),
        "flatness": flatness.astype(np.float32),
        "zcr": zcr.astype(np.float32),
        "contrast": contrast.astype(np.float32),
        "mfcc": mfcc.astype(np.float32),
    }


def spectral_contrast(
    spec: np.ndarray, freqs: np.ndarray, fmin: float = 200.0, n_bands: int = 6,
    quantile: float = 0.02,
) -> np.ndarray:  # fmt: skip
    """Octave-band peak/valley contrast in dB, shape (n_bands + 1, n_frames)."""
    edges = np.zeros(n_bands + 2)
    edges[1:] = fmin * 2.0 ** np.arange(n_bands + 1)
    out = np.zeros((n_bands + 1, spec.shape[0]))
    for band in range(n_bands + 1):
        lo, hi = edges[band], edges[band + 1]
        sel = (freqs >= lo) & (freqs <= hi) if band < n_bands else freqs >= lo
        width = int(sel.sum())
        if width == 0:
            continue
        k = max(1, round(quantile * width))
        sub = np.sort(spec[:, sel], axis=1)
        valley = sub[:, :k].mean(axis=1)
        peak = sub[:, -k:].mean(axis=1)
        out[band] = 10.0 * (np.log10(peak**2 + 1e-10) - np.log10(valley**2 + 1e-10))
    return out
