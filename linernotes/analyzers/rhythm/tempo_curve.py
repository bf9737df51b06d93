"""Local tempo over time: a tempo curve and the segments of steady tempo.

One BPM per track averages a tempo change away: a song that speeds up from 120 to 128, or a
DJ mix that moves from 124 to 140, would get a number that is true nowhere. The rhythm stage
already measures the periodicity of every 8 s analysis window (:mod:`.tempo`); this module
turns those local readings into a curve in the global tempo's metrical level and cuts it
into segments.

* **Curve.** Each window's most salient tempo is moved to the octave of the global tempo
  (times or divided by 2 or 3 when that brings it within 12 % of it, and by 3/2 within 8 %
  in metres whose beat or bar divides into three: the local choice of metrical level may
  differ, a genuine change of tempo may not be folded away). Where the tracked beats cover
  the window, the median inter-beat interval there replaces the periodicity peak, which is
  much more precise, as long as both agree within 8 %.
* **Segments.** The curve is median-filtered over five windows (a fill or a break does not
  start a segment) and cut wherever it leaves the running median of the current segment by
  more than ``tolerance`` (4 %, the tolerance of the usual tempo accuracy measure) for at
  least ``min_segment_s``; a segment lasts that long too.

Examples
--------
>>> import numpy as np
>>> t = np.arange(0.0, 120.0, 2.0)
>>> bpm = np.where(t < 60, 100.0, 130.0)
>>> [(round(a), round(b), round(c)) for a, b, c in tempo_segments(t, bpm)]
[(0, 59, 100), (59, 118, 130)]
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.ndimage

__all__ = ["tempo_curve", "tempo_segments"]

#: Ratios by which a window's tempo may be moved to the global tempo's metrical level.
_FOLDS = (1.0, 0.5, 2.0, 1.0 / 3.0, 3.0)
#: ... and, when the beat or the bar divides into three, the dotted levels too: two eighths
#: of a 6/8 beat (3/2 of it), two beats of a bar of three (2/3 of the beat).
_DOTTED_FOLDS = (*_FOLDS, 1.5, 2.0 / 3.0)


def tempo_curve(
    window_centre_s: np.ndarray,
    local_bpm: np.ndarray,
    *,
    bpm: float,
    beat_times: np.ndarray,
    window_s: float = 8.0,
    dotted: bool = False,
    fold_tolerance: float = 0.12,
    beat_agreement: float = 0.08,
    min_beats: int = 4,
) -> tuple[np.ndarray, np.ndarray]:
    """Tempo of every analysis window, in the metrical level of the global ``bpm``.

    Parameters
    ----------
    window_centre_s, local_bpm : np.ndarray, shape (n_windows,)
        Window centres in seconds and each window's most salient tempo (``nan`` if silent).
    bpm : float
        The track's tempo (felt beat).
    beat_times : np.ndarray
        The reported beats in seconds.
    window_s : float
        Length of the analysis windows.
    dotted : bool
        Whether the beat or the bar divides into three (6/8, 3/4): a window may then read two
        eighths of the beat or two beats of the bar, 3/2 or 2/3 of the tempo, and is folded
        back by that ratio too. In duple metres such a ratio is left alone, as a change of
        tempo (a DJ cut from 124 to 84 is one).
    fold_tolerance : float
        A window's tempo times or divided by 2 or 3 is used when it is this close to ``bpm``.
    beat_agreement : float
        The beats' local tempo replaces the periodicity reading when they agree this well.
    min_beats : int
        Beats needed inside a window for their tempo to count.

    Returns
    -------
    (times, bpms) : np.ndarray, np.ndarray
        Windows that are silent or have no reading are left out.
    """
    centres = np.asarray(window_centre_s, dtype=np.float64)
    local = np.asarray(local_bpm, dtype=np.float64)
    beats = np.asarray(beat_times, dtype=np.float64)
    keep = np.isfinite(local) & (local > 0)
    centres, local = centres[keep], local[keep]
    if centres.size == 0 or not bpm > 0:
        return np.zeros(0), np.zeros(0)
    folds = np.asarray(_DOTTED_FOLDS if dotted else _FOLDS)
    cands = local[:, None] * folds[None, :]
    dev = np.abs(np.log(cands / bpm))
    best = np.argmin(dev, axis=1)
    rows = np.arange(local.size)
    # A dotted level must land closer (as close as the beats must agree): a change of tempo
    # by 4/3 or 3/4 is not to be folded as one.
    octave = np.isin(folds[best], _FOLDS)
    tolerance = np.where(octave, fold_tolerance, beat_agreement)
    folded = np.where(dev[rows, best] <= np.log1p(tolerance), cands[rows, best], local)
    lo = np.searchsorted(beats, centres - window_s / 2)
    hi = np.searchsorted(beats, centres + window_s / 2)
    out = folded.copy()
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        gap = float(np.median(np.diff(beats[a:b]))) if b - a >= min_beats else 0.0
        if gap > 0:  # beats at one time (none should be) give no tempo
            from_beats = 60.0 / gap
            if abs(from_beats / folded[i] - 1.0) <= beat_agreement:
                out[i] = from_beats
    return centres, out


def tempo_segments(
    times: np.ndarray,
    bpms: np.ndarray,
    *,
    tolerance: float = 0.04,
    min_segment_s: float = 16.0,
    smooth_points: int = 5,
) -> list[tuple[float, float, float]]:
    """Stretches of steady tempo in a tempo curve.

    Parameters
    ----------
    times, bpms : np.ndarray
        The curve (:func:`tempo_curve`).
    tolerance : float
        Relative departure from the current segment's median tempo that starts a new one.
    min_segment_s : float
        A departure must last this long to start a segment (shorter ones are fills, breaks),
        and a segment this long before it can end.
    smooth_points : int
        Width of the median filter applied to the curve first.

    Returns
    -------
    list of (start_s, end_s, bpm)
        Consecutive segments covering the curve; ``bpm`` is each segment's median.
    """
    t = np.asarray(times, dtype=np.float64)
    b = np.asarray(bpms, dtype=np.float64)
    if t.size == 0:
        return []
    if t.size >= smooth_points:
        # Mirrored at the ends: repeating the edge value would count the first window (a
        # lead-in, the start of a note) three times in five and keep it when it is an outlier.
        b = scipy.ndimage.median_filter(b, size=smooth_points, mode="mirror")
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    need = max(1, int(np.ceil(min_segment_s / step))) if step > 0 else 1
    bounds = [0]
    i = 0
    while i < t.size:
        ref = float(np.median(b[bounds[-1] : i + 1]))
        # A segment lasts at least ``min_segment_s`` too: its running median needs that long
        # to stand for it (the first window alone is no reference to depart from).
        if i - bounds[-1] >= need and abs(np.log(b[i] / ref)) > np.log1p(tolerance):
            run = b[i : i + need]
            if run.size == need and np.all(np.abs(np.log(run / ref)) > np.log1p(tolerance)):
                bounds.append(i)
                i += need
                continue
        i += 1
    bounds.append(t.size)
    segments = []
    for a, z in itertools.pairwise(bounds):
        # A change falls between the last window of one segment and the first of the next.
        start = 0.5 * float(t[a - 1] + t[a]) if a > 0 else float(t[0])
        end = 0.5 * float(t[z - 1] + t[z]) if z < t.size else float(t[-1])
        segments.append((start, end, float(np.median(b[a:z]))))
    return segments
