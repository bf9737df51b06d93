"""The ``rhythm`` stage: tempo, beats, downbeats, meter and onset rate of a track.

The pulse grid is tracked and its octave checked (:mod:`.pulse`), its metre measured
(:mod:`.meter`); the felt beats are then continued over sustained sound at either end, the
BPM is re-measured from them (trimmed mean of inter-beat intervals, far more precise than
the periodicity peak), beats on soft attacks are placed on a line through their neighbours
(:func:`.beat_tracking.regularize_beats`), and the local tempo curve and its steady segments
are measured (:mod:`.tempo_curve`). The flux peaks within about 10 ms of the attack
(``latency_s`` shifts all beats if a data set's convention differs).

Examples
--------
>>> import numpy as np
>>> from linernotes.features import extract_features_from_array
>>> sr = 22050
>>> y = np.zeros(sr * 12, np.float32)
>>> for k in range(24):  # clicks at 120 BPM
...     i = int((0.25 + 0.5 * k) * sr)
...     y[i : i + 200] = np.hanning(200)
>>> result = rhythm(extract_features_from_array(y, sr), RhythmParams())
>>> round(result.bpm)
120
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linernotes.analyzers.fitted import logistic_probability, weights_for
from linernotes.analyzers.registry import analyzer
from linernotes.analyzers.rhythm.bar_decoding import peak_near_beats
from linernotes.analyzers.rhythm.bar_length import MeterEstimate
from linernotes.analyzers.rhythm.beat_tracking import (
    beat_prominence,
    extend_beats,
    felt_bpm,
    regularize_beats,
)
from linernotes.analyzers.rhythm.meter import bar_meter, learned_bar_meter, time_signature
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.pulse import PulseTrack, check_octave, track_pulses
from linernotes.analyzers.rhythm.result import (
    RELATIONS,
    RhythmResult,
    TempoCandidate,
    TempoSegment,
    empty_result,
    summarize_rhythm,
)
from linernotes.analyzers.rhythm.subdivision import onset_strength_at
from linernotes.analyzers.rhythm.tempo import TempoEstimate, tempo_prior
from linernotes.analyzers.rhythm.tempo_curve import tempo_curve, tempo_segments

__all__ = ["CHANGE_TEMPO_CONFIDENCE", "TEMPO_EVIDENCE", "rhythm", "tempo_confidence",
           "tempo_evidence"]


#: Scale of the confidence of a tempo found from pitch changes rather than onsets
#: (:func:`.tempo.tempo_from_changes`): such a tempo is right far less often.
CHANGE_TEMPO_CONFIDENCE = 0.6


#: Inputs of :func:`tempo_confidence`, in the order of its fitted weights.
TEMPO_EVIDENCE = ("raw_logit", "octave_rival", "octave_sure", "stability", "periodicity",
                  "from_changes", "doubled", "halved", "log2_tempo", "learned", "beat_peak",
                  "tempo_margin")


def tempo_evidence(*, raw: float, octave_rival: float, octave_sure: float,
                   stability: float | None, periodicity: float, from_changes: bool,
                   octave_check: str | None, bpm: float, learned: bool = False,
                   beat_peak: float = 0.0, tempo_margin: float = 0.0) -> dict[str, float]:
    """What the tempo confidence is fitted on: the product confidence (as a logit) and its
    parts, how the level was reached, the tempo itself, whether the beats were tracked on the
    learned activation and how clearly it peaks on them (median peak), and how far the
    tempo's periodicity beats its metrical rivals."""
    r = float(np.clip(raw, 1e-4, 1 - 1e-4))
    return {"raw_logit": float(np.log(r / (1 - r))), "octave_rival": float(octave_rival),
            "octave_sure": float(octave_sure), "stability": float(stability or 0.0),
            "periodicity": float(periodicity), "from_changes": float(from_changes),
            "doubled": float(octave_check == "doubled"),
            "halved": float(octave_check == "halved"),
            "log2_tempo": float(np.log2(bpm / 100.0)), "learned": float(learned),
            "beat_peak": float(beat_peak) if learned else 0.0,
            "tempo_margin": float(tempo_margin)}


