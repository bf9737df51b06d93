"""Tempo salience and tempo estimation from an onset envelope.

Two periodicity views of the onset envelope are combined on a log-spaced BPM axis:

* the autocorrelation, which peaks at the beat period and at all its multiples (half, third...
  of the tempo), reinforced by its value at half or a third of the period, whichever is
  larger (a beat is usually subdivided evenly, in two or in three, a bar less so), and
* the Fourier magnitude, which peaks at the beat rate and at all its harmonics (double,
  triple... of the tempo).

Their product (the Fourier view with a smaller exponent, since it is largest at the fastest
regular pulse) favours tempi on which both agree, which suppresses the octave errors each view
makes alone (Peeters 2006). A broad log-normal prior over tempo, centred near the tempi that
listeners tap most often, breaks the remaining ties. Both views are computed in overlapping
windows, so the same pass also yields a local tempo curve that measures tempo stability.

Examples
--------
>>> import numpy as np
>>> fr = 22050 / 256
>>> env = np.zeros(int(20 * fr))
>>> env[(np.arange(40) * fr * 0.5).astype(int)] = 1.0  # 120 BPM pulses
>>> est = estimate_tempo(env, frame_rate=fr)
>>> round(est.bpm / 120, 1)
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.fft
import scipy.ndimage

from linernotes.analyzers.rhythm.params import (
    MAX_BPM,
    MIN_BPM,
    PRIOR_CENTER_BPM,
    PRIOR_STD_OCTAVES,
    TEMPO_HOP_S,
    TEMPO_WIN_S,
)

__all__ = [
    "TempoEstimate",
    "TempoSalience",
    "estimate_tempo",
    "periodicity_floor",
    "strength_floor",
    "tempo_from_changes",
    "tempo_prior",
    "tempo_salience",
]

#: Analysis windows processed together by :func:`tempo_salience` (a multiple of 64).
_WINDOW_BATCH = 256


@dataclass(frozen=True)
class TempoSalience:
    """Periodicity of an onset envelope on a log-spaced tempo axis.

    Attributes
    ----------
    bpm : np.ndarray, shape (n_bins,)
        Tempo axis, increasing, log-spaced.
    acf : np.ndarray, shape (n_bins,)
        Normalised autocorrelation at the lag of each tempo (1 = perfectly periodic).
    dft : np.ndarray, shape (n_bins,)
        Fourier magnitude at the rate of each tempo, normalised to a maximum of 1.
    combined : np.ndarray, shape (n_bins,)
        ``(acf + tatum_weight * max(acf at half, acf at a third of the period)) *
        dft ** dft_weight`` (all clipped at
        zero), before any prior.
    local : np.ndarray, shape (n_windows, n_bins)
        ``combined`` for every analysis window (for local tempo and stability).
    window_weight : np.ndarray, shape (n_windows,)
        Onset energy of each window; silent windows weigh nothing.
    window_centre_s : np.ndarray, shape (n_windows,)
        Centre of each analysis window in seconds (for the tempo curve).
    lag_acf : np.ndarray
        The window-averaged normalised autocorrelation by integer lag in frames.
    frame_rate : float
        Envelope frames per second.
    """

    bpm: np.ndarray
    acf: np.ndarray
    dft: np.ndarray
    combined: np.ndarray
    local: np.ndarray
    window_weight: np.ndarray
    window_centre_s: np.ndarray
    lag_acf: np.ndarray
    frame_rate: float

    def at(self, bpm: float, which: str = "combined") -> float:
        """Value of one salience curve at any tempo (linear interpolation in log tempo)."""
        curve = getattr(self, which)
        x = np.log2(self.bpm)
        return float(np.interp(np.log2(bpm), x, curve, left=0.0, right=0.0))


@dataclass(frozen=True)
class TempoEstimate:
    """Global tempo with its strength and the local tempo curve.

    ``bpm`` is ``None`` when the envelope shows no periodicity at all. ``period_frames`` is the
    beat period in (fractional) envelope frames. ``strength`` (0..1) is how far the normalised
    autocorrelation at that period rises above its median over all tempo lags (noise and
    drones stay near 0). ``octave_margin`` is how much the chosen tempo outscores its best
    half/double/third/triple alternative (0.5 = a tie, 1 = no competitor). ``local_bpm`` holds
    the best tempo of each window (``nan`` where silent).
    """

    bpm: float | None
    period_frames: float | None
    strength: float
    octave_margin: float
    local_bpm: np.ndarray
    salience: TempoSalience


def tempo_prior(
    bpm: np.ndarray, *, center_bpm: float = PRIOR_CENTER_BPM, std_octaves: float = PRIOR_STD_OCTAVES
) -> np.ndarray:
    """Log-normal weight of each tempo: 1 at ``center_bpm``, ``exp(-1/2)`` one
    ``std_octaves`` away."""
    z = np.log2(np.asarray(bpm, dtype=np.float64) / center_bpm) / std_octaves
    return np.exp(-0.5 * z * z)


def strength_floor(duration_s: float, *, base: float, noise: float) -> float:
    """``base + noise / sqrt(duration_s)``: a floor of periodicity strength whose noise term
    shrinks as a longer clip averages more windows (the rhythm stage's floors on onsets and
    on pitch changes, and the first form of :func:`periodicity_floor`)."""
    return float(base + noise / np.sqrt(max(float(duration_s), 1e-9)))


def periodicity_floor(
    duration_s: float,
    *,
    base: float = 0.1,
    noise: float = 0.5,
    long_base: float = 0.05,
    long_noise_s: float = 4.0,
) -> float:
    """Strength (:func:`estimate_tempo`) a periodicity needs on a clip of ``duration_s``
    seconds to be told from chance: the lower of ``base + noise / sqrt(duration_s)`` and
    ``long_base + long_noise_s / duration_s``.

    A signal with no tempo still shows some periodicity by chance, less the longer it is
    (more windows are averaged); ``bench/tempo_floor`` measures it on noise and on clicks and
    notes at random times. Below about 20 s the first form is the lower, as chance and music
    overlap there and a short loop should still get its tempo (the doubt is left to the
    confidence). The rhythm stage keeps the first form as the floor of a clear pulse in the
    attacks: a weaker one is looked for in the pitch changes first, and only when they show no
    period either is the faint pulse kept if it clears this floor.

    Examples
    --------
    >>> round(periodicity_floor(10.0), 3), round(periodicity_floor(50.0), 3)
    (0.258, 0.13)
    """
    d = max(float(duration_s), 1e-9)
    return min(strength_floor(d, base=base, noise=noise), long_base + long_noise_s / d)


def tempo_salience(
    envelope: np.ndarray,
    *,
    frame_rate: float,
    min_bpm: float = MIN_BPM,
    max_bpm: float = MAX_BPM,
    bins_per_octave: int = 60,
    win_s: float = TEMPO_WIN_S,
    hop_s: float = TEMPO_HOP_S,
    acf_exponent: float = 2.0,
    dft_weight: float = 0.5,
    tatum_weight: float = 0.5,
    detrend_s: float = 0.4,
) -> TempoSalience:
    """Autocorrelation and Fourier periodicity of an onset envelope on a log tempo axis.

    Parameters
    ----------
    envelope : np.ndarray, shape (n_frames,)
        Onset strength, non-negative.
    frame_rate : float
        Envelope frames per second.
    min_bpm, max_bpm : float
        Tempo range considered.
    bins_per_octave : int
        Resolution of the tempo axis.
    win_s, hop_s : float
        Analysis window and hop in seconds. Windows long enough to hold several bars make the
        periodicity robust; overlapping windows give the local tempo. Signals shorter than a
        window are analysed as one window.
    acf_exponent : float
        Exponent applied to the magnitude spectrum before the inverse transform (2 gives the
        classic autocorrelation; smaller values whiten the spectrum and sharpen the peaks).
    dft_weight : float
        Exponent of the Fourier view in the product. The Fourier magnitude is largest at the
        fastest regular pulse (often eighth notes), so it only tips the balance between the
        autocorrelation's candidates rather than overruling them.
    tatum_weight : float
        Weight of the autocorrelation at half or a third of the beat period (the larger)
        added to that at the period: a beat level is usually subdivided regularly, a bar level
        is not subdivided at its half as evenly. It helps to choose the beat among its
        metrical relatives; thirds as well as halves let compound metres keep their
        dotted-quarter beat.
    detrend_s : float
        Length of the moving average subtracted from the envelope (then clipped at zero), which
        removes slow level changes so that only accents remain.
    """
    env = np.asarray(envelope, dtype=np.float64)
    frame_rate = float(frame_rate)
    n = env.shape[0]
    n_bins = int(np.floor(np.log2(max_bpm / min_bpm) * bins_per_octave)) + 1
    bpm = min_bpm * 2.0 ** (np.arange(n_bins) / bins_per_octave)
    max_lag = int(np.ceil(60.0 * frame_rate / min_bpm)) + 2

    det = max(1, round(detrend_s * frame_rate))
    if n:
        env = np.maximum(env - scipy.ndimage.uniform_filter1d(env, size=det, mode="nearest"), 0.0)
    win = max(8, round(win_s * frame_rate))
    hop = max(1, round(hop_s * frame_rate))
    if n <= win:
        win = max(n, 1)
        starts = np.array([0])
    else:
        starts = np.arange(0, n - win + 1, hop)
        if starts[-1] + win < n:
            starts = np.append(starts, n - win)
    window = np.hanning(win + 2)[1:-1] if win > 2 else np.ones(win)
    n_fft = int(scipy.fft.next_fast_len(max(2 * win, win + max_lag + 1)))
    # Undo the taper that the analysis window imposes on longer lags.
    w_acf = np.correlate(window, window, mode="full")[win - 1 :]
    taper = np.zeros(max_lag + 1)
    m = min(max_lag + 1, w_acf.size)
    taper[:m] = w_acf[:m] / w_acf[0]
    taper = np.maximum(taper, 0.25)
    lags = 60.0 * frame_rate / bpm
    half_lags = lags / 2
    third_lags = lags / 3
    freqs_bin = (bpm / 60.0) * n_fft / frame_rate
    lag_idx = np.arange(max_lag + 1)

    # Windows are analysed in batches: every step is per window, and an hour-long envelope
    # has thousands of them, whose spectra and autocorrelations would together take hundreds
    # of MB. The batch size is a multiple of any SIMD width, so the FFTs group windows as
    # they would in one call and the results do not depend on it.
    n_win = starts.size
    acf_local = np.empty((n_win, max_lag + 1))
    acf_grid = np.empty((n_win, n_bins))
    tatum = np.empty((n_win, n_bins))
    dft_grid = np.empty((n_win, n_bins))
    weight = np.empty(n_win)
    for first in range(0, n_win, _WINDOW_BATCH):
        batch = starts[first : first + _WINDOW_BATCH]
        rows = slice(first, first + batch.size)
        frames = np.zeros((batch.size, win))
        for i, s in enumerate(batch):
            seg = env[s : s + win]
            frames[i, : seg.size] = seg
        frames *= window
        spec = np.abs(scipy.fft.rfft(frames, n=n_fft, axis=1))
        weight[rows] = np.sqrt(np.sum(frames * frames, axis=1))
        del frames
        gen = scipy.fft.irfft(spec**acf_exponent, n=n_fft, axis=1)[:, : max_lag + 1].copy()
        denom = np.where(gen[:, :1] > 1e-12, gen[:, :1], 1.0)
        acf = (gen / denom) / taper
        acf[gen[:, 0] <= 1e-12] = 0.0
        del gen
        acf_local[rows] = acf
        for i, row in enumerate(acf, start=first):
            acf_grid[i] = np.interp(lags, lag_idx, row)
            tatum[i] = np.maximum(
                np.interp(half_lags, lag_idx, row), np.interp(third_lags, lag_idx, row)
            )
        spec_smooth = scipy.ndimage.maximum_filter1d(spec, size=3, axis=1)
        del spec
        bins = np.arange(spec_smooth.shape[1])
        for i, row in enumerate(spec_smooth, start=first):
            dft_grid[i] = np.interp(freqs_bin, bins, row)
        del spec_smooth
    support = np.clip(acf_grid, 0.0, None) + tatum_weight * np.clip(tatum, 0.0, None)
    dft_peak = dft_grid.max(axis=1, keepdims=True)
    dft_grid = np.where(dft_peak > 1e-12, dft_grid / np.maximum(dft_peak, 1e-12), 0.0)
    local = support * np.clip(dft_grid, 0.0, None) ** dft_weight

    total = weight.sum()
    w = weight / total if total > 1e-12 else np.full(weight.shape, 1.0 / weight.size)
    acf_mean = w @ acf_grid
    dft_mean = w @ dft_grid
    support_mean = w @ support
    return TempoSalience(
        bpm=bpm,
        acf=acf_mean,
        dft=dft_mean,
        combined=support_mean * np.clip(dft_mean, 0.0, None) ** dft_weight,
        local=local,
        window_weight=weight,
        window_centre_s=(starts + 0.5 * win) / frame_rate,
        lag_acf=w @ acf_local,
        frame_rate=frame_rate,
    )


def _refine_lag(lag_acf: np.ndarray, lag: float) -> float:
    """Sub-frame lag of the autocorrelation peak nearest ``lag`` (parabolic fit)."""
    k = round(float(lag))
    if k < 2 or k >= lag_acf.size - 2:
        return lag
    lo, hi = max(1, k - 2), min(lag_acf.size - 2, k + 2)
    k = lo + int(np.argmax(lag_acf[lo : hi + 1]))
    a, b, c = lag_acf[k - 1], lag_acf[k], lag_acf[k + 1]
    den = a - 2 * b + c
    if den >= 0:
        return float(k)
    return float(k + np.clip(0.5 * (a - c) / den, -0.5, 0.5))


def estimate_tempo(
    envelope: np.ndarray,
    *,
    frame_rate: float,
    min_bpm: float = MIN_BPM,
    max_bpm: float = MAX_BPM,
    prior_center_bpm: float = PRIOR_CENTER_BPM,
    prior_std_octaves: float = PRIOR_STD_OCTAVES,
    win_s: float = TEMPO_WIN_S,
    hop_s: float = TEMPO_HOP_S,
    min_strength: float = 0.05,
) -> TempoEstimate:
    """Most salient tempo of an onset envelope.

    The tempo maximises ``salience.combined * prior`` (:func:`tempo_salience` with its
    default weighting); its lag is then refined to a fraction of a frame on the
    autocorrelation. ``bpm`` is ``None`` when the autocorrelation at the
    chosen period is below ``min_strength`` (no periodicity: noise, drones, silence).
    """
    sal = tempo_salience(
        envelope, frame_rate=frame_rate, min_bpm=min_bpm, max_bpm=max_bpm, win_s=win_s, hop_s=hop_s
    )
    prior = tempo_prior(sal.bpm, center_bpm=prior_center_bpm, std_octaves=prior_std_octaves)
    score = sal.combined * prior
    local_scores = sal.local * prior
    active = sal.window_weight > 1e-6 * max(float(sal.window_weight.max(initial=0.0)), 1e-12)
    local_bpm = np.where(active, sal.bpm[np.argmax(local_scores, axis=1)], np.nan)
    if not np.any(score > 0):
        return TempoEstimate(None, None, 0.0, 0.0, local_bpm, sal)
    best = int(np.argmax(score))
    lag = _refine_lag(sal.lag_acf, 60.0 * frame_rate / sal.bpm[best])
    bpm = 60.0 * frame_rate / lag
    # Prominence of the period's autocorrelation over the typical value at other lags: a
    # positive envelope correlates with itself at every lag, periodicity only at some.
    lo = int(np.floor(60.0 * frame_rate / max_bpm))
    hi = min(int(np.ceil(60.0 * frame_rate / min_bpm)), sal.lag_acf.size - 1)
    baseline = float(np.median(sal.lag_acf[lo : hi + 1])) if hi > lo else 0.0
    peak = float(np.interp(lag, np.arange(sal.lag_acf.size), sal.lag_acf))
    strength = float(np.clip((peak - baseline) / max(1.0 - baseline, 1e-9), 0.0, 1.0))
    rivals = [
        float(np.interp(np.log2(bpm * r), np.log2(sal.bpm), score, left=0.0, right=0.0))
        for r in (0.5, 2.0, 1.0 / 3.0, 3.0, 2.0 / 3.0, 1.5)
    ]
    top = float(score[best])
    margin = top / (top + max(rivals)) if top > 0 else 0.0
    if strength < min_strength:
        return TempoEstimate(None, None, strength, margin, local_bpm, sal)
    return TempoEstimate(bpm, lag, strength, margin, local_bpm, sal)


def tempo_from_changes(
    changes: np.ndarray,
    onset_salience: TempoSalience,
    *,
    frame_rate: float,
    min_bpm: float = MIN_BPM,
    max_bpm: float = MAX_BPM,
    min_group_bpm: float = 15.0,
    group_prior_center_bpm: float = 50.0,
    prior_center_bpm: float = PRIOR_CENTER_BPM,
    prior_std_octaves: float = PRIOR_STD_OCTAVES,
    max_division: int = 4,
    onset_floor: float = 0.5,
    win_s: float = TEMPO_WIN_S,
    hop_s: float = TEMPO_HOP_S,
    min_strength: float = 0.05,
) -> TempoEstimate:
    """Tempo of music whose attacks are too soft to show a beat, from its pitch changes.

    Bowed strings and pads without drums leave the onset envelope nearly flat (no
    periodicity above noise), but their chords and bass notes still change on a regular
    grid: the harmonic rhythm, usually one or two changes per bar. Its period (found with
    a prior centred on ``group_prior_center_bpm``, the rate of such groups) is a whole
    number of beats, so the beat is that rate times ``k`` for the ``k`` in 1..``max_division``
    that maximises ``prior(k * rate) * (onset_floor + onset autocorrelation at the beat +
    change-envelope Fourier magnitude at the beat)``: the usual tempo prior, plus whatever
    regular pulse the melody and the onsets still show at the candidate beat.

    When the changes show no period at or above ``min_bpm``, the group search is repeated
    down to ``min_group_bpm``: a chord per slow bar of three or four (2-4 s) is a group rate
    of 15-30 a minute.

    Parameters
    ----------
    changes : np.ndarray, shape (n_frames,)
        Pitch-change envelope (:func:`linernotes.analyzers.rhythm.onsets.pitch_change_strength`).
    onset_salience : TempoSalience
        Periodicity of the onset envelope on the same frames (what :func:`estimate_tempo`
        already computed while finding no tempo there).
    frame_rate : float
        Envelope frames per second.

    Returns
    -------
    TempoEstimate
        ``strength`` is that of the change envelope's periodicity, ``octave_margin`` how
        clearly the chosen division beats the runner-up, and ``salience`` that of the change
        envelope. ``bpm`` is ``None`` when the changes are not periodic either.
    """
    group_settings: dict[str, Any] = {
        "frame_rate": frame_rate,
        "max_bpm": max_bpm,
        "prior_center_bpm": group_prior_center_bpm,
        "prior_std_octaves": prior_std_octaves,
        "win_s": win_s,
        "hop_s": hop_s,
        "min_strength": min_strength,
    }
    group = estimate_tempo(changes, min_bpm=min_bpm, **group_settings)
    if group.bpm is None and min_group_bpm < min_bpm:
        # A chord per slow bar: look below the beat floor before giving up.
        group = estimate_tempo(changes, min_bpm=min_group_bpm, **group_settings)
    if group.bpm is None:
        return group
    scored = []
    for k in range(1, max_division + 1):
        bpm = group.bpm * k
        if bpm > max_bpm:
            break
        if bpm < min_bpm:
            continue
        prior = float(tempo_prior(np.array([bpm]), center_bpm=prior_center_bpm,
                                  std_octaves=prior_std_octaves)[0])
        evidence = onset_floor + onset_salience.at(bpm, "acf") + group.salience.at(bpm, "dft")
        scored.append((prior * evidence, k))
    if not scored:
        return TempoEstimate(None, None, group.strength, 0.0, group.local_bpm, group.salience)
    scored.sort(reverse=True)
    top, k = scored[0]
    runner_up = scored[1][0] if len(scored) > 1 else 0.0
    margin = top / (top + runner_up) if top > 0 else 0.0
    bpm = group.bpm * k
    return TempoEstimate(
        bpm=bpm,
        period_frames=60.0 * frame_rate / bpm,
        strength=group.strength,
        octave_margin=margin,
        local_bpm=group.local_bpm * k,
        salience=group.salience,
    )
