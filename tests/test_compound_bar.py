"""Tests of the choice between 6/8 and 12/8 (two or four felt beats in a compound bar).

Beat-synchronous features are built directly: a 12/8 bar whose first beat carries a stronger
accent, louder sound and the chord change while the third does not; a 6/8 bar where every
other beat is a downbeat alike; and noise alone, as in a short clip. The bar of four must be
placed on the real downbeat, and a metre on tracked eighths must keep its felt-beat offset.
"""

from __future__ import annotations

import numpy as np
import pytest

from linernotes.analyzers.rhythm.bar_length import MeterEstimate, meter_confidence
from linernotes.analyzers.rhythm.beat_features import BeatFeatures
from linernotes.analyzers.rhythm.compound_bar import (
    COMPOUND_BAR_FEATURES,
    TWELVE_WEIGHTS,
    compound_bar,
    compound_bar_evidence,
    twelve_probability,
)

#: Column of each feature in :attr:`BeatFeatures.periodic` (the first eight are contrasted).
ACCENT, LOW, LOUDNESS, CHORD = 0, 1, 4, 5


def felt_features(
    per_bar_pattern: dict[int, np.ndarray],
    n_beats: int,
    *,
    offset: int = 0,
    noise: float = 0.3,
    seed: int = 0,
) -> BeatFeatures:
    """Features of ``n_beats`` felt beats: each column follows its pattern (one value per
    position of a bar of four felt beats, the bar starting at beat ``offset``) plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, noise, (n_beats, 16))
    pos = (np.arange(n_beats) - offset) % 4
    for col, pattern in per_bar_pattern.items():
        x[:, col] += np.asarray(pattern)[pos]
    downbeat = x[:, [ACCENT, LOW, LOUDNESS, CHORD]].mean(axis=1)
    return BeatFeatures(periodic=x, downbeat=downbeat)


#: 12/8: the one is the bar's accent, loudest beat and chord change; the three is a weaker
#: group start.
TWELVE = {
    ACCENT: np.array([2.0, 0.0, 1.0, 0.0]),
    LOW: np.array([2.0, 0.0, 1.0, 0.0]),
    LOUDNESS: np.array([1.5, 0.0, 0.5, 0.0]),
    CHORD: np.array([2.0, 0.0, 0.0, 0.0]),
}
#: 6/8: the one and the three are both downbeats, with the same accents and chord changes.
SIX = {col: np.array([v[0], v[1], v[0], v[1]]) for col, v in TWELVE.items()}


def compound_meter(pulse_group: int = 1, phase: int = 0) -> MeterEstimate:
    return MeterEstimate(
        2 * pulse_group,
        phase,
        pulse_group,
        True,
        meter_confidence("six_or_twelve"),
        {},
        np.zeros(12),
        decision="six_or_twelve" if pulse_group == 1 else "eighths",
    )


def test_weights_match_the_features():
    assert len(TWELVE_WEIGHTS) == len(COMPOUND_BAR_FEATURES) + 1


def test_contrast_between_one_and_three_reads_twelve_eight():
    evidence = compound_bar_evidence(felt_features(TWELVE, 48))
    assert evidence["accent_1v3"] > 3 and evidence["chroma_change_1v3"] > 3
    assert twelve_probability(evidence) > 0.9


def test_equal_downbeats_read_six_eight():
    evidence = compound_bar_evidence(felt_features(SIX, 48))
    assert abs(evidence["accent_1v3"]) < 3
    assert twelve_probability(evidence) < 0.2


def test_noise_of_a_short_clip_rarely_makes_a_bar_of_four():
    # Ten bars of 6/8 (twenty felt beats) with noise as large as the accents: the contrasts
    # count in standard errors, so chance differences between the one and the three seldom
    # pass for a 12/8 bar.
    p = [
        twelve_probability(compound_bar_evidence(felt_features(SIX, 20, noise=1.0, seed=s)))
        for s in range(20)
    ]
    assert sum(v > 0.5 for v in p) <= 2
    assert float(np.median(p)) < 0.2


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_bar_of_four_starts_on_the_downbeat(offset):
    meter, evidence = compound_bar(compound_meter(), felt_features(TWELVE, 48, offset=offset))
    assert evidence is not None
    assert meter.pulses_per_bar == 4 and meter.compound
    assert meter.bar_position(48)[offset] == 0
    assert meter.decision_margin > 0.4
    expected = meter_confidence("six_or_twelve", meter.decision_margin)
    assert meter.confidence == pytest.approx(expected)


def test_tracked_eighths_keep_their_felt_beat():
    # Eighth-note pulses with the felt beat on the second pulse of each three (phase 1): the
    # twelve-eighth bar must start on a felt beat, the downbeat of the pattern.
    meter, _ = compound_bar(
        compound_meter(pulse_group=3, phase=1), felt_features(TWELVE, 40, offset=2)
    )
    assert meter.pulses_per_bar == 12 and meter.pulse_group == 3
    assert meter.phase % 3 == 1
    assert (meter.phase - 1) // 3 % 4 == 2


def test_six_eight_keeps_its_bar():
    before = compound_meter(phase=1)
    meter, _ = compound_bar(before, felt_features(SIX, 48, offset=1))
    assert meter.pulses_per_bar == 2 and meter.phase == before.phase


def test_too_few_beats_leave_the_metre_alone():
    before = compound_meter()
    meter, evidence = compound_bar(before, felt_features(TWELVE, 8))
    assert evidence is None and meter is before


def test_a_chord_held_over_two_slow_bars_of_two_makes_a_bar_of_four():
    # The one and the three alike in accent, the bass a little stronger on the one, and the
    # chord changing only on the one: at 60 dotted quarters a minute a bar of two would last
    # two seconds and carry its own chord, so this is 12/8; at 110 (a jig) chords often last
    # two bars of 6/8 and the contrast says nothing.
    pattern = {**SIX, CHORD: np.array([2.0, 0.0, 0.0, 0.0]), LOW: np.array([2.0, 0.0, 1.0, 0.0])}
    slow = [
        compound_bar_evidence(felt_features(pattern, 48, seed=s), felt_bpm=60.0) for s in range(10)
    ]
    fast = [
        compound_bar_evidence(felt_features(pattern, 48, seed=s), felt_bpm=110.0) for s in range(10)
    ]
    assert all(e["slow_chroma_change_1v3"] == e["chroma_change_1v3"] > 3 for e in slow)
    assert all(e["slow_chroma_change_1v3"] == 0.0 for e in fast)
    assert min(twelve_probability(e) for e in slow) > 0.9
    assert float(np.median([twelve_probability(e) for e in fast])) < 0.5
