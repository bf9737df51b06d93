"""Two or four felt beats in a compound bar: 6/8 or 12/8.

Once the felt beat is known to divide into three, the bar holds two dotted-quarter beats
(6/8) or four (12/8). A bar of two repeats itself inside a bar of four, so the bar-length fit
alone cannot prefer the longer one; what tells them apart is whether the first and third felt
beats of a candidate bar of four differ: in 12/8 the first carries the downbeat's accent, bass
note and chord change and the third does not (or less), in 6/8 both are downbeats alike. The
same holds for the second and fourth beats.

:func:`compound_bar_evidence` measures those contrasts on the beat-synchronous features of the
felt beats (:func:`.beat_features.beat_sync_features`: accent overall and in three bands, loudness,
chord, bass and timbre change), each as Welch's t over the bars so that the chance
differences of a short clip do not pass for accents, with how much a bar of four adds to the
fit of a bar of two and how well two fits. A logistic model (:data:`TWELVE_WEIGHTS`) weighs
them; without contrasts it reads 6/8, the common reading, as the fixed rule before it did.

The chord contrast counts only where the felt beat is slow (:func:`slow_bar_weight`): a bar of
two dotted quarters at 75 a minute or slower lasts 1.6 s or more and usually carries its own
chord, so a chord that changes only on every other one marks a bar of four; in a jig at 110 a
chord often lasts two bars of 6/8, and the same contrast says nothing. Unweighted, the model
could hardly use it (fast 6/8 shows the same contrast as 12/8). The weights are fitted by
``bench/meter_readings`` on the compound songs among rendered songs.

The same model is not used for 2/4 against 4/4: there the rendered songs mark every 4/4 bar
with accents and chord changes on the one, so a model fitted on them reads an unmarked rock
beat as 2/4 (``bench/meter_readings`` records the attempt). A simple bar of two is read from
the harmony alone (:func:`.bar_length.estimate_meter`: chords on every second beat, never on a
cycle of four).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from linernotes.analyzers.fitted import logistic_probability, weights_for
from linernotes.analyzers.rhythm.bar_length import (
    MeterEstimate,
    bar_fit,
    fit_gain,
    meter_confidence,
    with_felt_bar,
)
from linernotes.analyzers.rhythm.bar_phase import phase_scores
from linernotes.analyzers.rhythm.beat_features import DOWNBEAT_EVIDENCE, BeatFeatures

__all__ = [
    "COMPOUND_BAR_FEATURES",
    "CONTRASTED",
    "MAX_T",
    "TWELVE_WEIGHTS",
    "compound_bar",
    "compound_bar_evidence",
    "slow_bar_weight",
    "twelve_probability",
]

#: The beat-synchronous features (the first eight columns of
#: :attr:`.beat_features.BeatFeatures.periodic`) whose differences between bar positions are
#: evidence.
CONTRASTED: tuple[str, ...] = DOWNBEAT_EVIDENCE
#: Names of :func:`compound_bar_evidence`, in the order of :data:`TWELVE_WEIGHTS`: the share of
#: the variance left by a bar of two felt beats that a bar of four explains, the adjusted R²
#: of the bar of two, then each feature's difference between the first and third felt beats of
#: the bar of four, and between its second and fourth (Welch's t over the bars).
COMPOUND_BAR_FEATURES: tuple[str, ...] = (
    "four_over_two",
    "two_fit",
    *(f"{name}_1v3" for name in CONTRASTED),
    "slow_chroma_change_1v3",
)
#: Felt tempi (dotted quarters a minute) between which the chord contrast of a slow bar
#: (:func:`slow_bar_weight`) fades from full to none.
SLOW_BAR_BPM: tuple[float, float] = (75.0, 100.0)
#: Largest contrast counted, in standard errors: beyond it the evidence is certain anyway,
#: and a contrast without spread (a click track) would otherwise be infinite.
MAX_T = 6.0
#: Logistic weights (bias first, then :data:`COMPOUND_BAR_FEATURES`) of "the compound bar has
#: four felt beats (12/8), not two (6/8)" (model ``twelve_eight`` of the weights file).
TWELVE_WEIGHTS: tuple[float, ...] = weights_for("twelve_eight", COMPOUND_BAR_FEATURES)


def slow_bar_weight(felt_bpm: float | None, bpm_range: tuple[float, float] = SLOW_BAR_BPM) -> float:
    """How much a chord held over two bars of 6/8 would surprise at this felt tempo: 1 at or
    below the first tempo of ``bpm_range``, 0 at or above the second (log-linear between),
    0 when the tempo is unknown.

    A bar of two slow dotted-quarter beats (1.6 s or more) usually carries its own chord, so
    chords that change only on every other one mark a bar of four (12/8); in fast 6/8 (a
    jig) a chord often lasts two bars, and the same contrast says nothing.

    Examples
    --------
    >>> slow_bar_weight(60.0), slow_bar_weight(120.0), slow_bar_weight(None)
    (1.0, 0.0, 0.0)
    """
    if felt_bpm is None or felt_bpm <= 0:
        return 0.0
    slow, fast = bpm_range
    return float(np.clip(np.log(fast / felt_bpm) / np.log(fast / slow), 0.0, 1.0))


def compound_bar_evidence(
    features: BeatFeatures, *, felt_bpm: float | None = None
) -> dict[str, float]:
    """What the felt beats say about a bar of four felt beats against a bar of two.

    The candidate bar of four starts where the downbeat score of the felt beats is highest.

    Parameters
    ----------
    features : BeatFeatures
        :func:`.beat_features.beat_sync_features` of the felt beats (at least nine).
    felt_bpm : float, optional
        Felt beats a minute; weighs the chord contrast by :func:`slow_bar_weight` in
        ``slow_chroma_change_1v3`` (0 when unknown).

    Returns
    -------
    dict
        One value per name of :data:`COMPOUND_BAR_FEATURES`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> accent = np.tile([2.0, 0.0, 1.0, 0.0], 8) + rng.normal(0, 0.3, 32)  # one beats three
    >>> x = np.column_stack([accent] + [rng.normal(0, 0.3, 32)] * 15)
    >>> evidence = compound_bar_evidence(BeatFeatures(periodic=x, downbeat=accent))
    >>> evidence["accent_1v3"] > 3 > abs(evidence["chroma_change_1v3"])
    True
    """
    x = features.periodic
    n = x.shape[0]
    rel = (np.arange(n) - int(np.argmax(phase_scores(features.downbeat, 4)))) % 4
    fit = bar_fit(x, [2, 4])
    evidence = {"four_over_two": fit_gain(fit[4], fit[2]), "two_fit": fit[2]}
    for j, name in enumerate(CONTRASTED):
        col = x[:, j] if j < x.shape[1] else np.zeros(n)
        evidence[f"{name}_1v3"] = _t_statistic(col[rel == 0], col[rel == 2])
    evidence["slow_chroma_change_1v3"] = (
        slow_bar_weight(felt_bpm) * evidence["chroma_change_1v3"]
    )
    return evidence


def _t_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's t of the difference of two means, within +-:data:`MAX_T`: a contrast counts by
    how many bars show it, so a short clip's noise does not pass for an accent."""
    if a.size < 2 or b.size < 2:
        return 0.0
    se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return float(np.clip((a.mean() - b.mean()) / max(se, 1e-3), -MAX_T, MAX_T))


