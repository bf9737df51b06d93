"""Beat tracking by dynamic programming (Ellis 2007), vectorised, with sub-frame beat times.

Given an onset envelope and a beat period, the tracker picks the sequence of frames that
maximises the onset strength at the beats minus a penalty, ``tightness * log(gap / period)**2``,
for every gap between consecutive beats that departs from the period. The recursion

    cum[t] = local[t] + max over gap in [period/2, 2*period] of (cum[t - gap] - penalty(gap))

(or ``cum[t] = local[t]`` when no predecessor scores positive, so the grid can start with the
music) only looks back at least ``period / 2`` frames, so a whole block of that many frames can be
updated at once with numpy; a three-minute track needs a few hundred small array operations
instead of ten thousand Python iterations.

Examples
--------
>>> import numpy as np
>>> fr = 22050 / 256
>>> env = np.zeros(int(10 * fr))
>>> env[np.round(np.arange(1, 19) * 0.5 * fr).astype(int)] = 1.0
>>> beats = track_beats(env, period_frames=0.5 * fr)
>>> len(beats)
18
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from linernotes.analyzers.rhythm.params import TIGHTNESS

__all__ = [
    "beat_prominence",
    "double_pulses",
    "extend_beats",
    "felt_bpm",
    "off_period_share",
    "on_period",
    "refine_beats",
    "regularize_beats",
    "track_beats",
    "track_steady_beats",
]


def _local_score(envelope: np.ndarray, period: float) -> np.ndarray:
    """Onset envelope normalised by its spread and smoothed by a Gaussian of width
    ``period / 32``, so that a beat may land a frame or two off an onset peak."""
    period = float(period)
    env = np.asarray(envelope, dtype=np.float64)
    std = env.std()
    env = env / std if std > 1e-12 else env * 0.0
    half = max(1, round(period / 16))
    x = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (x * 32.0 / period) ** 2)
    return np.convolve(env, kernel, mode="same")


def _dp(local: np.ndarray, period: float, tightness: float) -> tuple[np.ndarray, np.ndarray]:
    n = local.shape[0]
    period = float(period)
    lo = max(1, round(period / 2))
    hi = max(lo, round(2 * period))
    gaps = np.arange(lo, hi + 1)
    penalty = tightness * np.log(gaps / period) ** 2
    cum = np.zeros(n)
    back = np.full(n, -1, np.int64)
    for start in range(0, n, lo):
        t = np.arange(start, min(n, start + lo))
        prev = t[:, None] - gaps[None, :]
        cand = np.where(prev >= 0, cum[np.maximum(prev, 0)] - penalty[None, :], -np.inf)
        j = np.argmax(cand, axis=1)
        rows = np.arange(t.size)
        best = cand[rows, j]
        # A beat may start a fresh grid when every predecessor would cost more than it brings
        # (only happens before the music starts: within music the chains score positive).
        link = best > 0
        cum[t] = local[t] + np.where(link, best, 0.0)
        back[t] = np.where(link, prev[rows, j], -1)
    return cum, back


def _last_beat(cum: np.ndarray) -> int:
    """The last local maximum of the cumulative score that reaches half the median of all
    local maxima (so a track does not end on a weak trailing frame)."""
    if cum.size < 3:
        return int(np.argmax(cum)) if cum.size else 0
    interior = (cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])
    maxima = np.flatnonzero(interior) + 1
    if maxima.size == 0:
        return int(np.argmax(cum))
    med = np.median(cum[maxima])
    good = maxima[cum[maxima] >= 0.5 * med]
    return int(good[-1]) if good.size else int(maxima[-1])


def _trim(beats: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Drop leading and trailing beats whose (smoothed) onset strength is below half its RMS,
    where the tracker merely extrapolated the grid into an intro, fade or silence."""
    if beats.size < 3:
        return beats
    strength = local[beats]
    window = scipy.signal.windows.hann(5)
    smooth = np.convolve(strength, window, mode="same")
    thresh = 0.5 * np.sqrt(np.mean(smooth**2))
    keep = np.flatnonzero(smooth >= thresh)
    if keep.size == 0:
        return beats[:0]
    return beats[keep[0] : keep[-1] + 1]


