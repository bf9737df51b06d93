"""Half-beat slips of a tracked grid (`rhythm/phase_slip.py`): found where the grid jumps
half a beat between steady stretches, not in a rubato's swell, and mended by reading the
section the grid holds for fewer beats half a beat later."""

from __future__ import annotations

import numpy as np

from linernotes.analyzers.rhythm.beat_tracking import track_steady_beats
from linernotes.analyzers.rhythm.phase_slip import (
    mend_phase_slips,
    minority_spans,
    phase_slips,
    shift_spans,
)

PERIOD = 40.0


def _grid_with_slip(n_before: int, n_inside: int, n_after: int) -> np.ndarray:
    """A steady grid that jumps half a beat late for ``n_inside`` beats and back."""
    a = np.arange(n_before) * PERIOD
    b = a[-1] + PERIOD * 1.5 + np.arange(n_inside) * PERIOD
    c = b[-1] + PERIOD * 0.5 + np.arange(n_after) * PERIOD
    return np.r_[a, b, c]


def test_an_abrupt_half_beat_jump_is_a_slip_and_its_return_too() -> None:
    slips = phase_slips(_grid_with_slip(12, 8, 12))
    assert [round(s.shift, 2) for s in slips] == [0.5, -0.5]
    assert slips[0].first == 11


def test_a_rubato_swell_and_a_change_of_tempo_are_not_slips() -> None:
    swell = 1 + np.r_[np.zeros(10), [0.05, 0.09, 0.12, 0.14, 0.14, 0.11, 0.06], np.zeros(10)]
    assert phase_slips(np.r_[0, np.cumsum(swell * PERIOD)]) == []
    change = np.r_[np.full(12, PERIOD), np.full(12, PERIOD * 1.2)]
    assert phase_slips(np.r_[0, np.cumsum(change)]) == []


def test_the_section_held_for_fewer_beats_is_the_one_moved() -> None:
    grid = _grid_with_slip(12, 8, 12)
    spans = minority_spans(grid, phase_slips(grid))
    assert len(spans) == 1
    lo, hi = spans[0]
    inside = grid[(grid >= lo) & (grid < hi)]
    assert np.allclose((inside / PERIOD) % 1, 0.5)
    longer_inside = _grid_with_slip(6, 20, 6)
    spans = minority_spans(longer_inside, phase_slips(longer_inside))
    assert len(spans) == 2 and spans[0][0] == -np.inf and spans[1][1] == np.inf


def test_shift_spans_reads_the_activation_later_inside_the_spans_only() -> None:
    act = np.arange(100.0)
    out = shift_spans(act, [(10, 20)], 5)
    assert np.array_equal(out[10:20], act[15:25])
    assert np.array_equal(out[:10], act[:10]) and np.array_equal(out[20:], act[20:])


def _peaks(frames: np.ndarray, n: int) -> np.ndarray:
    t = np.arange(n)
    return np.exp(-0.5 * ((t[:, None] - frames[None, :]) / 2.0) ** 2).sum(axis=1)


def test_a_section_heard_half_a_beat_off_is_tracked_on_the_written_beat() -> None:
    written = np.arange(2, 48) * PERIOD
    heard = np.where((written > 18 * PERIOD) & (written < 30 * PERIOD),
                     written + PERIOD / 2, written)
    n = int(written[-1] + 2 * PERIOD)
    beat = _peaks(heard, n)
    down = _peaks(heard[::4], n)

    def track(activation: np.ndarray) -> np.ndarray:
        return track_steady_beats(activation, period_frames=PERIOD)

    before = track(beat)
    off = np.abs(((before / PERIOD) + 0.5) % 1 - 0.5) > 0.25
    assert off.sum() >= 8, "the tracker follows the section heard off the beat"
    beat2, down2, after = mend_phase_slips(beat, down, before, track)
    inside = (after > written[0] - 1) & (after < written[-1] + 1)
    assert np.all(np.abs(((after[inside] / PERIOD) + 0.5) % 1 - 0.5) < 0.05)
    assert not np.array_equal(down2, down) and not np.array_equal(beat2, beat)
    unchanged = mend_phase_slips(beat, down, written, track)
    assert unchanged[2] is written


def test_short_empty_or_frozen_grids_have_no_slips() -> None:
    for grid in (np.array([]), np.array([5.0]), np.zeros(20), np.arange(8) * PERIOD):
        assert phase_slips(grid) == []
        assert minority_spans(grid, []) == []
