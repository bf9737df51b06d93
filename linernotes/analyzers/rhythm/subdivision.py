"""What happens inside a beat: onset strength at fractions of it, and whether it divides
into three.

The onset envelope between consecutive beats is sampled at equal fractions of the beat
(:func:`subdivision_profile`). Onsets at one and two thirds, but not at the half, mean each
beat divides into three (6/8, 9/8, 12/8): a fitted logistic model weighs the positions
(:func:`compound_probability`). The same log ratios of onset strength
(:func:`onset_log_ratio`) are the evidence of the other fitted rhythm models (octave check,
bar of three).

Examples
--------
>>> import numpy as np
>>> env = np.zeros(800)
>>> env[::24] = 1.0  # a beat every 24 frames ...
>>> env[8::24] = env[16::24] = 0.6  # ... divided into three
>>> compound_probability(subdivision_profile(env, np.arange(0, 800, 24))) > 0.5
True
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from linernotes.analyzers.fitted import logistic_probability, weights_for

__all__ = [
    "COMPOUND_FEATURES",
    "COMPOUND_POSITIONS",
    "COMPOUND_WEIGHTS",
    "ONSET_FLOOR",
    "compound_evidence",
    "compound_probability",
    "onset_log_ratio",
    "onset_strength_at",
    "subdivision_frames",
    "subdivision_profile",
]


def subdivision_frames(beat_frames: np.ndarray, n_points: int) -> np.ndarray:
    """Frames of ``n_points`` equally spaced positions inside each beat interval, the first
    on the beat: shape ``(n_beats - 1, n_points)``."""
    b = np.asarray(beat_frames, dtype=np.float64)
    frac = np.arange(n_points) / n_points
    return b[:-1, None] + np.diff(b)[:, None] * frac[None, :]


def onset_strength_at(envelope: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Onset strength at (fractional) ``frames``, of any shape: the envelope's peak within a
    frame of each, so that a position a frame off its onset still sees it."""
    peaks = scipy.ndimage.maximum_filter1d(np.asarray(envelope, dtype=np.float64), size=3)
    return np.interp(frames, np.arange(peaks.size), peaks)


def subdivision_profile(
    envelope: np.ndarray, beat_frames: np.ndarray, *, n_points: int = 12
) -> np.ndarray:
    """Median onset strength at ``n_points`` equally spaced positions inside each beat,
    normalised so that the beat itself (position 0) is 1.

    Returns
    -------
    np.ndarray, shape (n_points,)
        Zeros when there are fewer than two beats.
    """
    b = np.asarray(beat_frames, dtype=np.float64)
    if b.size < 3 or np.size(envelope) == 0:
        return np.zeros(n_points)
    vals = onset_strength_at(envelope, subdivision_frames(b, n_points))
    prof = np.median(vals, axis=0)
    top = prof[0] if prof[0] > 1e-12 else max(float(prof.max()), 1e-12)
    return prof / top


#: Added to both strengths of :func:`onset_log_ratio` (profiles are 1 at the beat), so that
#: near-silent positions give a bounded, not an infinite, ratio.
ONSET_FLOOR = 0.05


def onset_log_ratio(strength: float, reference: float) -> float:
    """Log ratio of an onset strength to a reference one (both from a
    :func:`subdivision_profile`), each raised by :data:`ONSET_FLOOR`: the evidence the fitted
    rhythm models read (compound beat, octave check, bar of three)."""
    return float(np.log((float(strength) + ONSET_FLOOR) / (float(reference) + ONSET_FLOOR)))


#: Positions inside the beat, in twelfths (1/6, 1/4, 1/3, 1/2, 2/3, 3/4, 5/6), whose onset
#: strength relative to the beat's own says whether the beat divides into three.
COMPOUND_POSITIONS = (2, 3, 4, 6, 8, 9, 10)


#: Names of :func:`compound_evidence`, in the order of :data:`COMPOUND_WEIGHTS`.
COMPOUND_FEATURES = tuple(f"twelfth{i}" for i in COMPOUND_POSITIONS)


#: Logistic weights (bias first) of "the beat divides into three", from the model
#: ``compound_beat`` of :data:`linernotes.analyzers.fitted.WEIGHTS_FILE`.
COMPOUND_WEIGHTS: tuple[float, ...] = weights_for("compound_beat", COMPOUND_FEATURES)


def compound_evidence(profile: np.ndarray) -> dict[str, float]:
    """Log ratio of the onset strength at each of :data:`COMPOUND_POSITIONS` to that on the
    beat, from a 12-point :func:`subdivision_profile`."""
    prof = np.asarray(profile, dtype=np.float64)
    return {
        name: onset_log_ratio(prof[i], prof[0])
        for name, i in zip(COMPOUND_FEATURES, COMPOUND_POSITIONS, strict=True)
    }


def compound_probability(
    profile: np.ndarray, weights: tuple[float, ...] = COMPOUND_WEIGHTS
) -> float:
    """Probability that the beat divides into three (6/8, 9/8, 12/8), from a 12-point
    :func:`subdivision_profile`.

    The first third must carry more onsets than the quarter, the half and the three-quarter
    of the beat, or the probability is 0: swung eighths put an onset at two thirds only and
    remain a simple metre.

    Examples
    --------
    >>> triplets = np.array([1, 0, 0, 0, .6, 0, 0, 0, .6, 0, 0, 0])
    >>> eighths = np.array([1, 0, 0, 0, 0, 0, .6, 0, 0, 0, 0, 0])
    >>> compound_probability(triplets) > 0.5 > compound_probability(eighths)
    True
    """
    prof = np.asarray(profile, dtype=np.float64)
    if prof.size != 12 or not np.any(prof > 0):
        return 0.0
    if not prof[4] > max(float(prof[3]), float(prof[6]), float(prof[9])):
        return 0.0
    return logistic_probability(weights, compound_evidence(prof), COMPOUND_FEATURES)
