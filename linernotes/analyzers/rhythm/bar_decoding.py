"""Bars from the learned downbeat activation: which tracked beats start a bar, and how many
beats a bar holds.

Each beat gets the downbeat activation's peak near it (:func:`peak_near_beats`). For each
bar length a hidden Markov model over the position in the bar reads the sequence: the
position advances by one each beat and wraps at the bar's length; a bar line may fall early
or late (a pickup repeated, a bar cut short) at a cost. The length whose Viterbi path
explains the strengths best wins, and its path gives every beat's position.

Where the downbeat strengths of two positions tie (a network that hears beats 1 and 3 of a
4/4 bar alike), :func:`rotate_bars` turns the decoded bars to the rotation whose downbeats
score best on wider evidence (accents, bass and harmonic change, the network).

Examples
--------
>>> import numpy as np
>>> strength = np.tile([0.9, 0.1, 0.1], 8)          # a strong beat every third beat
>>> bars = decode_bars(strength)
>>> bars.beats_per_bar, bars.position[:6].tolist()
(3, [0, 1, 2, 0, 1, 2])
>>> rotate_bars(bars.position, 3, np.tile([0.0, 0.0, 1.0], 8))[:6].tolist()
[1, 2, 0, 1, 2, 0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BarDecoding", "decode_bars", "peak_near_beats", "rotate_bars"]

#: Bar lengths (in beats) the decoder considers.
BAR_LENGTHS = (2, 3, 4)


@dataclass(frozen=True)
class BarDecoding:
    """Each beat's position in its bar (0 = downbeat), the bar length that explains the
    activation best, how much better than the next best (log-likelihood per beat), and every
    length's log-likelihood per beat (``fit``)."""

    position: np.ndarray
    beats_per_bar: int
    margin: float
    fit: dict[int, float]


def peak_near_beats(activation: np.ndarray, beat_frames: np.ndarray, *, radius: int = 2
                    ) -> np.ndarray:
    """An activation's peak within ``radius`` frames of each beat: the downbeat strength of
    each beat, or (on the beat activation) how clearly the network hears each beat."""
    act = np.asarray(activation, np.float64)
    b = np.round(np.asarray(beat_frames, np.float64)).astype(np.int64)
    if b.size == 0 or act.size == 0:
        return np.zeros(b.size)
    idx = np.clip(b[:, None] + np.arange(-radius, radius + 1)[None, :], 0, act.size - 1)
    return act[idx].max(axis=1)


def _viterbi(log_emit: np.ndarray, log_trans: np.ndarray) -> tuple[np.ndarray, float]:
    n, s = log_emit.shape
    score = log_emit[0] - np.log(s)
    back = np.zeros((n, s), np.int64)
    for i in range(1, n):
        cand = score[:, None] + log_trans
        back[i] = np.argmax(cand, axis=0)
        score = cand[back[i], np.arange(s)] + log_emit[i]
    path = np.empty(n, np.int64)
    path[-1] = int(np.argmax(score))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path, float(score.max())


def decode_bars(strength: np.ndarray, *, bar_lengths: tuple[int, ...] = BAR_LENGTHS,
                shift_cost: float = 2.0, floor: float = 0.02,
                length_bias: dict[int, float] | None = None) -> BarDecoding:
    """Positions in the bar of a sequence of beats from their downbeat strengths.

    Each bar length is decoded on its own (a bar line may come out of turn, at a cost); the
    length whose best path explains the strengths best wins.

    Parameters
    ----------
    strength : np.ndarray, shape (n_beats,)
        Probability-like downbeat strength of each beat (:func:`peak_near_beats`).
    bar_lengths : tuple of int
        Bar lengths, in beats, considered.
    shift_cost : float
        Log-probability cost of a bar line out of turn (a repeated pickup, a bar cut short).
    floor : float
        Strengths are clipped to ``[floor, 1 - floor]`` so one beat cannot veto a reading.
    length_bias : dict of int to float, optional
        Log-likelihood per beat added to a bar length's fit (a prior: how much more often
        music is written in it).
    """
    p = np.clip(np.asarray(strength, np.float64), floor, 1.0 - floor)
    n = p.size
    if n == 0:
        return BarDecoding(np.zeros(0, np.int64), bar_lengths[-1], 0.0, {})
    paths, fit = {}, {}
    for length in bar_lengths:
        is_down = np.arange(length) == 0
        log_emit = np.where(is_down[None, :], np.log(p)[:, None], np.log1p(-p)[:, None])
        log_trans = np.full((length, length), -np.inf)
        log_trans[:, 0] = -shift_cost
        for k in range(length):
            log_trans[k, (k + 1) % length] = 0.0
        paths[length], score = _viterbi(log_emit, log_trans)
        fit[length] = score / n + (length_bias or {}).get(length, 0.0)
    best = max(fit, key=lambda k: fit[k])
    rivals = [v for k, v in fit.items() if k != best]
    margin = fit[best] - max(rivals) if rivals else 0.0
    return BarDecoding(paths[best].astype(np.int64), best, float(margin), fit)


def rotate_bars(position: np.ndarray, beats_per_bar: int, score: np.ndarray) -> np.ndarray:
    """The decoded bar positions turned by the whole number of beats whose downbeats score
    highest on average.

    The decoder's path (with its bar lines out of turn) is kept; only which of its positions
    starts the bar moves, the same way all along the track.

    Parameters
    ----------
    position : np.ndarray of int, shape (n_beats,)
        Each beat's position in its bar (0 = downbeat), as :func:`decode_bars` gives it.
    beats_per_bar : int
        The bar length the positions count.
    score : np.ndarray, shape (n_beats,)
        How likely each beat is to start a bar (higher = more likely).

    Returns
    -------
    np.ndarray of int
        The positions after the turn (unchanged where no turn scores higher).
    """
    pos = np.asarray(position, np.int64)
    s = np.asarray(score, np.float64)
    if pos.size == 0 or beats_per_bar < 2 or s.size != pos.size:
        return pos
    # turning by ``shift`` makes the beats at position ``shift`` the downbeats
    counts = np.bincount(pos, minlength=beats_per_bar)
    sums = np.bincount(pos, weights=s, minlength=beats_per_bar)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
    best = int(np.argmax(means))
    return (pos - best) % beats_per_bar
