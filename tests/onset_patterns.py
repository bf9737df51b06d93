"""Onset envelopes written from a rhythm: impulses at known positions inside each pulse.

The octave check and the reading of bars of three are tested on these, so their evidence
and decisions follow from the rhythm that was written, not from a model of any instrument.
"""

from __future__ import annotations

import numpy as np

#: Envelope frames per second (22.05 kHz audio, hop 256), as the shared front end gives.
FRAME_RATE = 22050 / 256


def pulse_envelopes(
    pulse_bpm: float, pattern: dict[float, tuple[float, float, float]], seconds: float = 24.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onset envelope, band envelopes (low, mid, high) and pulse frames for ``pattern``:
    offset within the pulse (0-1) -> onset strength in the low, mid and high band."""
    n = int(seconds * FRAME_RATE)
    bands = np.zeros((3, n))
    period = 60.0 / pulse_bpm * FRAME_RATE
    pulses = np.arange(1.0, n / period - 1.0) * period
    rng = np.random.default_rng(0)
    decay = np.array([1.0, 0.5, 0.25, 0.12])  # an onset's flux over its first frames
    for p in pulses:
        for offset, strengths in pattern.items():
            i = round(p + offset * period)
            gain = np.asarray(strengths)[:, None] * (1.0 + 0.1 * rng.standard_normal())
            bands[:, i : i + decay.size] += gain * decay[None, : n - i]
    bands += 0.02 * rng.random(bands.shape)
    return bands.mean(axis=0), bands, pulses