def tempo_confidence(evidence: dict[str, float]) -> float:
    """Probability that the reported tempo is right (within 4 %), from
    :func:`tempo_evidence` (model ``tempo_confidence`` of the fitted weights file)."""
    return logistic_probability(weights_for("tempo_confidence", TEMPO_EVIDENCE), evidence,
                                TEMPO_EVIDENCE)


def _candidates(est: TempoEstimate, bpm: float, p: RhythmParams) -> list[TempoCandidate]:
    sal = est.salience
    prior = tempo_prior(sal.bpm, center_bpm=p.prior_center_bpm, std_octaves=p.prior_std_octaves)
    score = sal.combined * prior
    x = np.log2(sal.bpm)

    def at(b: float) -> float:
        return float(np.interp(np.log2(b), x, score, left=0.0, right=0.0))

    top = at(bpm)
    out = [TempoCandidate(bpm=round(bpm, 2), score=1.0, relation="primary")]
    for relation, ratio in RELATIONS:
        b = bpm * ratio
        if p.min_bpm <= b <= p.max_bpm:
            s = at(b) / top if top > 0 else 0.0
            out.append(TempoCandidate(bpm=round(b, 2), score=round(s, 3), relation=relation))
    return out


def _stability(local_bpm: np.ndarray, bpm: float) -> float | None:
    """Share of the non-silent windows whose local tempo is within 4 % of ``bpm`` or of a
    metrical relative of it (a third, half, double or triple): the local choice of level may
    differ, a change of tempo may not."""
    vals = local_bpm[np.isfinite(local_bpm)]
    if vals.size == 0:
        return None
    ratios = np.array([1.0 / 3.0, 0.5, 1.0, 2.0, 3.0])
    dev = np.abs(vals[:, None] / (bpm * ratios[None, :]) - 1.0).min(axis=1)
    return float(np.mean(dev <= 0.04))


def _beat_peak(track: PulseTrack, beat_frames: np.ndarray) -> float:
    """Median of the learned beat activation's peak at the beats (0 off the learned path)."""
    if track.activation is None or beat_frames.size == 0:
        return 0.0
    return float(np.median(peak_near_beats(track.activation[0], beat_frames)))


def _felt_grid(pulses: np.ndarray, meter: MeterEstimate) -> tuple[np.ndarray, np.ndarray | None]:
    """Felt beats among the tracked pulses, and each beat's position in its bar (0 = downbeat;
    ``None`` when the metre is unknown)."""
    in_bar = meter.bar_position(pulses.size)
    if in_bar is None:
        return pulses, None
    keep = in_bar % meter.pulse_group == 0
    return pulses[keep], in_bar[keep] // meter.pulse_group


