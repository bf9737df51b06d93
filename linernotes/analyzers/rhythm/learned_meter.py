"""The metre of a beat grid tracked on the learned activation (:mod:`.activation`).

Bar length and downbeats come from the network's downbeat activation at each beat
(:mod:`.bar_decoding`); whether the beat divides into three from the onsets inside the beats
(:func:`.subdivision.compound_probability`), as on the hand-made path. Where the network hears
two beats of the bar alike (beats 1 and 3 of a 4/4 bar), the decoded bars are turned to the
rotation whose downbeats weigh most on the network's strength together with the hand-made
beat evidence (accents, loudness, chroma, bass and timbre change:
:data:`LEARNED_DOWNBEAT_EVIDENCE`, weights fitted on the dev sets by
``bench/fit_learned_downbeat``). The result is a
:class:`.bar_length.MeterEstimate` with the decision ``"learned"`` and, as its alternative,
the bar length that fitted the activation next best.
"""

from __future__ import annotations

import numpy as np

from linernotes.analyzers.fitted import weights_for
from linernotes.analyzers.rhythm.bar_decoding import decode_bars, peak_near_beats, rotate_bars
from linernotes.analyzers.rhythm.bar_length import MeterEstimate, meter_confidence
from linernotes.analyzers.rhythm.beat_features import DOWNBEAT_EVIDENCE
from linernotes.analyzers.rhythm.subdivision import compound_probability, subdivision_profile

__all__ = ["LEARNED_DOWNBEAT_EVIDENCE", "MIN_BEATS", "downbeat_evidence", "downbeat_score",
           "learned_meter"]

#: Beats needed before a metre is claimed: two bars of four and one more.
MIN_BEATS = 9
#: What the turn of the bars weighs at each beat: the hand-made beat evidence (z-scored over
#: the track, :data:`.beat_features.DOWNBEAT_EVIDENCE`) and the log-odds of the network's
#: downbeat strength (``network``).
LEARNED_DOWNBEAT_EVIDENCE: tuple[str, ...] = (*DOWNBEAT_EVIDENCE, "network")
#: The network's strength is clipped to ``[STRENGTH_FLOOR, 1 - STRENGTH_FLOOR]`` before its
#: log-odds are taken (the decoder's floor is higher: there one beat must not veto a bar
#: length; here every beat's strength counts).
STRENGTH_FLOOR = 0.02


def downbeat_evidence(strength: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """Each beat's :data:`LEARNED_DOWNBEAT_EVIDENCE`, shape ``(n_beats, 9)``: its hand-made
    evidence (``evidence``, shape ``(n_beats, len(DOWNBEAT_EVIDENCE))``) and the log-odds of its
    network downbeat strength."""
    p = np.clip(np.asarray(strength, np.float64), STRENGTH_FLOOR, 1.0 - STRENGTH_FLOOR)
    return np.column_stack([np.asarray(evidence, np.float64), np.log(p / (1.0 - p))])


def downbeat_score(strength: np.ndarray, evidence: np.ndarray,
                   weights: tuple[float, ...] | None = None) -> np.ndarray:
    """How likely each beat is to start a bar: the fitted weights (bias first, unused) of
    :data:`LEARNED_DOWNBEAT_EVIDENCE` times the beat's :func:`downbeat_evidence`."""
    w = np.asarray(weights if weights is not None
                   else weights_for("learned_downbeat", LEARNED_DOWNBEAT_EVIDENCE))[1:]
    return downbeat_evidence(strength, evidence) @ w


def learned_meter(envelope: np.ndarray, downbeat: np.ndarray, beat_frames: np.ndarray, *,
                  shift_cost: float = 2.0, long_bias: float = 0.0,
                  floor: float = 0.02, evidence: np.ndarray | None = None) -> MeterEstimate:
    """Bar length, downbeats and subdivision of beats tracked on the activation.

    Parameters
    ----------
    envelope : np.ndarray
        The onset (spectral-flux) envelope, read for the subdivision of the beat.
    downbeat : np.ndarray
        The network's per-frame downbeat probability.
    beat_frames : np.ndarray
        The tracked beats (fractional frames).
    shift_cost : float
        :func:`.bar_decoding.decode_bars`'s cost of a bar line out of turn.
    long_bias : float
        Log-likelihood per beat added to simple bars of three and four against a bar of two
        (a prior: the network often hears beats 1 and 3 of a 4/4 bar alike, which reads as
        two bars of two); none for compound beats, where a bar of two (6/8) is common.
    floor : float
        :func:`.bar_decoding.decode_bars`'s clipping of the strengths.
    evidence : np.ndarray, optional
        The beats' z-scored :data:`.beat_features.DOWNBEAT_EVIDENCE`, shape
        ``(n_beats, 8)``; when given, the decoded bars are turned to the rotation whose
        downbeats score best (:func:`downbeat_score`, :func:`.bar_decoding.rotate_bars`).

    The confidence is :func:`.bar_length.meter_confidence` of the ``"learned"`` decision and
    its margin, as :func:`.bar_length.estimate_meter` sets it on the hand-made path.
    """
    subdivision = subdivision_profile(envelope, beat_frames)
    if beat_frames.size < MIN_BEATS:
        # fewer beats than two bars of four and one more: no metre is claimed
        return MeterEstimate(pulses_per_bar=None, phase=0, pulse_group=1, compound=None,
                             confidence=0.0, fit={}, subdivision=subdivision)
    strength = peak_near_beats(downbeat, beat_frames)
    compound = bool(compound_probability(subdivision) > 0.5)
    # the prior against two is for simple bars: a compound bar of two (6/8) is common
    bias = {} if compound else {3: long_bias, 4: long_bias}
    found = decode_bars(strength, shift_cost=shift_cost, length_bias=bias, floor=floor)
    bar, positions = found.beats_per_bar, found.position
    if evidence is not None:
        positions = rotate_bars(positions, bar, downbeat_score(strength, evidence))
    idx = np.arange(positions.size)
    bar_phase = (idx - positions) % bar
    rivals = sorted((v, k) for k, v in found.fit.items() if k != bar)
    alternative = (rivals[-1][1], compound) if rivals else None
    # The evidence for the confidence: how far the activation alone (without the prior)
    # sets the chosen length apart from the runner-up, whichever way.
    raw = {k: v - bias.get(k, 0.0) for k, v in found.fit.items()}
    margin = abs(raw[bar] - raw[rivals[-1][1]]) if rivals else 0.0
    return MeterEstimate(
        pulses_per_bar=bar, phase=int(bar_phase[0]) if bar_phase.size else 0, pulse_group=1,
        compound=compound, confidence=meter_confidence("learned", float(margin)),
        fit=dict(found.fit), subdivision=subdivision,
        bar_phase=bar_phase, decision="learned", decision_margin=float(margin),
        learned_alternative=alternative,
    )
