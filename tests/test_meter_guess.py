"""A metre is guessed, with a low confidence, when no bar length fits the beats.

Chorales and fiddle tunes played without accents leave bars too faint to fit; a guess at
the commonest bar (flagged for review by its confidence) gives them downbeats, where no
metre at all gave none. A guess never changes the tempo: it is read at the tracked pulse.
"""

from __future__ import annotations

import numpy as np
import pytest

from linernotes.analyzers.rhythm.bar_length import (
    GUESS_CONFIDENCE,
    estimate_meter,
    meter_confidence,
)
from linernotes.analyzers.rhythm.beat_features import BeatFeatures
from linernotes.reconcile.review import REVIEW_BELOW

SIMPLE = np.array([1.0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0])  # eighths
TRIPLETS = np.array([1.0, 0, 0, 0, 0.6, 0, 0, 0, 0.6, 0, 0, 0])


def _features(periodic: np.ndarray, downbeat: np.ndarray | None = None) -> BeatFeatures:
    n = periodic.shape[0]
    return BeatFeatures(periodic=periodic, downbeat=np.zeros(n) if downbeat is None else downbeat)


def _pattern(bar: int, n: int = 96, noise: float = 0.0, seed: int = 0) -> BeatFeatures:
    """A downbeat accent every ``bar`` beats, plus Gaussian noise of that scale."""
    rng = np.random.default_rng(seed)
    accent = (np.arange(n) % bar == 1).astype(float)
    periodic = np.column_stack([accent, accent]) + noise * rng.standard_normal((n, 2))
    return _features(periodic, accent)


def test_beats_without_any_bar_get_a_guessed_four_four_flagged_for_review():
    noise = np.random.default_rng(3).standard_normal((96, 4))
    meter = estimate_meter(_features(noise), subdivision=SIMPLE)
    assert max(meter.fit[m] for m in (2, 3, 4)) < 0.02  # nothing fits: before, no metre
    assert meter.decision == "guess"
    assert (meter.pulses_per_bar, meter.pulse_group, meter.compound) == (4, 1, False)
    assert meter.confidence == GUESS_CONFIDENCE < REVIEW_BELOW
    assert meter.alternative == (3, False)


def test_a_faint_bar_of_three_is_guessed_as_three_beats_never_as_eighths():
    # A clear bar of three, but a fit floor above it: the guess keeps its length and, unlike
    # a fitted bar of three, is never split into the eighths of 6/8 (a new tempo).
    meter = estimate_meter(_pattern(3), subdivision=SIMPLE, min_fit=1.1, bar_of_three="eighths")
    assert meter.decision == "guess"
    assert (meter.pulses_per_bar, meter.pulse_group) == (3, 1)
    assert meter.phase == 1  # the guessed bar still starts on the strongest beats
    assert meter.alternative == (4, False)
    fitted = estimate_meter(_pattern(3), subdivision=SIMPLE, bar_of_three="eighths")
    assert (fitted.pulses_per_bar, fitted.pulse_group) == (6, 3)


def test_a_guess_with_beats_in_three_is_two_compound_beats():
    noise = np.random.default_rng(5).standard_normal((96, 4))
    meter = estimate_meter(_features(noise), subdivision=TRIPLETS)
    assert meter.decision == "guess"
    assert (meter.pulses_per_bar, meter.compound) == (2, True)
    assert meter.alternative == (3, False)


def test_fitted_bars_are_not_guesses():
    meter = estimate_meter(_pattern(4, noise=0.3), subdivision=SIMPLE)
    assert meter.decision == "two_or_four" and meter.pulses_per_bar == 4
    assert meter.confidence > GUESS_CONFIDENCE


@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_guess_confidence_ignores_the_margin(margin):
    assert meter_confidence("guess", margin) == GUESS_CONFIDENCE
