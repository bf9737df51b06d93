"""Where the bar starts: the downbeat phase of a bar of known length, allowed to move along
the track.

Among the ``m`` possible phases of a bar of ``m`` pulses, the downbeat is the position with
the strongest accents, the most bass and the largest harmonic and timbral change (the
downbeat score of :mod:`.beat_features`): chords and sections change on the one. One phase
for a whole track is wrong wherever the bar grid slips against the beats, so a Viterbi path
lets it change where the evidence for a new phase outweighs a switching cost
(:func:`track_bar_phase`).

Examples
--------
>>> import numpy as np
>>> phase_scores(np.array([1.0, 0.0, 0.0] * 4), 3).tolist()
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["phase_scores", "place_bar", "track_bar_phase"]


def phase_scores(score: np.ndarray, bar: int) -> np.ndarray:
    """Mean downbeat score of each position (0 .. ``bar`` - 1) of a bar of ``bar`` pulses
    counted from the first pulse."""
    pos = np.arange(score.size) % bar
    return np.bincount(pos, weights=score, minlength=bar) / np.bincount(pos, minlength=bar)


def place_bar(
    downbeat_score: np.ndarray, pulses_per_bar: int, pulse_group: int, switch_bars: float
) -> tuple[int, np.ndarray | None]:
    """Downbeat phase of a bar of ``pulses_per_bar`` tracked pulses (index of the first pulse
    that starts a bar) and, for beat-level pulses, where it changes along the track."""
    score, m = downbeat_score, pulses_per_bar
    phase_score = phase_scores(score, m)
    if pulse_group == 3:
        # Felt beats sit on every third pulse; the downbeat is the strongest of them.
        felt = int(np.argmax(phase_score.reshape(-1, 3).sum(axis=0)))
        return felt + 3 * int(np.argmax(phase_score[felt::3])), None
    phase = int(np.argmax(phase_score))
    spread = float(np.std(score)) or 1.0
    bar_phase = track_bar_phase(score, m, switch_cost=switch_bars * spread, start_phase=phase)
    if np.all(bar_phase == phase):
        return phase, None
    return int(bar_phase[0]), bar_phase


def track_bar_phase(
    downbeat_score: np.ndarray, bar: int, *, switch_cost: float, start_phase: int | None = None
) -> np.ndarray:
    """Downbeat phase at every pulse, allowed to change along the track.

    One phase for a whole track is wrong wherever the bar grid slips against the beats: an
    inserted or dropped beat, a bar of another length, an edit, a tracking error in an hour
    of music. Each phase ``p`` (the pulses ``i`` with ``i % bar == p`` start bars) collects the
    downbeat score of its pulses; a Viterbi path through the phases pays ``switch_cost`` for
    every change, so the phase only moves where the new one wins over a stretch of bars
    worth that much score. Without a worthwhile change the path is ``start_phase`` (or the
    best phase overall) throughout, which is the single-phase answer.

    Parameters
    ----------
    downbeat_score : np.ndarray, shape (n_pulses,)
        How likely each pulse is to start a bar (higher = more likely).
    bar : int
        Pulses per bar.
    switch_cost : float
        Score a new phase must gain to be switched to, in units of ``downbeat_score``.
    start_phase : int, optional
        Phase preferred where the evidence ties (the whole-track choice).

    Returns
    -------
    np.ndarray of int, shape (n_pulses,)
        The phase (0..bar-1) in force at each pulse.

    Examples
    --------
    >>> score = np.array([1, 0, 0, 0] * 20 + [0, 1, 0, 0] * 20, dtype=float)
    >>> phases = track_bar_phase(score, 4, switch_cost=3.0)
    >>> int(phases[0]), int(phases[-1])
    (0, 1)
    """
    x = np.asarray(downbeat_score, dtype=np.float64)
    n = x.size
    if n == 0 or bar < 2:
        return np.zeros(n, dtype=np.int64)
    x = x - x.mean()
    # A small bonus for the whole-track phase breaks ties towards it without outweighing
    # any real evidence.
    total = np.zeros(bar)
    if start_phase is not None:
        total[start_phase % bar] = 1e-9 * max(switch_cost, 1.0)
    back = np.empty((n, bar), dtype=np.int64)
    states = np.arange(bar)
    for i in range(n):
        best = int(np.argmax(total))
        switched = total[best] - switch_cost
        switch = switched > total
        back[i] = np.where(switch, best, states)
        total = np.where(switch, switched, total)
        total[i % bar] += x[i]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(total))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    return path
