"""How many pulses make a bar: the bar length from beat-synchronous features.

For each candidate number of beats per bar ``m``, the features of :mod:`.beat_features` are
grouped by position in the bar (``i mod m``) and the share of their variance that the
positions explain (an ANOVA R², adjusted for the ``m`` fitted means) measures how well a bar
of ``m`` beats fits (:func:`bar_fit`). The best of the 2/4, 3/6 and 5/7 families wins, with a
preference for four over two and for three over six unless the longer bar adds clear
evidence. Between two and four, the harmony speaks first: chords that change on every second
beat and never on a cycle of four make a bar of two. Whether the beat divides into three
comes from :mod:`.subdivision`; a bar of three tracked pulses may also be the eighth notes of
a compound metre or pairs of them (:mod:`.triple_bar`), and a compound bar has two or four
felt beats (:mod:`.compound_bar`, :func:`with_felt_bar`). The downbeat phase is
:mod:`.bar_phase`'s. Every choice carries a calibrated confidence (:func:`meter_confidence`).

Examples
--------
>>> import numpy as np
>>> x = np.tile([3.0, 1.0, 1.0], 20)[:, None]  # accent on every third beat
>>> r2 = bar_fit(x, [2, 3, 4])
>>> max(r2, key=r2.get)
3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from linernotes.analyzers.fitted import logistic_probability, weights_for
from linernotes.analyzers.rhythm.bar_phase import phase_scores, place_bar
from linernotes.analyzers.rhythm.beat_features import BeatFeatures
from linernotes.analyzers.rhythm.subdivision import compound_probability

__all__ = [
    "GUESS_CONFIDENCE",
    "METER_DECISIONS",
    "METER_EVIDENCE",
    "MeterEstimate",
    "bar_fit",
    "estimate_meter",
    "fit_gain",
    "meter_confidence",
    "meter_evidence",
    "with_felt_bar",
]


@dataclass(frozen=True)
class MeterEstimate:
    """What :func:`estimate_meter` found, in units of the tracked pulses.

    ``pulses_per_bar`` tracked pulses make one bar and ``phase`` is the index of the first
    tracked pulse that starts a bar. ``pulse_group`` is 3 when the tracked pulses are the
    eighth notes of a compound metre (felt beat = three pulses), else 1. ``compound`` tells
    whether the felt beat divides into three. ``fit`` holds the adjusted R² by bar length.
    ``bar_phase`` (one entry per tracked pulse, or ``None`` when the phase is ``phase``
    throughout) holds the phase in force at each pulse where it changes along the track (see
    :func:`track_bar_phase`). ``decision`` names the choice that fixed the bar length (one of
    :data:`METER_DECISIONS`), ``decision_margin`` how far its evidence was from that choice's
    threshold, and ``confidence`` is :func:`meter_confidence` of them; :attr:`alternative`
    follows from the decision.
    """

    pulses_per_bar: int | None
    phase: int
    pulse_group: int
    compound: bool | None
    confidence: float
    fit: dict[int, float]
    subdivision: np.ndarray
    bar_phase: np.ndarray | None = None
    decision: str | None = None
    decision_margin: float = 0.0
    learned_alternative: tuple[int, bool] | None = None

    @property
    def alternative(self) -> tuple[int, bool] | None:
        """The bar that lost the decision, as (felt beats per bar, compound): four against
        two (and the reverse) in either subdivision, 6/8 against 3/4, 3/4 against compound
        eighths; for a guess, three beats against four or a compound bar and four against
        three; ``None`` for odd bars or no metre."""
        if self.pulses_per_bar is None:
            return None
        bar = self.pulses_per_bar // self.pulse_group
        if self.decision == "learned":
            return self.learned_alternative
        if self.decision == "guess":
            return (4 if bar == 3 and not self.compound else 3), False
        if self.decision in ("two_or_four", "six_or_twelve"):
            return (2 if bar == 4 else 4), bool(self.compound)
        if self.decision == "triple":
            return 2, True
        if self.decision in ("eighths", "regrouped"):
            return 3, False
        return None

    def bar_position(self, n_pulses: int) -> np.ndarray | None:
        """Position of every tracked pulse in its bar (0 = downbeat), ``None`` without a
        metre."""
        if self.pulses_per_bar is None:
            return None
        idx = np.arange(n_pulses)
        phase = self.phase if self.bar_phase is None else self.bar_phase[:n_pulses]
        return (idx - phase) % self.pulses_per_bar


def bar_fit(features: np.ndarray, lengths: Sequence[int]) -> dict[int, float]:
    """Adjusted R² of grouping beats by their position in bars of each length.

    Parameters
    ----------
    features : np.ndarray, shape (n_beats, n_features)
        Beat-synchronous features (columns are weighted by their scale).
    lengths : sequence of int
        Candidate bar lengths in beats.

    Returns
    -------
    dict
        ``{length: adjusted R²}``; lengths that leave fewer than two bars score 0.
    """
    x = np.asarray(features, dtype=np.float64)
    n = x.shape[0]
    out: dict[int, float] = {}
    if n == 0:
        return {int(m): 0.0 for m in lengths}
    xc = x - x.mean(axis=0)
    ss_total = float(np.sum(xc * xc))
    for m in lengths:
        if n < 2 * m + 1 or ss_total <= 1e-12:
            out[int(m)] = 0.0
            continue
        pos = np.arange(n) % m
        counts = np.bincount(pos, minlength=m).astype(np.float64)
        sums = np.stack([np.bincount(pos, weights=col, minlength=m) for col in xc.T], axis=1)
        ss_between = float(np.sum(sums**2 / counts[:, None]))
        r2 = ss_between / ss_total
        out[int(m)] = float(1.0 - (1.0 - r2) * (n - 1) / (n - m))
    return out


def fit_gain(longer: float, shorter: float) -> float:
    """Share of the variance left by the shorter bar that the longer one explains (from their
    :func:`bar_fit` values)."""
    return (longer - shorter) / max(1.0 - shorter, 1e-9)


#: The choices that fix a bar length, as :attr:`MeterEstimate.decision` names them:
#: ``two_or_four`` (simple duple bar: 2/4 or 4/4), ``six_or_twelve`` (compound beats, two or
#: four per bar), ``eighths`` (the tracked pulses are the eighths of a 6/8 or 12/8 bar),
#: ``regrouped`` (three tracked pulses split into 6/8,
#: :func:`.triple_bar.regroup_as_compound`),
#: ``triple`` (3/4), ``odd`` (5 or 7) and ``guess`` (no bar length fits: see
#: :data:`GUESS_CONFIDENCE`).
METER_DECISIONS = (
    "two_or_four", "six_or_twelve", "eighths", "regrouped", "triple", "odd", "guess", "learned",
)

#: Confidence of a ``guess``: a metre reported although no bar length fits the beats (adjusted
#: R² below ``min_fit``), read at the tracked pulse as four beats, three if a bar of three
#: fits better, or two compound beats (music without accents whose chords change on every
#: beat leaves bars this faint). Below the review threshold, so every guess is checked.
GUESS_CONFIDENCE = 0.3

#: Inputs of :func:`meter_confidence`, in the order of its fitted weights.
METER_EVIDENCE = ("duple_simple", "compound", "margin", "compound_margin", "learned",
                  "learned_margin")
#: Logistic model of "the reported numerator is right" (:func:`meter_confidence`): bias, then
#: the weights of a 2/4-or-4/4 choice, of any compound reading, of the choice's margin and of
#: a compound choice's margin (model ``meter_confidence`` of the fitted weights file).
_METER_CONF = weights_for("meter_confidence", METER_EVIDENCE)


def meter_evidence(decision: str | None, margin: float = 0.0) -> dict[str, float]:
    """The inputs of :func:`meter_confidence` (and of its fit in ``bench/meter_calibration``):
    whether the choice was between a simple bar of two or four beats, whether the reading is
    compound (however it was found), and the choice's margin, apart for compound readings
    (a distance of the 6/8-or-12/8 model's probability from one half, not of a gain from a
    threshold)."""
    compound = decision in ("six_or_twelve", "eighths", "regrouped")
    learned = decision == "learned"
    return {
        "duple_simple": float(decision == "two_or_four"),
        "compound": float(compound),
        "margin": 0.0 if compound or learned else float(margin),
        "compound_margin": float(margin) if compound else 0.0,
        "learned": float(learned),
        "learned_margin": float(margin) if learned else 0.0,
    }


def meter_confidence(decision: str | None, margin: float = 0.0) -> float:
    """Probability that the reported time-signature numerator is right, from the choice that
    fixed the bar length.

    A logistic model (``meter_confidence`` of the fitted weights file, fitted by
    ``bench/fit_confidence`` on the dev split of ``bench/corpus_set``) of which choice was
    made (a simple bar of two or four, a compound reading) and how far its evidence was from
    the threshold that decided it (``margin``: for a simple bar, the distance of the longer
    bar's variance gain from that threshold; for a compound bar, the distance of
    :func:`.compound_bar.twelve_probability` from one half). On music none of us wrote these
    inputs say little about whether the bar is right, and the model stays near the dev
    split's share of right numerators.

    Examples
    --------
    >>> 0.0 < meter_confidence("triple") < 1.0
    True
    >>> meter_confidence("guess") == GUESS_CONFIDENCE
    True
    >>> meter_confidence(None)
    0.0
    """
    if decision is None:
        return 0.0
    if decision == "guess":
        return GUESS_CONFIDENCE
    return logistic_probability(_METER_CONF, meter_evidence(decision, margin), METER_EVIDENCE)


def _duple_bar(
    fit: dict[int, float],
    triple_sub: bool,
    four_gain: float,
    two_fit: float,
    *,
    harmony_fit: dict[int, float] | None = None,
    harmony_four_gain: float = 0.0,
) -> tuple[int, float]:
    """Two or four beats per bar, and the margin of that choice.

    Harmony that changes every second beat (its own bar fit of two at least ``two_fit``) and
    never on a four-beat cycle (the bar of four explains less than ``harmony_four_gain`` of
    what two leaves) makes a bar of two: chords change on the one. Otherwise, without
    evidence for the longer bar, simple metres default to four beats (4/4 is far more common
    than 2/4 unless a clear strong-weak alternation says otherwise). The margin is how far the
    deciding evidence lies from its threshold (0 when the choice fell to the default). A
    compound bar is two felt beats here; whether it is four (12/8) is
    :func:`.compound_bar.compound_bar`'s choice.
    """
    if triple_sub:
        return 2, 0.0
    if harmony_fit is not None:
        h2, h4 = harmony_fit.get(2, 0.0), harmony_fit.get(4, 0.0)
        h_gain = fit_gain(h4, h2)
        if h2 >= two_fit and h_gain < harmony_four_gain:
            return 2, min(harmony_four_gain - h_gain, h2 - two_fit)
    r2, r4 = fit.get(2, 0.0), fit.get(4, 0.0)
    g = fit_gain(r4, r2)
    if g >= four_gain:
        return 4, g - four_gain
    if r2 >= two_fit:
        return 2, min(four_gain - g, r2 - two_fit)
    return 4, 0.0


def estimate_meter(
    features: BeatFeatures,
    *,
    subdivision: np.ndarray,
    candidates: Sequence[int] = (2, 3, 4, 5, 6, 7),
    min_fit: float = 0.02,
    four_over_two_gain: float = 0.05,
    min_two_fit: float = 0.3,
    harmony_four_gain: float = 0.1,
    min_two_beat_bpm: float = 60.0,
    pulse_bpm: float | None = None,
    bar_of_three: Literal["beats", "eighths"] = "beats",
    odd_meter_factor: float = 1.5,
    min_odd_fit: float = 0.2,
    switch_bars: float = 8.0,
) -> MeterEstimate:
    """Bar length, downbeat phase and subdivision from beat-synchronous features.

    Parameters
    ----------
    features : BeatFeatures
        From :func:`beat_sync_features`.
    subdivision : np.ndarray, shape (12,)
        From :func:`subdivision_profile`.
    candidates : sequence of int
        Bar lengths considered, in tracked pulses.
    min_fit : float
        Smallest adjusted R² accepted as evidence of any metre; below it the metre is a
        ``guess`` (:data:`GUESS_CONFIDENCE`): four beats (two compound beats when the
        subdivision is triple), or three when a bar of three fits better, at the tracked
        pulse, never regrouped.
    four_over_two_gain, min_two_fit : float
        A simple metre gets a bar of two only when four explains less than
        ``four_over_two_gain`` of the variance that two leaves unexplained and two itself fits
        with at least ``min_two_fit`` (four beats per bar is far more common, and a strong-weak
        alternation alone cannot tell them apart).
    harmony_four_gain, min_two_beat_bpm, pulse_bpm : float
        Harmony changing every second pulse makes a bar of two (:func:`_duple_bar`) when the bar of
        four explains less than ``harmony_four_gain`` of the harmonic change that two leaves, and
        the pulse (``pulse_bpm``, tracked pulses a minute; unknown: the rule is off) is at least
        ``min_two_beat_bpm``: slower, chords every two beats are a half-bar harmonic rhythm in 4/4,
        not bars of two beats over two seconds long.
    bar_of_three : {"beats", "eighths"}
        How a bar of three tracked pulses is read: three beats (3/4), or the eighth notes of a
        compound metre, six to the bar (the choice is
        :func:`.triple_bar.triple_bar_reading`'s, which needs the onsets
        inside the bar). Compound bars come out as two felt beats; twelve eighths (four felt
        beats) is :func:`.compound_bar.compound_bar`'s choice.
    odd_meter_factor : float
        A bar of five or seven must fit this many times better than the best of the others.
    min_odd_fit : float
        ... and explain at least this share of the variance: odd bars are rare, and a melody
        or chorale whose bars barely repeat can make a bar of seven the best of poor fits.
    switch_bars : float
        Cost of a change of downbeat phase along the track (:func:`.bar_phase.track_bar_phase`), in
        standard deviations of the downbeat score: a new phase needs that much better
        evidence, several bars of clear downbeats, before the bar grid moves to it.
    """
    none = MeterEstimate(None, 0, 1, None, 0.0, {}, np.asarray(subdivision))
    x = features.periodic
    n = x.shape[0]
    if n < 5:
        return none
    fit = bar_fit(x, candidates)
    # Nested lengths share structure (a bar of four also fits anything that repeats every two
    # beats; six fits both two and three), so families are ranked by their basic lengths and a
    # longer bar must add evidence of its own.
    duple = max(fit.get(2, 0.0), fit.get(4, 0.0))
    triple = fit.get(3, 0.0)
    best_family = 2 if duple >= triple else 3
    best = max(duple, triple)
    for m_odd in (5, 7):
        v = fit.get(m_odd, 0.0)
        if v > odd_meter_factor * best and v >= min_odd_fit:
            best_family, best = m_odd, v
    triple_sub = compound_probability(subdivision) > 0.5
    if best_family == 2 and n < 2 * 4 + 1:  # two or four cannot be told apart yet
        return MeterEstimate(None, 0, 1, None, 0.0, fit, np.asarray(subdivision))
    margin = 0.0
    if best < min_fit:
        # No bar fits: the commonest bar at the tracked pulse, flagged by its confidence.
        m, pulse_group, decision = (2 if triple_sub else 4) if best_family == 2 else 3, 1, "guess"
    elif best_family == 2:
        harmony = features.harmonic_change
        use_harmony = harmony is not None and (pulse_bpm or 0.0) >= min_two_beat_bpm
        m, margin = _duple_bar(
            fit, triple_sub, four_over_two_gain, min_two_fit,
            harmony_fit=bar_fit(harmony[:, None], (2, 4)) if use_harmony else None,
            harmony_four_gain=harmony_four_gain,
        )
        pulse_group = 1
        decision = "six_or_twelve" if triple_sub else "two_or_four"
    elif best_family == 3:
        m, pulse_group = (3, 1)
        if bar_of_three == "eighths" and n >= 2 * 6 + 1:
            m, pulse_group = 6, 3  # two felt beats; compound_bar.compound_bar may make it four
        decision = "eighths" if pulse_group == 3 else "triple"
    else:
        m, pulse_group = best_family, 1
        decision = "odd"
    if n < 2 * m + 1:
        return MeterEstimate(None, 0, 1, None, 0.0, fit, np.asarray(subdivision))

    phase, bar_phase = place_bar(features.downbeat, m, pulse_group, switch_bars)
    compound = True if pulse_group == 3 else triple_sub
    return MeterEstimate(
        m, phase, pulse_group, compound, meter_confidence(decision, margin), fit,
        np.asarray(subdivision), bar_phase, decision, margin,
    )


def with_felt_bar(
    meter: MeterEstimate,
    felt_per_bar: int,
    felt_downbeat: np.ndarray,
    *,
    decision_margin: float,
    switch_bars: float = 8.0,
) -> MeterEstimate:
    """The same metre with a bar of ``felt_per_bar`` felt beats.

    The bar is placed by the downbeat score of the felt beats (``felt_downbeat``, one entry
    per felt beat, the first being tracked pulse ``meter.phase % meter.pulse_group``); the
    confidence follows ``decision_margin``.
    """
    group = meter.pulse_group
    if group == 1:
        phase, bar_phase = place_bar(felt_downbeat, felt_per_bar, 1, switch_bars)
    else:
        felt_phase = int(np.argmax(phase_scores(felt_downbeat, felt_per_bar)))
        phase, bar_phase = meter.phase % group + group * felt_phase, None
    return replace(
        meter, pulses_per_bar=felt_per_bar * group, phase=phase, bar_phase=bar_phase,
        decision_margin=decision_margin,
        confidence=meter_confidence(meter.decision, decision_margin),
    )