def twelve_probability(
    evidence: Mapping[str, float], weights: tuple[float, ...] = TWELVE_WEIGHTS
) -> float:
    """Probability that a compound bar has four felt beats (12/8) rather than two (6/8), from
    :func:`compound_bar_evidence`."""
    return logistic_probability(weights, evidence, COMPOUND_BAR_FEATURES)


def compound_bar(
    meter: MeterEstimate,
    felt_features: BeatFeatures,
    *,
    felt_bpm: float | None = None,
    switch_bars: float = 8.0,
) -> tuple[MeterEstimate, dict[str, float] | None]:
    """Decide between 6/8 and 12/8 for a compound metre of two felt beats per bar.

    Parameters
    ----------
    meter : MeterEstimate
        A compound metre with two felt beats per bar (from :func:`.bar_length.estimate_meter`, or a
        bar of three pulses regrouped as 6/8).
    felt_features : BeatFeatures
        :func:`.beat_features.beat_sync_features` of the felt beats, the first being tracked pulse
        ``meter.phase % meter.pulse_group``.
    felt_bpm : float, optional
        Felt beats a minute (:func:`compound_bar_evidence`).
    switch_bars : float
        As in :func:`.bar_length.estimate_meter`.

    Returns
    -------
    (meter, evidence)
        The metre with two or four felt beats per bar (a bar of four placed anew on the felt
        beats' downbeat score), its margin ``|p - 0.5|``; and the evidence, or ``None``
        (metre unchanged) when there are too few felt beats to compare bars of four.
    """
    if felt_features.periodic.shape[0] < 2 * 4 + 1:
        return meter, None
    evidence = compound_bar_evidence(felt_features, felt_bpm=felt_bpm)
    p_twelve = twelve_probability(evidence)
    margin = abs(p_twelve - 0.5)
    if p_twelve <= 0.5:  # the bar of two stands where the metre analysis placed it
        return replace(meter, decision_margin=margin,
                       confidence=meter_confidence(meter.decision, margin)), evidence
    rebarred = with_felt_bar(meter, 4, felt_features.downbeat, decision_margin=margin,
                             switch_bars=switch_bars)
    return rebarred, evidence
