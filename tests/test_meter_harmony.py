"""Harmony that changes on every second beat makes a bar of two.

A rock beat (kick on one and three, snare on two and four) repeats every two beats, so
accents alone cannot tell 2/4 from 4/4 and four wins by default. Where the chords change
says which: every second beat, never on a four-beat cycle, is a bar of two; unless the beat
is so slow (under 60 a minute) that this is two chords in a bar of four.
"""

from __future__ import annotations

import numpy as np
import pytest

from linernotes.analyzers.rhythm.bar_length import estimate_meter
from linernotes.analyzers.rhythm.beat_features import BeatFeatures

SIMPLE = np.array([1.0, 0, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, 0])  # eighths


def _features(chord_every: int, n: int = 96, seed: int = 0) -> BeatFeatures:
    """Faint accents alternating strong-weak, harmony changing every ``chord_every`` beats
    (with a little noise) and four features that do not repeat with the bar."""
    rng = np.random.default_rng(seed)
    accent = np.tile([1.0, 0.0], n // 2) + rng.standard_normal(n)
    harmony = (np.arange(n) % chord_every == 0).astype(float) + 0.2 * rng.standard_normal(n)
    z = np.column_stack([accent, harmony, rng.standard_normal((n, 4))])
    z = (z - z.mean(axis=0)) / z.std(axis=0)
    return BeatFeatures(periodic=z, downbeat=z.mean(axis=1), harmonic_change=z[:, 1])


@pytest.mark.parametrize("pulse_bpm", [70.0, 130.0])
def test_chords_every_second_beat_make_a_bar_of_two(pulse_bpm):
    meter = estimate_meter(_features(2), subdivision=SIMPLE, pulse_bpm=pulse_bpm)
    assert (meter.pulses_per_bar, meter.decision) == (2, "two_or_four")
    assert meter.phase == 0
    assert meter.alternative == (4, False)
    assert 0.5 < meter.confidence < 0.8  # a coin toss the review still shows


def test_chords_every_fourth_beat_keep_a_bar_of_four():
    meter = estimate_meter(_features(4), subdivision=SIMPLE, pulse_bpm=130.0)
    assert meter.pulses_per_bar == 4
    assert meter.phase == 0


@pytest.mark.parametrize("pulse_bpm", [50.0, None])
def test_a_slow_or_unknown_pulse_keeps_the_default_four(pulse_bpm):
    # Under 60 beats a minute, chords every two beats are a half-bar harmonic rhythm in 4/4
    # (bars of two would last over two seconds); without a tempo the rule does not apply.
    meter = estimate_meter(_features(2), subdivision=SIMPLE, pulse_bpm=pulse_bpm)
    assert meter.pulses_per_bar == 4


def test_features_without_a_harmony_column_keep_the_default_four():
    f = _features(2)
    meter = estimate_meter(
        BeatFeatures(periodic=f.periodic, downbeat=f.downbeat),
        subdivision=SIMPLE,
        pulse_bpm=130.0,
    )
    assert meter.pulses_per_bar == 4
