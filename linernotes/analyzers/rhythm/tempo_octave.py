"""Is the tracked pulse the felt beat, two beats, or half a beat? (the octave check)

The periodicity stage (:mod:`.tempo`) chooses between a tempo and its double mostly through a
prior over tempo, so fast songs (4/4 above about 150 BPM) are often tracked at half speed: the
autocorrelation of their onsets is as strong every two beats as every beat, and the prior
prefers the slower reading. What then tells the two readings apart is what happens *inside*
each tracked pulse. Music is written so that the beat is divided in two or three (the tatum);
a pulse that is really two beats shows the division of each of those beats as well:

* onsets at a quarter and three quarters of the pulse (the eighth notes of two beats), and
* a backbeat half way through the pulse as strong as the pulse itself (the snare on 2 and 4,
  the second beat's chord or bass note), in the mid and high bands where a snare sounds.

:func:`octave_evidence` measures these as log ratios to the onset strength at the pulse, in the
full onset envelope and in the low, mid and high bands, together with how strongly
alternate pulses differ and the tempo itself. The same evidence read the other way catches
slow songs tracked at double speed: a pulse that is half a beat has nothing half way through
it, and alternate pulses differ (the beat and its off-beat).

:func:`octave_probability` turns the evidence into the probability that the felt beat is twice
as fast as the pulse (:data:`DOUBLE_WEIGHTS`), or half as fast (:data:`HALF_WEIGHTS`), by
logistic regression; :func:`octave_decision` doubles or halves the pulse when one of them is
over one half. The weights are fitted by ``bench/tempo_octave`` on rendered songs whose seeds
the accuracy benchmark never uses; the benchmark's tempo table then tests them.

Examples
--------
>>> import numpy as np
>>> fr = 22050 / 256
>>> env = np.zeros(int(20 * fr))
>>> pulses = np.arange(1, 30) * 0.6 * fr  # tracked at 100 BPM
>>> for p in pulses:  # eighth notes at 200 BPM: four onsets per pulse, the one half way loud
...     for k, amp in enumerate((1.0, 0.5, 0.9, 0.5)):
...         env[int(round(p + k * 0.15 * fr))] = amp
>>> bands = np.stack([env, env, env])
>>> evidence = octave_evidence(env, bands, pulses, frame_rate=fr)
>>> octave_decision(evidence, min_double=0.75)[0]
'double'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import scipy.ndimage

from linernotes.analyzers.fitted import logistic_probability, weights_for
from linernotes.analyzers.rhythm.subdivision import (
    onset_log_ratio,
    onset_strength_at,
    subdivision_profile,
)

__all__ = [
    "DOUBLE_WEIGHTS",
    "HALF_WEIGHTS",
    "OCTAVE_FEATURES",
    "halve_pulses",
    "octave_decision",
    "octave_evidence",
    "octave_probability",
    "pulse_bpm",
]

#: Points per pulse at which the onset profile is read (a multiple of 24 keeps quarters,
#: thirds, halves and eighths on the grid).
_POINTS = 24
#: Profile positions (out of :data:`_POINTS`) of each kind of subdivision.
_POSITIONS: dict[str, tuple[int, ...]] = {
    "quarter": (6, 18),
    "half": (12,),
    "third": (8, 16),
    "eighth": (3, 9, 15, 21),
}
_ENVELOPES = ("full", "low", "mid", "high")

#: Names of the evidence that :func:`octave_probability` weighs, in the order of
#: :data:`DOUBLE_WEIGHTS` (after its bias). ``<kind>_<envelope>`` is the log ratio of the
#: onset strength at that subdivision of the pulse to the strength at the pulse;
#: ``alternation_<envelope>`` how much odd and even pulses differ; ``log2_tempo`` the
#: pulse tempo in octaves above 100 BPM.
OCTAVE_FEATURES: tuple[str, ...] = (
    tuple(f"{kind}_{env}" for env in _ENVELOPES for kind in _POSITIONS)
    + tuple(f"alternation_{env}" for env in ("full", "low", "high"))
    + ("log2_tempo",)
)

#: Bias, then one weight per entry of :data:`OCTAVE_FEATURES`, of the probability that the
#: felt beat is twice as fast as the pulse (model ``tempo_double`` of the weights file, fitted
#: by ``bench/tempo_octave``).
DOUBLE_WEIGHTS: tuple[float, ...] = weights_for("tempo_double", OCTAVE_FEATURES)
#: How sure the doubling model must be before the pulses are doubled. The model was fitted
#: on the project's generated songs, where a pulse tracked at half the beat is common; on
#: music none of us wrote it doubles more right tempi than it fixes, so it is off (a
#: probability never reaches 1): the pulse is kept, and the model's doubt still lowers the
#: tempo confidence (``bench/dev_sweep`` on the dev split of ``bench/corpus_set``).
MIN_DOUBLE = 1.0
#: The same for the felt beat being half as fast as the pulse (every other pulse).
HALF_WEIGHTS: tuple[float, ...] = weights_for("tempo_half", OCTAVE_FEATURES)


def pulse_bpm(pulse_frames: np.ndarray, *, frame_rate: float) -> float:
    """Tempo of a pulse grid from its median period (0 with fewer than two pulses)."""
    p = np.asarray(pulse_frames, dtype=np.float64)
    period = float(np.median(np.diff(p))) if p.size > 1 else 0.0
    return 60.0 * frame_rate / period if period > 0 else 0.0


def _alternation(envelope: np.ndarray, pulse_frames: np.ndarray) -> float:
    """Difference between the mean onset strength of even and odd pulses, relative to the
    mean (0 when the pulses are alike, capped at 2)."""
    v = onset_strength_at(envelope, pulse_frames)
    n = v.size // 2 * 2
    if n < 2:
        return 0.0
    diff = abs(float(v[0:n:2].mean() - v[1:n:2].mean()))
    return min(diff / (float(v.mean()) + 1e-9), 2.0)


def octave_evidence(
    envelope: np.ndarray,
    band_envelopes: np.ndarray,
    pulse_frames: np.ndarray,
    *,
    frame_rate: float,
) -> dict[str, float]:
    """What the onsets inside each tracked pulse say about its metrical level.

    Parameters
    ----------
    envelope : np.ndarray, shape (n_frames,)
        The onset envelope the pulses were tracked on.
    band_envelopes : np.ndarray, shape (3, n_frames)
        Onset envelopes of the low, mid and high bands (:meth:`.onsets.OnsetBands.stack`).
    pulse_frames : np.ndarray
        Tracked pulse positions in (fractional) frames, increasing.
    frame_rate : float
        Envelope frames per second.

    Returns
    -------
    dict
        One value per name of :data:`OCTAVE_FEATURES`.
    """
    pulses = np.asarray(pulse_frames, dtype=np.float64)
    smooth = [
        scipy.ndimage.gaussian_filter1d(np.asarray(b, np.float64), 1.0) for b in band_envelopes
    ]
    envelopes = dict(zip(_ENVELOPES, [np.asarray(envelope, np.float64), *smooth], strict=True))
    evidence: dict[str, float] = {}
    for name, env in envelopes.items():
        prof = subdivision_profile(env, pulses, n_points=_POINTS)
        prof = prof / max(float(prof.max()), 1e-12)
        on = float(prof[0])
        for kind, pos in _POSITIONS.items():
            v = float(np.mean(prof[list(pos)]))
            evidence[f"{kind}_{name}"] = onset_log_ratio(v, on)
    for name in ("full", "low", "high"):
        evidence[f"alternation_{name}"] = _alternation(envelopes[name], pulses)
    bpm = pulse_bpm(pulses, frame_rate=frame_rate)
    evidence["log2_tempo"] = float(np.log2(bpm / 100.0)) if bpm else 0.0
    return evidence


def octave_probability(evidence: Mapping[str, float], weights: tuple[float, ...]) -> float:
    """Probability of one reading (:data:`DOUBLE_WEIGHTS` or :data:`HALF_WEIGHTS`) given the
    evidence of :func:`octave_evidence`."""
    return logistic_probability(weights, evidence, OCTAVE_FEATURES)


def octave_decision(
    evidence: Mapping[str, float],
    *,
    min_double: float = MIN_DOUBLE,
    min_half: float = 0.5,
) -> tuple[Literal["double", "half"] | None, float]:
    """Whether to double the pulse rate, halve it, or keep it (``None``), and the probability
    that the pulse as tracked is the felt beat (1 minus that of the likelier other reading).

    The pulses are doubled only when the doubling model is at least ``min_double`` sure
    (:data:`MIN_DOUBLE`), halved when the halving model is at least ``min_half`` sure.
    """
    p_double = octave_probability(evidence, DOUBLE_WEIGHTS)
    p_half = octave_probability(evidence, HALF_WEIGHTS)
    pulse_is_beat = 1.0 - max(p_double, p_half)
    if p_double >= p_half and p_double >= min_double:
        return "double", pulse_is_beat
    if p_half > p_double and p_half >= min_half:
        return "half", pulse_is_beat
    return None, pulse_is_beat


def halve_pulses(envelope: np.ndarray, pulse_frames: np.ndarray) -> np.ndarray:
    """Every other pulse: the half whose onsets are stronger (the beats, not the off-beats).

    ``envelope`` should be the full-band onset envelope: bass lines often sit on the off-beat.
    """
    p = np.asarray(pulse_frames, dtype=np.float64)
    if p.size < 4:
        return p
    v = onset_strength_at(envelope, p)
    return p[0::2] if v[0::2].mean() >= v[1::2].mean() else p[1::2]