def track_beats(
    envelope: np.ndarray,
    *,
    period_frames: float,
    tightness: float = TIGHTNESS,
    trim: bool = True,
) -> np.ndarray:
    """Beat frames of an onset envelope at a given beat period.

    Parameters
    ----------
    envelope : np.ndarray, shape (n_frames,)
        Onset strength.
    period_frames : float
        Expected beat period in frames (from :func:`.tempo.estimate_tempo`).
    tightness : float
        How strongly gaps between beats are held to the period; larger values follow the
        tempo more rigidly and bridge breaks, smaller values follow expressive timing.
    trim : bool
        Remove weak beats at the start and end (silent intros and fade-outs).

    Returns
    -------
    np.ndarray of int
        Beat frames, increasing.
    """
    env = np.asarray(envelope, dtype=np.float64)
    if env.size == 0 or not np.isfinite(period_frames) or period_frames < 2 or env.max() <= 0:
        return np.zeros(0, np.int64)
    local = _local_score(env, period_frames)
    cum, back = _dp(local, period_frames, tightness)
    beats = [_last_beat(cum)]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    out = np.asarray(beats[::-1], np.int64)
    if trim:
        out = _trim(out, local)
    return out


def on_period(gaps: np.ndarray, *, tolerance: float = 0.15) -> np.ndarray:
    """Which gaps between beats lie within ``tolerance`` (a fraction) of their median gap:
    the gaps that keep the period, as the felt tempo and the steadiness of a grid count them.

    Examples
    --------
    >>> import numpy as np
    >>> on_period(np.array([10.0, 10.5, 7.5, 10.0]))
    array([ True,  True, False,  True])
    """
    g = np.asarray(gaps, dtype=np.float64)
    return np.abs(g / np.median(g) - 1.0) <= tolerance


def felt_bpm(times: np.ndarray) -> float | None:
    """Tempo from beat times: mean of the inter-beat intervals within 15 % of their median."""
    if times.size < 2:
        return None
    ibi = np.diff(times)
    med = float(np.median(ibi))
    if med <= 0:
        return None
    keep = ibi[on_period(ibi)]
    return 60.0 / float(keep.mean() if keep.size else med)


def off_period_share(beat_frames: np.ndarray, *, tolerance: float = 0.15) -> float:
    """Share of the gaps between consecutive beats more than ``tolerance`` (a fraction) away
    from their median gap: 0 for a steady grid, large where beats were inserted or dropped.

    Examples
    --------
    >>> import numpy as np
    >>> off_period_share(np.arange(0.0, 200.0, 10.0))
    0.0
    >>> bars = np.arange(0.0, 400.0, 10.0)
    >>> extra = np.arange(35.0, 400.0, 70.0)  # a beat squeezed into every bar of seven
    >>> round(off_period_share(np.sort(np.r_[bars, extra])), 2)
    0.27
    """
    gaps = np.diff(np.asarray(beat_frames, dtype=np.float64))
    if gaps.size < 8:
        return 0.0
    return float(np.mean(~on_period(gaps, tolerance=tolerance)))


def track_steady_beats(
    envelope: np.ndarray,
    *,
    period_frames: float,
    tightness: float = TIGHTNESS,
    max_off_period_share: float = 0.14,
    steady_tightness: float = 400.0,
) -> np.ndarray:
    """:func:`track_beats` and :func:`refine_beats`, tracked again more rigidly when too many
    gaps leave the period.

    The tracker's usual tightness lets beats follow expressive timing, but where a bar's
    onsets are denser in one place than the beat (the sixteenths of a 2+2+3 bar of 7/8 on
    the piano, the broken chords of a drumless 6/8) it squeezes in an extra beat every bar,
    which the tempo (a median gap) hides and the metre and downbeats then inherit. When more
    than ``max_off_period_share`` of the gaps are more than 15 % off the median
    (:func:`off_period_share`), the envelope is tracked again at ``steady_tightness``, and
    that grid is kept if it is steadier.

    Returns
    -------
    np.ndarray of float
        Beat positions in fractional frames.
    """

    def tracked(at_tightness: float) -> np.ndarray:
        return refine_beats(envelope, track_beats(envelope, period_frames=period_frames,
                                                  tightness=at_tightness))

    beats = tracked(tightness)
    share = off_period_share(beats)
    if share <= max_off_period_share:
        return beats
    steady = tracked(steady_tightness)
    return steady if off_period_share(steady) < share else beats


