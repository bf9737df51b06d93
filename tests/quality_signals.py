"""Synthesised clean and degraded signals for the quality tests (no files, no soundfonts)."""

from __future__ import annotations

import numpy as np
import scipy.signal
from synth import click_track, progression

SR = 44100


def clean_stereo(seconds: float = 10.0, sr: int = SR, peak: float = 0.5) -> np.ndarray:
    """Clicks (broadband, up to Nyquist) over a chord progression, stereo with the right channel
    slightly delayed and quieter, peak-normalised to ``peak``; shape (2, n)."""
    clicks, _ = click_track(120.0, seconds, sr, beats_per_bar=4)
    harmony = progression(9, "minor", 2.0, sr, repeats=3)[: clicks.shape[0]]
    harmony = np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    mono = clicks + harmony
    right = 0.9 * np.roll(mono, 11)
    y = np.stack([mono, right]).astype(np.float64)
    return (y * (peak / np.abs(y).max())).astype(np.float32)


def brick_wall(y: np.ndarray, hz: float, sr: int = SR) -> np.ndarray:
    """Elliptic low-pass (90 dB stop band): the wall a resampler or codec leaves."""
    sos = scipy.signal.ellip(12, 0.1, 90, hz, fs=sr, output="sos")
    return scipy.signal.sosfiltfilt(sos, y, axis=-1).astype(np.float32)


def add_noise(y: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(y.shape)
    noise *= np.sqrt(np.mean(y.astype(np.float64) ** 2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (y + noise).astype(np.float32)


def to_16bit(y: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(y, -1, 1) * 32767) / 32767).astype(np.float32)
