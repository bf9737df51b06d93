"""What a bar of three tracked pulses is: three beats, or a compound bar tracked off the beat.

When the bar-length fit finds three tracked pulses per bar, three readings give the same
grid of bars:

* ``beats``: the pulses are the beats of a 3/4 (or 3/8) bar;
* ``eighths``: they are the eighth notes of a compound metre, three to each felt beat (6/8 or
  12/8 tracked at the eighth note, common above about 140 pulses per minute);
* ``two_eighths``: they are pairs of eighth notes of a 6/8 bar, the hemiola that 6/8 played
  without drums is often tracked at, and the felt dotted-quarter beat falls half way between
  the second and third pulse.

The onsets across the bar tell them apart. Cut into sixths, a 3/4 bar has its beats at the
second and fourth sixth (on the pulses); a 6/8 bar has its second beat at the half (the third
sixth) and only weak eighths on the pulses after the first; a bar of three eighths repeats
every felt beat, so a bar of six pulses adds to the fit of three (:func:`triple_bar_evidence`).
Two logistic models (:data:`EIGHTHS_WEIGHTS`, :data:`TWO_EIGHTHS_WEIGHTS`) weigh that evidence
and the pulse tempo; the likelier compound reading wins when its probability exceeds one half
(:func:`triple_bar_reading`).

The weights are fitted by ``bench/meter_readings`` on the bars of three found in rendered
songs. Drumless strings remain a coin toss: their sustained chords leave the bar's onsets
nearly flat, so neither reading has evidence; with flat evidence the models read such a bar
as two eighths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

import numpy as np
import scipy.ndimage

from linernotes.analyzers.fitted import logistic_probability, weights_for
from linernotes.analyzers.rhythm.bar_length import MeterEstimate, fit_gain, meter_confidence
from linernotes.analyzers.rhythm.beat_tracking import double_pulses
from linernotes.analyzers.rhythm.subdivision import onset_log_ratio, subdivision_profile

__all__ = [
    "EIGHTHS_WEIGHTS",
    "TRIPLE_BAR_FEATURES",
    "TWO_EIGHTHS_WEIGHTS",
    "TripleBarReading",
    "regroup_as_compound",
    "triple_bar_evidence",
    "triple_bar_probability",
    "triple_bar_reading",
]

TripleBarReading = Literal["beats", "eighths", "two_eighths"]

#: Sixths of the bar after the downbeat, as indices of a 12-point bar profile.
_SIXTHS = (2, 4, 6, 8, 10)

#: The evidence :func:`triple_bar_evidence` measures, in the order of the weights: the log
#: ratio of the onset strength at each sixth of the bar to that at the downbeat, in the full
#: onset envelope and in the high band (cymbals, attacks of bright instruments); the log2
#: pulse tempo over 100 per minute; the share of the variance left by a bar of three pulses
#: that a bar of six explains.
TRIPLE_BAR_FEATURES: tuple[str, ...] = (
    *(f"sixth{k}_{band}" for band in ("full", "high") for k in range(1, 6)),
    "log2_tempo",
    "six_over_three",
)

#: Logistic weights (bias first, then :data:`TRIPLE_BAR_FEATURES`) of "the pulses are the
#: eighth notes of a compound metre" and "the pulses are pairs of eighths of a 6/8 bar"
#: (models ``bar_of_three_eighths`` and ``bar_of_three_two_eighths`` of the weights file).
EIGHTHS_WEIGHTS: tuple[float, ...] = weights_for("bar_of_three_eighths", TRIPLE_BAR_FEATURES)
TWO_EIGHTHS_WEIGHTS: tuple[float, ...] = weights_for(
    "bar_of_three_two_eighths", TRIPLE_BAR_FEATURES
)


def triple_bar_evidence(
    envelope: np.ndarray,
    high_envelope: np.ndarray,
    pulse_frames: np.ndarray,
    meter: MeterEstimate,
    *,
    pulse_bpm: float,
) -> dict[str, float]:
    """What the onsets across a bar of three tracked pulses say about its reading.

    Parameters
    ----------
    envelope, pulse_frames : np.ndarray
        The onset envelope and the pulses tracked on it, as for
        :func:`.tempo_octave.octave_evidence`.
    high_envelope : np.ndarray, shape (n_frames,)
        Onset envelope of the high band (:attr:`.onsets.OnsetBands.high`), unsmoothed.
    meter : MeterEstimate
        A bar of three pulses (``pulses_per_bar`` 3, ``phase`` its first downbeat).
    pulse_bpm : float
        Tempo of the tracked pulses.

    Returns
    -------
    dict
        One value per name of :data:`TRIPLE_BAR_FEATURES`.
    """
    pulses = np.asarray(pulse_frames, dtype=np.float64)
    bars = pulses[meter.phase % 3 :: 3]
    high = scipy.ndimage.gaussian_filter1d(np.asarray(high_envelope, np.float64), 1.0)
    evidence: dict[str, float] = {}
    for band, env in (("full", np.asarray(envelope, np.float64)), ("high", high)):
        prof = subdivision_profile(env, bars, n_points=12)
        for k, i in enumerate(_SIXTHS, start=1):
            evidence[f"sixth{k}_{band}"] = onset_log_ratio(prof[i], prof[0])
    evidence["log2_tempo"] = float(np.log2(max(pulse_bpm, 1e-9) / 100.0))
    evidence["six_over_three"] = fit_gain(meter.fit.get(6, 0.0), meter.fit.get(3, 0.0))
    return evidence


def triple_bar_probability(evidence: Mapping[str, float], weights: tuple[float, ...]) -> float:
    """Probability of one compound reading (:data:`EIGHTHS_WEIGHTS` or
    :data:`TWO_EIGHTHS_WEIGHTS`) given the evidence of :func:`triple_bar_evidence`."""
    return logistic_probability(weights, evidence, TRIPLE_BAR_FEATURES)


def triple_bar_reading(evidence: Mapping[str, float]) -> tuple[TripleBarReading, float]:
    """The reading of a bar of three pulses and its probability.

    A compound reading is chosen when it is the likelier of the two and its probability is
    over one half; otherwise the pulses are the beats, with probability one minus the
    likelier compound reading's.
    """
    p_eighths = triple_bar_probability(evidence, EIGHTHS_WEIGHTS)
    p_two = triple_bar_probability(evidence, TWO_EIGHTHS_WEIGHTS)
    if max(p_eighths, p_two) <= 0.5:
        return "beats", 1.0 - max(p_eighths, p_two)
    if p_eighths >= p_two:
        return "eighths", p_eighths
    return "two_eighths", p_two


def regroup_as_compound(
    pulse_frames: np.ndarray, meter: MeterEstimate, *, min_bars: int = 4
) -> tuple[np.ndarray, MeterEstimate]:
    """Split a bar of three tracked pulses (the ``two_eighths`` reading) into the six eighth
    notes of a 6/8 bar in two compound beats.

    Returns
    -------
    (pulse_frames, meter)
        The eighth-note pulses (midpoints added) and a metre of six pulses per bar grouped in
        threes; unchanged when the bar is not three simple pulses or spans fewer than
        ``min_bars`` bars.
    """
    p = np.asarray(pulse_frames, dtype=np.float64)
    if meter.pulses_per_bar != 3 or meter.pulse_group != 1 or meter.compound:
        return pulse_frames, meter
    if p[meter.phase :: 3].size < min_bars:
        return pulse_frames, meter
    eighths = double_pulses(p)
    bar_phase = None
    if meter.bar_phase is not None:
        bar_phase = np.repeat(2 * meter.bar_phase, 2)[: eighths.size]
    regrouped = replace(meter, pulses_per_bar=6, phase=2 * meter.phase, pulse_group=3,
                        compound=True, bar_phase=bar_phase, decision="regrouped",
                        decision_margin=0.0, confidence=meter_confidence("regrouped"))
    return eighths, regrouped
