"""Compound beats start on the long notes (linernotes.analyzers.rhythm.compound_phase)."""

from __future__ import annotations

import numpy as np

from linernotes.analyzers.rhythm.compound_phase import long_note_phase, rephase_compound_beats

FRAME_RATE = 22050 / 256
EIGHTH = 0.2 * FRAME_RATE  # 100 dotted quarters a minute


def _envelope(figure: list[float], n_beats: int = 45) -> np.ndarray:
    """Onset strengths of ``figure`` (one value per eighth of a beat, 0 = no onset) repeated
    over ``n_beats`` beats starting at frame 10."""
    env = np.zeros(int((n_beats + 2) * 3 * EIGHTH))
    for k in range(n_beats):
        for j, strength in enumerate(figure):
            if strength:
                env[round(10 + (3 * k + j) * EIGHTH)] = strength
    return env


def _beats(first_eighth: int, n: int = 44) -> np.ndarray:
    return 10 + first_eighth * EIGHTH + np.arange(n) * 3 * EIGHTH


def test_beats_tracked_on_the_short_note_move_to_the_long_one() -> None:
    """Quarter-eighth figures whose eighth is the louder onset (as the flux after a held note
    is): beats tracked on the eighth move one eighth later, onto the quarter."""
    env = _envelope([1.0, 0.0, 1.6])
    offset, rates = long_note_phase(env, _beats(2))
    assert offset == 1 and rates[1] > 0.9 and rates[0] < 0.1
    moved = rephase_compound_beats(env, _beats(2))
    assert np.allclose(moved, _beats(3)[: moved.size], atol=1e-6)


def test_beats_already_on_the_long_note_stay() -> None:
    env = _envelope([1.0, 0.0, 1.6])
    beats = _beats(0)
    assert long_note_phase(env, beats)[0] == 0
    assert np.array_equal(rephase_compound_beats(env, beats), beats)


def test_running_eighths_give_no_reason_to_move() -> None:
    env = _envelope([1.0, 1.0, 1.0])
    offset, rates = long_note_phase(env, _beats(1))
    assert offset == 0 and np.all(rates == 0)


def test_a_few_long_notes_are_not_enough() -> None:
    """Long notes on one beat in ten (below ``min_gain``) leave the grid alone."""
    env = _envelope([1.0, 1.0, 1.0])
    for k in range(0, 45, 10):
        env[round(10 + (3 * k + 2) * EIGHTH)] = 0.0  # eighth 1 of beat k holds into eighth 2
    assert long_note_phase(env, _beats(0))[0] == 0


def test_too_few_beats_or_silence_change_nothing() -> None:
    assert long_note_phase(_envelope([1.0, 0.0, 1.0]), _beats(2, n=5))[0] == 0
    assert long_note_phase(np.zeros(5000), _beats(0))[0] == 0
