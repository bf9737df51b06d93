"""Synthesised test signals with known answers (no files, no soundfonts)."""

from __future__ import annotations

import numpy as np

NOTE_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]


def tone(
    freq: float, seconds: float, sr: int, *, amp: float = 0.3, phase: float = 0.0
) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def click_track(
    bpm: float, seconds: float, sr: int, *, beats_per_bar: int = 4, accent: float = 2.5
) -> tuple[np.ndarray, np.ndarray]:
    """Decaying noise-burst clicks on every beat, louder and lower on downbeats.

    Returns the signal and the beat times.
    """
    rng = np.random.default_rng(0)
    n = int(seconds * sr)
    y = np.zeros(n, np.float32)
    period = 60.0 / bpm
    times = np.arange(0.0, seconds - 0.1, period)
    click_len = int(0.03 * sr)
    env = np.exp(-np.arange(click_len) / (0.005 * sr)).astype(np.float32)
    for i, t in enumerate(times):
        start = int(t * sr)
        seg = rng.standard_normal(click_len).astype(np.float32) * env
        if i % beats_per_bar == 0:
            seg = seg * accent + accent * np.sin(2 * np.pi * 100 * np.arange(click_len) / sr) * env
        end = min(start + click_len, n)
        y[start:end] += 0.2 * seg[: end - start]
    return y, times


def chord(
    pitches: list[int], seconds: float, sr: int, *, amp: float = 0.08, cents: float = 0.0
) -> np.ndarray:
    """Additive harmonic tones (6 partials, 1/k amplitudes) for MIDI ``pitches``."""
    t = np.arange(int(seconds * sr)) / sr
    y = np.zeros_like(t)
    for p in pitches:
        f0 = 440.0 * 2 ** ((p - 69 + cents / 100.0) / 12)
        for k in range(1, 7):
            if k * f0 < sr / 2:
                y += amp / k * np.sin(2 * np.pi * k * f0 * t)
    fade = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
    return (y * fade).astype(np.float32)


def progression(
    tonic: int,
    mode: str,
    seconds_per_chord: float,
    sr: int,
    *,
    repeats: int = 2,
    cents: float = 0.0,
) -> np.ndarray:
    """I-IV-V-I (major) or i-iv-V-i (minor) on pitch class ``tonic`` (0 = C), with bass."""
    root = 48 + tonic
    third = 3 if mode == "minor" else 4
    chords = [
        [root - 12, root, root + third, root + 7],
        [root - 7, root + 5, root + 5 + third, root + 12],
        [root - 5, root + 7, root + 11, root + 14],
        [root - 12, root, root + third, root + 7],
    ]
    parts = [chord(c, seconds_per_chord, sr, cents=cents) for _ in range(repeats) for c in chords]
    return np.concatenate(parts)


def key_name(tonic: int, mode: str) -> str:
    return f"{NOTE_NAMES[tonic]} {mode}"
