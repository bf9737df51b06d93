"""Tests of the octave check: pulses tracked at half or twice the felt beat are recognised.

The envelopes are built here as onset impulses at known positions inside each tracked pulse,
so the evidence and the decision follow from the rhythm that was written, not from a model
of any instrument.
"""

from __future__ import annotations

import numpy as np
import pytest
from onset_patterns import FRAME_RATE, pulse_envelopes

from linernotes.analyzers.rhythm.beat_tracking import double_pulses
from linernotes.analyzers.rhythm.tempo_octave import (
    DOUBLE_WEIGHTS,
    HALF_WEIGHTS,
    MIN_DOUBLE,
    OCTAVE_FEATURES,
    halve_pulses,
    octave_decision,
    octave_evidence,
    octave_probability,
)

#: Two 200-BPM beats of a rock pattern in one 100-BPM pulse: kick, hi-hat eighths, snare on
#: the second beat (half way through the pulse).
TWO_FAST_BEATS = {
    0.0: (1.0, 0.3, 0.6),
    0.25: (0.0, 0.05, 0.5),
    0.5: (0.1, 1.0, 0.8),
    0.75: (0.0, 0.05, 0.5),
}
#: One 100-BPM beat divided in two: kick and chord on the beat, a hi-hat off-beat.
ONE_BEAT_IN_EIGHTHS = {0.0: (1.0, 0.8, 0.6), 0.5: (0.05, 0.15, 0.3)}
#: One 70-BPM beat with a light off-beat: no reason to double.
SLOW_BEAT = {0.0: (1.0, 0.7, 0.5), 0.5: (0.0, 0.15, 0.1)}


def _decide(bpm: float, pattern: dict[float, tuple[float, float, float]]):
    env, bands, pulses = pulse_envelopes(bpm, pattern)
    return octave_decision(octave_evidence(env, bands, pulses, frame_rate=FRAME_RATE))


def test_features_are_named_in_weight_order():
    env, bands, pulses = pulse_envelopes(100.0, ONE_BEAT_IN_EIGHTHS)
    evidence = octave_evidence(env, bands, pulses, frame_rate=FRAME_RATE)
    assert tuple(evidence) == OCTAVE_FEATURES
    assert len(DOUBLE_WEIGHTS) == len(HALF_WEIGHTS) == len(OCTAVE_FEATURES) + 1
    assert all(np.isfinite(v) for v in evidence.values())
    assert evidence["log2_tempo"] == pytest.approx(0.0, abs=0.01)


def test_a_pulse_holding_two_beats_is_doubted_and_doubled_when_asked():
    """The shipped check never doubles (the model over-doubles real music), but its doubt
    still lowers the probability that the pulse is the beat."""
    env, bands, pulses = pulse_envelopes(100.0, TWO_FAST_BEATS)
    evidence = octave_evidence(env, bands, pulses, frame_rate=FRAME_RATE)
    assert evidence["quarter_high"] > evidence["eighth_high"]
    decision, pulse_is_beat = octave_decision(evidence)
    assert decision is None and pulse_is_beat < 0.5
    assert octave_decision(evidence, min_double=0.75)[0] == "double"


def test_doubling_needs_the_model_to_be_min_double_sure():
    """Below ``min_double`` the pulse is kept, and its low probability of being the beat is
    returned so that the tempo is marked for review."""
    env, bands, pulses = pulse_envelopes(100.0, TWO_FAST_BEATS)
    evidence = octave_evidence(env, bands, pulses, frame_rate=FRAME_RATE)
    p_double = octave_probability(evidence, DOUBLE_WEIGHTS)
    assert octave_decision(evidence, min_double=p_double - 1e-6)[0] == "double"
    kept, pulse_is_beat = octave_decision(evidence, min_double=min(p_double + 1e-6, 1.0))
    assert kept is None and pulse_is_beat == pytest.approx(1.0 - p_double)
    assert MIN_DOUBLE >= 1.0  # off


@pytest.mark.parametrize(("bpm", "pattern"), [(100.0, ONE_BEAT_IN_EIGHTHS), (70.0, SLOW_BEAT)])
def test_a_beat_divided_in_two_is_kept(bpm, pattern):
    decision, pulse_is_beat = _decide(bpm, pattern)
    assert decision is None and pulse_is_beat > 0.5


def test_fast_pulses_that_alternate_beat_and_off_beat_are_halved():
    env, bands, pulses = pulse_envelopes(140.0, {0.0: (1.0, 0.9, 0.8)})
    for p in pulses[1::2]:  # every other pulse is the weaker off-beat
        i = round(p)
        bands[:, i : i + 4] *= 0.25
    env = bands.mean(axis=0)
    evidence = octave_evidence(env, bands, pulses, frame_rate=FRAME_RATE)
    decision, pulse_is_beat = octave_decision(evidence)
    assert decision == "half" and pulse_is_beat < 0.5
    assert halve_pulses(env, pulses).tolist() == pulses[0::2].tolist()
    assert halve_pulses(env, pulses[1:]).tolist() == pulses[2::2].tolist()


def test_double_pulses_puts_one_pulse_half_way():
    assert double_pulses(np.array([10.0, 20.0, 40.0])).tolist() == [10.0, 15.0, 20.0, 30.0, 40.0]
    assert double_pulses(np.array([5.0])).tolist() == [5.0]