@analyzer(
    "rhythm",
    version="23",
    params=RhythmParams(),
    summarize=summarize_rhythm,
    confidence_fields={
        "bpm": "bpm_confidence",
        "beats": "bpm_confidence",
        "time_signature": "meter_confidence",
        "downbeats": "meter_confidence",
    },
)
def rhythm(features: Any, params: RhythmParams) -> RhythmResult:
    """Tempo, beats, downbeats, meter and onset rate from the shared features."""
    p = params
    track = track_pulses(features, p)
    if not isinstance(track, PulseTrack):
        return empty_result(track.onset_rate, reason=track.reason)
    est = track.tempo
    frame_rate, duration, onset_rate = track.frame_rate, track.duration, track.onset_rate
    from_changes = track.from_changes
    learned = track.activation is not None
    if learned and not p.learned_octave_check:
        pulse_frames, octave_check, octave_sure = track.pulse_frames, None, 1.0
    else:
        pulse_frames, octave_check, octave_sure = check_octave(track, p)
    if track.activation is not None:
        meter = learned_bar_meter(features, track, pulse_frames, p)
    else:
        measured = bar_meter(features, track, pulse_frames, p)
        pulse_frames, meter = measured.pulse_frames, measured.meter
    beat_frames, position = _felt_grid(pulse_frames, meter)
    bar = None if meter.pulses_per_bar is None else meter.pulses_per_bar // meter.pulse_group
    prominence = beat_prominence(track.envelope, beat_frames)
    soft_attacks = prominence < p.soft_beat_prominence
    if p.extend_beats > 0:
        rms_db = 20 * np.log10(np.maximum(features.rms, 1e-10))
        floor = max(float(np.percentile(rms_db, 90)) - p.active_range_db, p.silence_db)
        # Complete the first and last bar at most (the whole extension when the bar is unknown).
        head = tail = p.extend_beats
        if position is not None and bar is not None:
            head = min(head, int(position[0]))
            tail = min(tail, bar - 1 - int(position[-1]))
        extended = extend_beats(beat_frames, rms_db > floor, max_before=head, max_after=tail)
        before = int(np.searchsorted(extended, beat_frames[0]))
        after = extended.size - before - beat_frames.size
        if position is not None and bar is not None:
            position = np.concatenate(
                [
                    (position[0] - np.arange(before, 0, -1)) % bar,
                    position,
                    (position[-1] + np.arange(1, after + 1)) % bar,
                ]
            )
        beat_frames = extended
    beat_times = beat_frames / frame_rate + (p.learned_latency_s if learned else p.latency_s)
    inside = (beat_times >= 0) & (beat_times <= duration)
    beat_times = beat_times[inside]
    bpm = felt_bpm(beat_times)
    if bpm is None:
        return empty_result(onset_rate, reason="no steady pulse")
    if soft_attacks:
        # Each beat on a line through its neighbours, anchored on the clearest attacks; the
        # tempo stays the tracked grid's.
        strength = onset_strength_at(track.envelope, beat_frames[inside])
        beat_times = np.clip(regularize_beats(beat_times, strength=strength), 0.0, duration)

    result: dict[str, Any] = {}
    if position is not None and bar is not None:
        down = beat_times[position[inside] == 0]
        compound = bool(meter.compound)
        numerator, signature = time_signature(bar, compound)
        result.update(
            downbeats=[float(t) for t in down],
            beats_per_bar=bar,
            numerator=numerator,
            compound=compound,
            time_signature=signature,
            meter_confidence=float(np.clip(meter.confidence, 0.0, 1.0)),
            meter_alternative=(
                None if meter.alternative is None else time_signature(*meter.alternative)[1]
            ),
            meter_decision=meter.decision,
            meter_decision_margin=float(meter.decision_margin),
        )

    # Confidence: periodicity strength x how clearly the tempo beats its half and double x
    # how steady the local tempo is x how sure the octave check was.
    candidates = _candidates(est, bpm, p)
    octave_rival = max((c.score for c in candidates if c.relation in ("half", "double")), default=0)
    margin = 1.0 / (1.0 + octave_rival)
    periodicity = float(np.clip(est.strength / 0.4, 0.0, 1.0))
    stability = _stability(est.local_bpm, bpm)
    curve_t, curve_bpm = tempo_curve(
        est.salience.window_centre_s, est.local_bpm, bpm=bpm, beat_times=beat_times,
        window_s=p.tempo_win_s, dotted=bool(result.get("compound")) or bar == 3,
    )
    segments = tempo_segments(curve_t, curve_bpm)
    # The product of periodicity strength, how clearly the tempo beats its half and double,
    # how steady the local tempo is and how sure the octave check was orders readings; the
    # fitted model (:func:`tempo_confidence`) turns it and its parts into a probability.
    raw = periodicity * margin * (0.5 + 0.5 * (stability or 0.0)) * octave_sure
    if from_changes:
        raw *= CHANGE_TEMPO_CONFIDENCE * est.octave_margin
    evidence = tempo_evidence(raw=raw, octave_rival=octave_rival, octave_sure=octave_sure,
                              stability=stability, periodicity=periodicity,
                              from_changes=from_changes, octave_check=octave_check, bpm=bpm,
                              learned=learned, beat_peak=_beat_peak(track, beat_frames),
                              tempo_margin=est.octave_margin)
    return RhythmResult(
        bpm=float(bpm),
        bpm_confidence=tempo_confidence(evidence),
        bpm_evidence={k: round(v, 4) for k, v in evidence.items()},
        beat_prominence=round(float(prominence), 3),
        bpm_candidates=candidates,
        beats=[float(t) for t in beat_times],
        onset_rate=onset_rate,
        tempo_stability=stability,
        tempo_curve=[(round(float(t), 2), round(float(b), 2))
                     for t, b in zip(curve_t, curve_bpm, strict=True)],
        tempo_octave_check=octave_check,
        tempo_segments=[TempoSegment(start=round(a, 2), end=round(z, 2), bpm=round(b, 2))
                        for a, z, b in segments],
        **result,
    )
