"""Tuning: the offset of a pitched signal from A4 = 440 Hz, and whether it is pitched at all.

Examples
--------
>>> import numpy as np
>>> midi = np.arange(33.0, 105.0, 1.0 / 3.0)
>>> spectrum = np.zeros((midi.size, 4), np.float32)
>>> spectrum[np.argmin(np.abs(midi - 69.0))] = 1.0  # A4 exactly
>>> spectrum[np.argmin(np.abs(midi - 69.0)) + 1] = 0.5
>>> spectrum[np.argmin(np.abs(midi - 69.0)) - 1] = 0.5
>>> cents, concentration = estimate_tuning(spectrum, midi)
>>> abs(cents) < 2, concentration > 0.9
(True, True)
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

__all__ = ["estimate_tuning"]


def estimate_tuning(
    spectrum: np.ndarray,
    bin_midi: np.ndarray,
    *,
    min_midi: float = 50.0,
    max_midi: float = 100.0,
    rel_threshold: float = 0.05,
    resolution_cents: float = 1.0,
    smooth_cents: float = 4.0,
) -> tuple[float | None, float]:
    """Estimate the tuning offset from A4 = 440 Hz, in cents (-50..50).

    Every local maximum of every frame above ``rel_threshold`` times the frame's maximum is
    located by parabolic interpolation of the log magnitude (about a cent of error at the
    1/3-semitone bin spacing), and its deviation from the nearest equal-tempered pitch is
    accumulated, weighted by magnitude, in a circular histogram. The smoothed histogram's
    mode is the estimate: unlike a mean it ignores the off-grid 5th and 7th harmonics.

    Parameters
    ----------
    spectrum : np.ndarray, shape (n_bins, n_frames)
        Magnitude pitch spectrum.
    bin_midi : np.ndarray, shape (n_bins,)
        Fractional MIDI pitch of each bin, evenly spaced.
    min_midi, max_midi : float
        Pitch range of the peaks that vote.
    rel_threshold : float
        Peaks weaker than this fraction of their frame's maximum are ignored.
    resolution_cents, smooth_cents : float
        Histogram bin width and Gaussian smoothing.

    Returns
    -------
    cents : float or None
        Tuning offset; ``None`` when no peak votes.
    concentration : float
        Resultant length (0..1) of the magnitude-weighted deviation angles: near 1 for
        stable pitched partials, near 0 for noise.
    """
    s = np.asarray(spectrum, dtype=np.float32)
    bin_midi = np.asarray(bin_midi, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 3 or s.shape[1] == 0 or bin_midi.shape[0] != s.shape[0]:
        return None, 0.0
    step = float(bin_midi[1] - bin_midi[0])
    lo, mid, hi = s[:-2], s[1:-1], s[2:]
    midi_c = bin_midi[1:-1]
    in_range = ((midi_c >= min_midi) & (midi_c <= max_midi))[:, None]
    frame_max = s.max(axis=0, keepdims=True)
    # one boolean array, narrowed in place (each ``&`` would allocate another)
    peaks = mid > lo
    peaks &= mid >= hi
    peaks &= mid > rel_threshold * frame_max
    peaks &= mid > 0
    peaks &= in_range
    if not peaks.any():
        return None, 0.0
    rows, cols = np.nonzero(peaks)
    del peaks
    # An hour of music has about a million peaks: each per-peak array is several MB, so
    # intermediates are dropped as soon as they are used.
    weight = mid[rows, cols]
    a = np.log(lo[rows, cols] + 1e-12)
    b = np.log(weight + 1e-12)
    c = np.log(hi[rows, cols] + 1e-12)
    del cols
    denom = a - 2.0 * b + c
    del b
    safe = np.where(denom < 0, denom, -1.0)
    delta = np.clip(np.where(denom < 0, 0.5 * (a - c) / safe, 0.0), -0.5, 0.5)
    del a, c, denom, safe
    pitch = midi_c[rows] + delta * step
    del rows, delta
    dev = pitch - np.round(pitch)  # semitones in -0.5..0.5
    del pitch
    total = weight.sum()
    if not np.isfinite(total) or total <= 0:
        return None, 0.0
    # the unit phasors, exponentiated and weighted in place (one complex array, not three)
    phasor = 2j * np.pi * dev
    np.exp(phasor, out=phasor)
    phasor *= weight
    concentration = float(np.abs(np.sum(phasor)) / total)
    del phasor
    n_hist = max(1, int(np.rint(100.0 / resolution_cents)))
    idx = np.floor((dev * 100.0 + 50.0) / resolution_cents).astype(int) % n_hist
    hist = np.bincount(idx, weights=weight, minlength=n_hist)
    hist = scipy.ndimage.gaussian_filter1d(hist, smooth_cents / resolution_cents, mode="wrap")
    centre = (int(np.argmax(hist)) + 0.5) * resolution_cents - 50.0
    # refine the mode with the weighted mean of the deviations near it (on the circle)
    diff = (dev * 100.0 - centre + 50.0) % 100.0 - 50.0
    near = np.abs(diff) <= 2.0 * smooth_cents
    if near.any():
        centre += float(np.average(diff[near], weights=weight[near]))
    return float((centre + 50.0) % 100.0 - 50.0), concentration
