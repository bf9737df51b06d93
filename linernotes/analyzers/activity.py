"""When a part sounds, over time, and whether it is there at all: pure functions over a
stem's frame RMS and loudness.

:func:`activity_series` gives, per window, the share of frames in which a stem sounds against
its own loud level; :func:`presence_probability` weighs the stem's loudness against the
mix's: a part that really plays sits within a few LU of the mix (a lead vocal typically 3 to
8 LU below it), while what a separator leaves in the vocals stem of an instrumental is
tens of LU down. Applied to the vocals stem they give vocal activity over time and the
probability that a track has vocals at all.
"""

from __future__ import annotations

import math

import numpy as np

from linernotes.analyzers.timbre import active_frames

#: Stem loudness relative to the mix (LU) at which a part is as likely there as not, and the
#: spread of the logistic around it. Priors, not fitted: no separator's bleed could be
#: measured here (see README, *Stems*).
PRESENCE_MIDPOINT_LU = -20.0
PRESENCE_WIDTH_LU = 2.5


def activity_series(
    rms: np.ndarray,
    frame_rate: float,
    *,
    window_s: float = 1.0,
    silence_floor_dbfs: float = -60.0,
    range_db: float = 24.0,
) -> np.ndarray:
    """Share of frames per ``window_s`` window that sound, in [0, 1].

    A frame sounds when its RMS is above ``silence_floor_dbfs`` and within ``range_db`` of
    the 95th percentile of the stem's frame levels (see
    :func:`~linernotes.analyzers.timbre.active_frames`), so separation bleed far below the
    part does not count. The last window may be partial.

    Parameters
    ----------
    rms : np.ndarray, shape (n_frames,)
        Linear frame RMS (full scale = 1).
    frame_rate : float
        Frames per second.

    Examples
    --------
    >>> rms = np.r_[np.full(100, 0.1), np.full(100, 1e-4), np.full(50, 0.1)]
    >>> activity_series(rms, 100.0).tolist()
    [1.0, 0.0, 1.0]
    """
    mask = active_frames(rms, silence_floor_dbfs=silence_floor_dbfs, relative_floor_db=range_db)
    per = max(1, round(window_s * frame_rate))
    if mask.size == 0:
        return np.zeros(0)
    edges = np.arange(0, mask.size, per)
    counts = np.add.reduceat(mask.astype(np.float64), edges)
    sizes = np.diff(np.r_[edges, mask.size])
    return counts / sizes


def presence_probability(
    stem_lufs: float | None,
    mix_lufs: float | None,
    *,
    midpoint_lu: float = PRESENCE_MIDPOINT_LU,
    width_lu: float = PRESENCE_WIDTH_LU,
) -> float | None:
    """Probability that a stem's part is really in the mix, from its integrated loudness
    relative to the mix's: a logistic that is 0.5 at ``midpoint_lu``. ``None`` when the mix
    has no loudness (silence); 0 for a silent stem.

    Integrated loudness is gated (BS.1770), so a part that plays only in the chorus is judged
    by its level where it plays, not diluted by the verses.

    Examples
    --------
    >>> presence_probability(-18.0, -12.0)  # a lead vocal 6 LU below the mix
    0.9963
    >>> presence_probability(-47.0, -12.0)  # bleed 35 LU down
    0.0025
    >>> presence_probability(-32.0, -12.0)
    0.5
    """
    if mix_lufs is None:
        return None
    if stem_lufs is None:
        return 0.0
    z = (stem_lufs - mix_lufs - midpoint_lu) / width_lu
    return round(1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z)))), 4)