def refine_beats(envelope: np.ndarray, beats: np.ndarray, *, radius: int = 2) -> np.ndarray:
    """Sub-frame beat positions: each beat moves to the strongest envelope peak within
    ``radius`` frames (if any), refined by a parabola through the peak and its neighbours.

    Returns
    -------
    np.ndarray of float
        Beat positions in fractional frames.
    """
    env = np.asarray(envelope, dtype=np.float64)
    b = np.asarray(beats, np.int64)
    if b.size == 0 or env.size < 3:
        return b.astype(np.float64)
    offsets = np.arange(-radius, radius + 1)
    idx = np.clip(b[:, None] + offsets[None, :], 1, env.size - 2)
    peak = idx[np.arange(b.size), np.argmax(env[idx], axis=1)]
    a, c, d = env[peak - 1], env[peak], env[peak + 1]
    is_peak = (c >= a) & (c >= d) & (c > 0)
    den = a - 2 * c + d
    shift = np.where(den < 0, 0.5 * (a - d) / np.where(den < 0, den, -1.0), 0.0)
    refined = peak + np.clip(shift, -0.5, 0.5)
    return np.where(is_peak, refined, b.astype(np.float64))


def extend_beats(
    beats: np.ndarray, active: np.ndarray, *, max_before: int = 4, max_after: int = 4
) -> np.ndarray:
    """Continue the beat grid over sustained sound at either end.

    Tracks often end on a held chord and start with a note or pad before the rhythm section
    enters; the beat goes on there although no onsets mark it (annotators tap through such
    bars). The grid is extended by the local beat period, at most ``max_before`` beats before
    and ``max_after`` beats after, while ``active`` says the signal is still sounding.

    Parameters
    ----------
    beats : np.ndarray
        Beat positions in frames (fractional allowed), increasing.
    active : np.ndarray of bool, shape (n_frames,)
        Frames where the signal is audible.
    max_before, max_after : int
        Most beats added at the start and at the end.
    """
    b = np.asarray(beats, dtype=np.float64)
    n = active.shape[0]
    if b.size < 3 or n == 0:
        return b
    ibi = np.diff(b)
    head = float(np.median(ibi[:8]))
    tail = float(np.median(ibi[-8:]))
    before: list[float] = []
    t = float(b[0]) - head
    while len(before) < max_before and t >= 0 and active[round(t)]:
        before.append(t)
        t -= head
    after: list[float] = []
    t = float(b[-1]) + tail
    while len(after) < max_after and t <= n - 1 and active[round(t)]:
        after.append(t)
        t += tail
    return np.concatenate([before[::-1], b, after])


def double_pulses(pulse_frames: np.ndarray) -> np.ndarray:
    """The pulse grid at twice the rate: a new pulse half way between each pair (when the
    felt beat, or a compound bar's eighth note, is twice as fast as the tracked pulse)."""
    p = np.asarray(pulse_frames, dtype=np.float64)
    if p.size < 2:
        return p
    out = np.empty(2 * p.size - 1)
    out[0::2] = p
    out[1::2] = 0.5 * (p[:-1] + p[1:])
    return out


def beat_prominence(envelope: np.ndarray, beat_frames: np.ndarray) -> float:
    """How sharply the onsets mark the beats: the median, over beats, of the envelope at the
    beat divided by its median over the surrounding beat period.

    Drums and plucked or struck notes make narrow peaks several times the envelope around
    them (3-10); bowed strings, pads and soft winds swell into their notes, and the envelope
    barely rises at the beat (about 1.3-2). 0 with fewer than three beats.
    """
    env = np.asarray(envelope, dtype=np.float64)
    b = np.asarray(beat_frames, dtype=np.float64)
    if b.size < 3 or env.size == 0:
        return 0.0
    half = max(1, int(0.5 * float(np.median(np.diff(b)))))
    padded = np.pad(env, half, mode="edge")
    idx = np.clip(np.round(b).astype(np.int64), 0, env.size - 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)[idx]
    around = np.median(windows, axis=1)
    return float(np.median(env[idx] / np.maximum(around, 1e-12)))


