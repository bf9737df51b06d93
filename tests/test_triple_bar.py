"""Tests of the reading of a bar of three tracked pulses: 3/4 beats, the eighth notes of a
compound metre, or pairs of eighths of a 6/8 bar.

The same 6/8 rhythm is tracked two ways (at every eighth, and at every second eighth) and
each grid must come out as the dotted-quarter beat; a waltz must stay in three.
"""

from __future__ import annotations

import numpy as np
import pytest
from onset_patterns import FRAME_RATE, pulse_envelopes

from linernotes.analyzers.rhythm.bar_length import MeterEstimate, bar_fit
from linernotes.analyzers.rhythm.triple_bar import (
    EIGHTHS_WEIGHTS,
    TRIPLE_BAR_FEATURES,
    TWO_EIGHTHS_WEIGHTS,
    regroup_as_compound,
    triple_bar_evidence,
    triple_bar_reading,
)

#: A 3/4 bar: bass and chord on the downbeat, chords on beats two and three.
WALTZ = {0.0: (1.0, 0.6, 0.5), 1 / 3: (0.05, 0.5, 0.4), 2 / 3: (0.05, 0.5, 0.4)}
#: A 6/8 bar of eighth notes: strong first, medium fourth, the others weak.
SIX_EIGHT = {k / 6: (s, s, s) for k, s in enumerate((1.0, 0.25, 0.25, 0.6, 0.25, 0.25))}


def _read(bar_bpm: float, pattern: dict, pulses_per_bar: int):
    """Evidence and reading of ``pattern`` tracked with ``pulses_per_bar`` even pulses per bar
    and taken as a bar of three of them."""
    env, bands, bars = pulse_envelopes(bar_bpm, pattern)
    period = float(np.median(np.diff(bars)))
    pulses = (bars[:, None] + period * np.arange(pulses_per_bar)[None, :] / pulses_per_bar).ravel()
    strength = np.interp(pulses, np.arange(env.size), env)[:, None]
    fit = bar_fit(strength, [3, 6])
    meter = MeterEstimate(3, 0, 1, False, 0.9, fit, np.zeros(12), decision="triple")
    pulse_bpm = bar_bpm * pulses_per_bar
    evidence = triple_bar_evidence(env, bands[2], pulses, meter, pulse_bpm=pulse_bpm)
    return evidence, triple_bar_reading(evidence), pulses, meter


def test_features_are_named_in_weight_order():
    evidence, _, _, _ = _read(40.0, WALTZ, 3)
    assert tuple(evidence) == TRIPLE_BAR_FEATURES
    assert len(EIGHTHS_WEIGHTS) == len(TWO_EIGHTHS_WEIGHTS) == len(TRIPLE_BAR_FEATURES) + 1
    assert all(np.isfinite(v) for v in evidence.values())
    assert evidence["log2_tempo"] == pytest.approx(np.log2(1.2))


def test_a_waltz_stays_in_three():
    evidence, (reading, probability), _, _ = _read(40.0, WALTZ, 3)
    # The beats carry the onsets, the half bar none.
    assert evidence["sixth2_full"] > evidence["sixth3_full"]
    assert reading == "beats" and probability > 0.5


def test_six_eight_tracked_in_pairs_of_eighths_is_regrouped():
    # Dotted quarter 75 per minute: eighths at 225, tracked every second eighth (112.5).
    evidence, (reading, probability), pulses, meter = _read(37.5, SIX_EIGHT, 3)
    assert evidence["sixth3_full"] > evidence["sixth2_full"]
    assert reading == "two_eighths" and probability > 0.5
    eighths, regrouped = regroup_as_compound(pulses, meter)
    assert regrouped.pulses_per_bar == 6 and regrouped.pulse_group == 3
    assert regrouped.compound and regrouped.decision == "regrouped"
    felt_bpm = 60.0 * FRAME_RATE / float(np.median(np.diff(eighths[regrouped.phase :: 3])))
    assert felt_bpm == pytest.approx(75.0, rel=0.02)


def test_six_eight_tracked_at_the_eighths_is_read_as_eighths():
    # Dotted quarter 60 per minute: every eighth (180 per minute) tracked.
    evidence, (reading, probability), _, _ = _read(30.0, SIX_EIGHT, 6)
    assert evidence["six_over_three"] > 0.3  # a bar of six explains what three leave
    assert reading == "eighths" and probability > 0.5


def test_regrouping_needs_a_bar_of_three_simple_pulses():
    _, _, pulses, meter = _read(37.5, SIX_EIGHT, 3)
    four = MeterEstimate(4, 0, 1, False, 0.9, {}, np.zeros(12), decision="two_or_four")
    assert regroup_as_compound(pulses, four)[1] is four
    assert regroup_as_compound(pulses[:9], meter)[1] is meter
