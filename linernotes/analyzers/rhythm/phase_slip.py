"""Half-beat slips of a tracked beat grid, and the activation read back onto one phase.

A beat network sometimes hears a whole section of steady music half a beat off (a riff
on the off-beats, a syncopated bass line): the tracker follows it, and the grid slips
half a beat into the section and back out of it, a few short or long gaps each time. In
music of steady tempo the written beat does not move half a beat and back, so the
sections the grid covers at the phase held for fewer beats are read with their activation
moved by half a beat, and the grid is tracked again (``RhythmParams.mend_phase_slips``;
how it was chosen: ``bench/results/rhythm_tuning_history.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["PhaseSlip", "mend_phase_slips", "minority_spans", "phase_slips", "shift_spans"]


@dataclass(frozen=True)
class PhaseSlip:
    """A short run of off-period gaps that moves the grid by about half a beat.

    ``first`` and ``last`` index the run's first and last beats (the gaps between them are
    the run's); ``shift`` is how far the run moves the grid, in beats (about +-0.5)."""

    first: int
    last: int
    shift: float


def _off_runs(deviation: np.ndarray, off_period: float) -> list[tuple[int, int]]:
    """Runs ``(first gap, last gap)`` of gaps more than ``off_period`` off the period; two
    runs one gap apart join when that gap leans the same way (a slip spread over three gaps
    whose middle one is nearly on time)."""
    off = np.abs(deviation) > off_period
    runs: list[tuple[int, int]] = []
    i = 0
    while i < deviation.size:
        if not off[i]:
            i += 1
            continue
        j = i
        while True:
            if j + 1 < deviation.size and off[j + 1]:
                j += 1
            elif (j + 2 < deviation.size and off[j + 2]
                  and np.sign(deviation[j + 1]) == np.sign(deviation[j])):
                j += 2
            else:
                break
        runs.append((i, j))
        i = j + 1
    return runs


def phase_slips(beat_frames: np.ndarray, *, off_period: float = 0.06, max_run: int = 6,
                tolerance: float = 0.1, steady: float = 0.04, context: int = 4
                ) -> list[PhaseSlip]:
    """The half-beat slips of a beat grid.

    A slip is a run of at most ``max_run`` gaps more than ``off_period`` (a share of the
    median gap) off the period whose deviations add up to half a beat within ``tolerance``,
    with the ``context`` gaps each side of it all within ``steady`` of the period: an abrupt
    jump between steady stretches. A change of tempo, or the slow swell of a rubato or a
    ritardando (gaps leaving the period a few per cent at a time), is not a slip.

    Examples
    --------
    >>> grid = np.r_[np.arange(0, 400, 40.0), np.arange(420, 800, 40.0)]
    >>> phase_slips(grid)
    [PhaseSlip(first=9, last=10, shift=0.5)]
    """
    beats = np.asarray(beat_frames, dtype=np.float64)
    if beats.size < 2 * context + 2:
        return []
    gaps = np.diff(beats)
    period = float(np.median(gaps))
    if period <= 0:
        return []
    deviation = gaps / period - 1.0
    slips = []
    for first, last in _off_runs(deviation, off_period):
        shift = float(deviation[first : last + 1].sum())
        before = gaps[max(0, first - context) : first]
        after = gaps[last + 1 : last + 1 + context]
        if (last - first + 1 > max_run or abs(abs(shift) - 0.5) > tolerance
                or before.size < 2 or after.size < 2):
            continue
        if np.max(np.abs(np.r_[before, after] / period - 1.0)) > steady:
            continue
        slips.append(PhaseSlip(first=first, last=last + 1, shift=round(shift, 3)))
    return slips


def minority_spans(beat_frames: np.ndarray, slips: list[PhaseSlip]) -> list[tuple[float, float]]:
    """Frame spans the grid covers at the phase it holds for fewer beats (empty when there
    are no slips or the two phases hold as many beats). Each span runs from the middle of the
    slip before it to the middle of the slip after it (or the grid's end)."""
    beats = np.asarray(beat_frames, dtype=np.float64)
    if not slips:
        return []
    # section k runs from the beat after slip k-1 to the beat before slip k
    starts = np.array([0] + [s.last for s in slips])
    ends = np.array([s.first for s in slips] + [beats.size - 1])
    phase = np.concatenate([[0.0], np.cumsum([s.shift for s in slips])])
    half = np.round(2 * phase).astype(int) % 2
    counts = np.bincount(half, weights=ends - starts + 1, minlength=2)
    if counts[0] == counts[1]:
        return []
    minority = int(np.argmin(counts))
    mids = [0.5 * (beats[s.first] + beats[s.last]) for s in slips]
    bounds = [-np.inf, *mids, np.inf]
    return [(bounds[k], bounds[k + 1]) for k in range(starts.size) if half[k] == minority]


def shift_spans(activation: np.ndarray, spans: list[tuple[float, float]],
                shift_frames: float) -> np.ndarray:
    """A copy of ``activation`` whose frames inside ``spans`` read the activation
    ``shift_frames`` later (clipped at the end), so what the network heard half a beat off
    lines up with the rest of the grid."""
    act = np.asarray(activation)
    out = act.copy()
    n = act.shape[-1]
    frames = np.arange(n)
    step = round(shift_frames)
    for lo, hi in spans:
        inside = frames[(frames >= lo) & (frames < hi)]
        out[..., inside] = act[..., np.minimum(inside + step, n - 1)]
    return out


def mend_phase_slips(
    beat: np.ndarray, down: np.ndarray, beat_frames: np.ndarray,
    track: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The beat and downbeat activations and the grid ``track`` finds on them, with the
    sections the grid ``beat_frames`` holds at its minority phase moved half a beat (the
    inputs unchanged when the grid has no slip)."""
    spans = minority_spans(beat_frames, phase_slips(beat_frames))
    if not spans:
        return beat, down, beat_frames
    half_beat = 0.5 * float(np.median(np.diff(beat_frames)))
    beat, down = (shift_spans(a, spans, half_beat) for a in (beat, down))
    return beat, down, track(beat)