def regularize_beats(
    beat_frames: np.ndarray,
    *,
    strength: np.ndarray | None = None,
    strength_power: float = 4.0,
    half_window: int = 3,
    max_interval_deviation: float = 0.25,
    outlier_fraction: float = 0.125,
) -> np.ndarray:
    """Beat positions from a line through their neighbours, where the grid is regular.

    When the attacks are soft, each beat the tracker places lands on a broad, noisy envelope
    maximum: the grid is right but every beat is tens of milliseconds off, often beyond the
    +-70 ms an annotator's tap is judged by. Over a few beats the tempo is nearly constant, so
    a weighted least-squares line through the ``2 * half_window + 1`` beats around each one
    (dropping those more than ``outlier_fraction`` of a period off it, and fitted again)
    places it better than its own peak. Beats whose neighbourhood has an interval more than
    ``max_interval_deviation`` away from the median interval (a skipped or added beat, a tempo
    change, an uneven grouping such as 2+2+3) keep their tracked position.

    Parameters
    ----------
    beat_frames : np.ndarray
        Tracked beat positions (frames or seconds), increasing.
    strength : np.ndarray, optional
        Onset strength at each beat. Each beat weighs ``(strength / median) **
        strength_power`` in the lines, so the clearest attacks (a downbeat's chord and bass)
        anchor the grid and the weak ones move onto it; without it all weigh the same.
    half_window : int
        Beats on each side in a line.

    Returns
    -------
    np.ndarray of float
        Same length as ``beat_frames``; unchanged when there are too few beats for a window.

    Examples
    --------
    >>> import numpy as np
    >>> jitter = np.array([3, -4, 2, -1, 4, -3, 1, -2, 3, -4, 2, 0])
    >>> beats = np.arange(12) * 50.0 + jitter
    >>> bool(np.abs(regularize_beats(beats) - np.arange(12) * 50.0).max() < 3)
    True
    """
    b = np.asarray(beat_frames, dtype=np.float64)
    width = 2 * half_window + 1
    if b.size < width + 1:
        return b.copy()
    period = float(np.median(np.diff(b)))
    # Window of each beat: the width beats around it, shifted inwards at the ends.
    lo = np.clip(np.arange(b.size) - half_window, 0, b.size - width)
    rows = lo[:, None] + np.arange(width)[None, :]
    y = b[rows]
    x = rows - np.arange(b.size)[:, None].astype(np.float64)
    regular = np.max(np.abs(np.diff(y, axis=1) / period - 1.0), axis=1) <= max_interval_deviation
    if strength is None:
        weights = np.ones_like(y)
    else:
        w = np.maximum(np.asarray(strength, dtype=np.float64), 0.0)
        # Relative to the typical beat (the mean when most have none at all), and at most ten
        # times stronger or weaker: a window where one beat outweighs the rest by many orders
        # of magnitude has no line through it, and its beats all collapsed onto that one.
        scale = float(np.median(w)) or float(w.mean())
        ratio = np.clip(w / scale, 0.1, 10.0) if scale > 0 else np.ones_like(w)
        weights = ratio[rows] ** strength_power + 1e-3
    fitted = _line_at_zero(x, y, weights)
    residual = np.abs(y - fitted[:, 1:2] - fitted[:, 0:1] * x)
    inliers = (residual < outlier_fraction * period).astype(np.float64)
    refit = inliers.sum(axis=1) >= 3
    again = _line_at_zero(x, y, weights * np.where(refit[:, None], inliers, 1.0))
    return np.where(regular, again[:, 1], b)


def _line_at_zero(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares line of each row of ``y`` on ``x``: (slope, value at x = 0)."""
    sw, sx, sy = w.sum(axis=1), (w * x).sum(axis=1), (w * y).sum(axis=1)
    sxx, sxy = (w * x * x).sum(axis=1), (w * x * y).sum(axis=1)
    den = sw * sxx - sx * sx
    safe = np.where(np.abs(den) > 1e-12, den, 1.0)
    slope = np.where(np.abs(den) > 1e-12, (sw * sxy - sx * sy) / safe, 0.0)
    value = (sy - slope * sx) / np.maximum(sw, 1e-12)
    return np.column_stack([slope, value])
