"""The ``rhythm`` stage: tempo, beats, downbeats, meter and onset rate.

Pipeline, all on the shared front end (no audio is read here):

1. **Onsets** (:mod:`.onsets`): log-mel spectral flux averaged over all bands drives tempo
   and beats; flux in low, mid and high bands separately describes the accents (kick, snare,
   cymbals) for the metre.
2. **Tempo** (:mod:`.tempo`): autocorrelation and Fourier periodicity of the envelope with a
   log-normal tempo prior; gives the beat period, its strength and the octave alternatives.
   When the attacks show no periodicity (bowed strings, pads without drums), the period of
   the pitch changes (the harmonic rhythm) is found instead and divided into beats
   (:func:`.tempo.tempo_from_changes`; down to a chord every four seconds, and with a noise
   floor of its own, ``change_strength_noise``: short noise looks periodic in its pitch
   changes far more often than in its onsets); the confidence then says it was inferred.
   When the changes show no period either, a faint pulse in the attacks is still kept if
   it is above chance on a clip that long (:func:`.tempo.periodicity_floor`: unaccented
   reels; corpus Acc1 69.4 -> 71.8 %, Acc2 85.9 -> 88.2 %).
3. **Beats** (:mod:`.beats`): dynamic-programming beat tracking at that period, tracked again
   more rigidly when over 14 % of the gaps leave the period (a beat squeezed into every bar:
   :func:`.beats.track_steady_beats`, ``max_off_period_share``; benchmark Acc1 91.2 -> 91.9 %,
   Acc2 96.9 -> 97.5 %, beat F 0.944 -> 0.950, 7/8 beats per bar 87.5 -> 100 %); each beat is
   moved to the sub-frame peak of its onset, and the grid continues for up to a bar over
   sustained sound at either end (a final held chord). The flux peaks within about 10 ms of
   the attack: a few ms before it for clicks, a few after it for sampled instruments
   (``latency_s`` shifts all beats if a data set's convention differs).
4. **Octave check** (:mod:`.octave`): the onsets inside each tracked pulse say whether it is
   really two beats (eighth notes at its quarters, a backbeat half way: fast songs tracked at
   half speed) or half a beat (nothing half way, alternate pulses unlike: slow songs tracked
   at double speed); the pulse grid is then doubled or halved. On the accuracy benchmark this
   took tempo Acc1 from 84.4 to 91.2 % (``bench/results/accuracy.md``). Doubling needs the
   model to be 0.75 sure (:data:`.octave.MIN_DOUBLE`): at 0.5 it doubled 10 of 85 real tunes
   and chorales (``bench/corpus_tunes``) from their right tempo.
5. **Meter** (:mod:`.meter`): bar length and downbeat phase from beat-synchronous accents,
   bass, harmony and timbre changes; compound subdivision from onsets at the beat's thirds,
   weighed by a model fitted on rendered songs (:func:`.meter.compound_probability`).
   Compound beats then start on the long notes (:mod:`.compound_phase`): on running eighths
   the onsets leave three phases equally good, and listeners put the beat where a note is
   held.
   A bar of three tracked pulses is read by the onsets across it (:mod:`.triple_bar`) as
   three beats (3/4), the eighth notes of a 6/8 or 12/8 bar, or pairs of eighths of a 6/8 bar
   (the hemiola drumless 6/8 is often tracked at); on the accuracy benchmark that reading
   took 3/4 Acc1 from 82.1 to 89.3 % and all clean clips from 91.2 to 92.5 %. A compound
   bar is two felt beats (6/8) or four (12/8) by how its first and third felt beats differ
   in accent, loudness, chord, bass and timbre change (:mod:`.compound_bar`); on the
   benchmark that took 12/8 numerators from 16.7 to 50.0 % and all from 77.5 to 78.8 %; the
   chord contrast counted only where the felt beat is slow took them to 75.0 and 82.5 %.
   Where no bar length fits (music without accents whose chords change on every beat), the
   metre is a guess at the tracked pulse, four beats or three, with a confidence of 0.3
   (:data:`.meter.GUESS_CONFIDENCE`) that sends it to review.
6. **BPM** is finally re-measured from the reported beats (trimmed mean of inter-beat
   intervals), which is far more precise than the periodicity peak. Where the onsets barely
   rise at the beats (bowed strings, pads, soft winds: :func:`.beats.beat_prominence` below
   ``soft_beat_prominence``), each beat is then placed on a line through its seven
   neighbours, weighted to the clearest attacks (:func:`.beats.regularize_beats`): the grid
   was right but every beat sat on a broad, noisy envelope maximum, tens of ms off. Drumless
   strings on the accuracy benchmark had the right tempo and beats within a quarter period,
   yet only 60-85 % of them within the +-70 ms of the beat F-measure. Beat F of all clean
   clips went from 0.936 to 0.944 (drumless 0.874 to 0.892), downbeat F from 0.899 to
   0.904, the corpus's chorales' beat F from 0.907 to 0.936, and no tempo changed (the BPM
   is measured before).
7. **Tempo curve** (:mod:`.tempo_curve`): the local tempo every 2 s and the segments of
   steady tempo, so that a change of tempo is reported instead of averaged away
   (``bench/tempo_changes``: 90 % of changes found, 0.05 false boundaries per steady pair).

Conventions
-----------
* ``bpm`` and ``beats`` are the **felt beat**. In compound metres (6/8, 9/8, 12/8) that is the
  dotted quarter, as in most annotated datasets: a 6/8 song with eighth notes at 270 per minute
  has ``bpm`` 90 and two beats per bar. If the tracker locked onto the eighth notes, every third
  pulse is kept and ``bpm`` divided by three.
* ``time_signature`` is the notated signature: ``"4/4"``, ``"3/4"``, ``"2/4"``, ``"5/4"``,
  ``"7/4"`` for simple metres and ``"6/8"``, ``"9/8"``, ``"12/8"`` for compound ones.
* ``beats_per_bar`` counts the entries of ``beats`` in a bar (2 for 6/8, 4 for 12/8 and 4/4),
  so ``downbeats`` is every ``beats_per_bar``-th beat wherever the bar grid runs undisturbed;
  ``numerator`` is the written numerator (6 for 6/8), which is what ACE-Step's
  ``timesignature`` field expects. This matches the ground truth of ``scripts/midi_songs.py``.
* Nothing is invented: silence or a signal without periodicity gives ``bpm=None``, no beats and
  no metre, all with confidence 0; too few beats for two bars gives ``time_signature=None``.
  A metre whose bar fits nothing is reported as a guess (``meter_decision="guess"``,
  ``meter_confidence`` 0.3), never with the confidence of a measured one.

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

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.ndimage
from pydantic import BaseModel, ConfigDict, Field

from linernotes.analyzers.beats import (
    beat_prominence,
    double_pulses,
    extend_beats,
    on_period,
    refine_beats,
    regularize_beats,
    track_steady_beats,
)
from linernotes.analyzers.compound_bar import compound_bar
from linernotes.analyzers.compound_phase import rephase_compound_beats
from linernotes.analyzers.meter import (
    BeatFeatures,
    MeterEstimate,
    beat_sync_features,
    compound_probability,
    estimate_meter,
    onset_strength_at,
    subdivision_profile,
)
from linernotes.analyzers.octave import (
    halve_pulses,
    octave_decision,
    octave_evidence,
    pulse_bpm,
)
from linernotes.analyzers.onsets import (
    OnsetBands,
    onset_strength_bands,
    pick_onsets,
    pitch_change_strength,
)
from linernotes.analyzers.registry import analyzer
from linernotes.analyzers.tempo import (
    TempoEstimate,
    estimate_tempo,
    periodicity_floor,
    strength_floor,
    tempo_from_changes,
    tempo_prior,
)
from linernotes.analyzers.tempo_curve import tempo_curve, tempo_segments
from linernotes.analyzers.triple_bar import (
    regroup_as_compound,
    triple_bar_evidence,
    triple_bar_reading,
)

__all__ = [
    "BarMeter",
    "PulseTrack",
    "RhythmParams",
    "RhythmResult",
    "TempoCandidate",
    "TempoSegment",
    "bar_meter",
    "check_octave",
    "rhythm",
    "summarize_rhythm",
    "track_pulses",
]

Relation = Literal["primary", "half", "double", "third", "triple", "two_thirds", "three_halves"]

#: Tempo ratios to the primary tempo that are reported as alternatives.
RELATIONS: tuple[tuple[Relation, float], ...] = (
    ("half", 0.5),
    ("double", 2.0),
    ("two_thirds", 2.0 / 3.0),
    ("three_halves", 1.5),
    ("third", 1.0 / 3.0),
    ("triple", 3.0),
)


#: Scale of the confidence of a tempo found from pitch changes rather than onsets (see
#: :func:`linernotes.analyzers.tempo.tempo_from_changes`): it is right about 60 % of the time
#: on the accuracy set, against over 90 % from onsets with drums.
CHANGE_TEMPO_CONFIDENCE = 0.6


class RhythmParams(BaseModel):
    """Settings of the rhythm stage (part of its cache key)."""

    model_config = ConfigDict(frozen=True)

    min_bpm: float = Field(30.0, gt=0, description="Slowest tempo considered.")
    max_bpm: float = Field(300.0, gt=0, description="Fastest tempo considered.")
    prior_center_bpm: float = Field(100.0, gt=0, description="Most likely tempo a priori.")
    prior_std_octaves: float = Field(1.0, gt=0, description="Width of the tempo prior.")
    onset_lag: int = Field(2, ge=1, description="Frames between the spectra compared for flux.")
    onset_top_db: float = Field(80.0, gt=0, description="Dynamic range kept for onsets.")
    tempo_win_s: float = Field(8.0, gt=0, description="Periodicity analysis window.")
    tempo_hop_s: float = Field(2.0, gt=0, description="Hop between periodicity windows.")
    tightness: float = Field(100.0, gt=0, description="How rigidly beats follow the period.")
    latency_s: float = Field(0.0, description="Added to beat times (onset-peak delay).")
    extend_beats: int = Field(
        4,
        ge=0,
        description="Beats the grid may continue over sustained sound at each end "
        "(never beyond the first and last bar).",
    )
    active_range_db: float = Field(
        25.0, gt=0, description="Sound within this of the loud level counts as sounding."
    )
    silence_db: float = Field(-60.0, description="Peak frame RMS (dBFS) below which = silence.")
    min_duration_s: float = Field(3.0, ge=0, description="Shorter signals get no tempo.")
    min_tempo_strength: float = Field(
        0.1, ge=0, description="Periodicity strength needed to report a tempo..."
    )
    tempo_strength_noise: float = Field(
        0.5, ge=0, description="...plus this over sqrt(duration in s): noise on short clips."
    )
    #: Longer clips need less: the floor is the lower of the line above and this one
    #: (:func:`.tempo.periodicity_floor`, measured by ``bench/tempo_floor``).
    long_tempo_strength: float = Field(
        0.05, ge=0, description="Periodicity strength needed on long clips..."
    )
    long_strength_noise_s: float = Field(
        4.0, ge=0, description="...plus this over the duration in s (the lower floor wins)."
    )
    #: The pitch-change envelope moves at the pitch frame rate (an eighth of the onset
    #: envelope's), so its periodicity on noise fluctuates more: at 0.5 white or pink noise
    #: of 5-40 s got a tempo from its "changes" 11 times in 48, at 1.0 3 times (all 5-10 s
    #: clips). On the 190 drumless strings songs of the benchmark, training and held-out sets
    #: that reach the change path, tempi within Acc2 go from 105 to 100 (Acc1 79 -> 77); the
    #: benchmark's clips are unchanged. 1.2 would leave 1 noise clip and lose 9 songs.
    change_strength_noise: float = Field(
        1.0, ge=0, description="The same noise term for the periodicity of pitch changes."
    )
    #: Beats whose onsets rise less than this above the envelope around them
    #: (:func:`.beats.beat_prominence`) are placed on a line through their neighbours
    #: (:func:`.beats.regularize_beats`): soft attacks leave each tracked beat tens of ms off.
    #: Chosen on the 1392 rendered training and held-out songs (never the benchmark's): among
    #: the 1188 at the right tempo, with unweighted lines, mean beat F +0.0014 at 1.5, +0.0042
    #: at 2.0, +0.0048 at 3.0, +0.0050 at 4.0 and +0.0056 for every song (77 songs better and
    #: 9 worse by over 0.02 at 3.0; 98 and 16 for every song). With the lines weighted to the
    #: strong attacks, at 3.0: beat F +0.0063 (83 better, 3 worse), downbeat F +0.0010.
    #: Struck and plucked notes and drums (prominence 3-10) keep their tracked beats: in
    #: real music their timing is the performance's, which a line would flatten.
    soft_beat_prominence: float = Field(
        3.0, ge=0, description="Beat prominence below which the beat grid is regularised."
    )
    #: A pulse grid with more than this share of its gaps over 15 % off the period is tracked
    #: again at ``steady_tightness`` (:func:`.beats.track_steady_beats`): drumless piano in
    #: 7/8, 6/8 and 12/8 gets a beat squeezed into every bar (c123 of the accuracy benchmark,
    #: 7/8 at 142, had 8 pulses a bar). Chosen on the 1392 rendered training and held-out
    #: songs (seeds the benchmark never uses) with ``bench/corpus_tunes`` as the guard: at
    #: 0.14 training beat F 90.34 -> 90.76, downbeat F 89.46 -> 89.78, numerator 76.8 -> 77.4 %,
    #: Acc1 84.7 -> 85.1 %; held-out beat F 92.04 -> 92.12, downbeat F 90.60 -> 90.75,
    #: numerator 71.9 -> 71.4 % (one song), Acc1 unchanged; corpus beat F 64.6 -> 65.4,
    #: downbeat F 45.6 -> 46.6, Acc1 unchanged at 69.4 %. Lower thresholds gained more on the
    #: rendered songs (0.03: training beat F 90.99, held-out 92.91) but also re-tracked
    #: hornpipes and jigs of the corpus (off-period shares 0.03-0.135) whose octave check then
    #: doubled them or whose bar of three became 6/8: corpus Acc1 67.1 % at 0.1-0.12, 62.4 at
    #: 0.03-0.05. A steady tightness of 200 gained less than 400; 800 the same as 400.
    max_off_period_share: float = Field(
        0.14, ge=0, le=1, description="Share of off-period beat gaps that triggers a re-track."
    )
    steady_tightness: float = Field(
        400.0, gt=0, description="Tightness of the re-track of an unsteady pulse grid."
    )
    meter_candidates: tuple[int, ...] = Field(
        (2, 3, 4, 5, 6, 7), description="Bar lengths considered, in tracked beats."
    )
    min_meter_fit: float = Field(
        0.02,
        ge=0,
        description="Weakest bar-length fit read as evidence; below it the metre is a guess.",
    )


class TempoCandidate(BaseModel):
    """A tempo reading: the reported one or a metrical alternative to it."""

    bpm: float
    score: float = Field(
        description="Periodicity salience relative to the primary tempo (1); above 1 when the "
        "signal's periodicity alone favours the alternative."
    )
    relation: Relation


class TempoSegment(BaseModel):
    """A stretch of steady tempo."""

    start: float = Field(description="Seconds.")
    end: float = Field(description="Seconds.")
    bpm: float


class RhythmResult(BaseModel):
    """Tempo, beat grid and metre of one track (see the module docstring for conventions)."""

    bpm: float | None = Field(description="Felt-beat tempo (dotted quarter in compound metre).")
    bpm_confidence: float = Field(ge=0, le=1)
    bpm_candidates: list[TempoCandidate] = Field(default_factory=list)
    beats: list[float] = Field(default_factory=list, description="Beat times in seconds.")
    downbeats: list[float] = Field(default_factory=list, description="Bar starts in seconds.")
    beats_per_bar: int | None = Field(None, description="Entries of `beats` per bar (2 for 6/8).")
    numerator: int | None = Field(None, description="Time-signature numerator (6 for 6/8).")
    compound: bool | None = Field(None, description="Felt beat divides into three.")
    time_signature: str | None = None
    meter_confidence: float = Field(
        0.0, ge=0, le=1, description="Probability that the numerator is right (calibrated)."
    )
    meter_alternative: str | None = Field(
        None, description="The time signature that lost the bar-length choice (e.g. 2/4)."
    )
    meter_decision: str | None = Field(
        None, description="Which bar-length choice was made (`meter.METER_DECISIONS`)."
    )
    meter_decision_margin: float | None = Field(
        None, ge=0, description="Distance of that choice's evidence from its threshold."
    )
    onset_rate: float = Field(0.0, ge=0, description="Detected onsets per second.")
    tempo_stability: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of 8 s windows whose local tempo matches `bpm` "
        "(or its half, double, third or triple).",
    )
    tempo_curve: list[tuple[float, float]] = Field(
        default_factory=list,
        description="(seconds, bpm) every 2 s: the local tempo in the level of `bpm`.",
    )
    tempo_octave_check: Literal["doubled", "halved"] | None = Field(
        None,
        description="Whether the octave check (`octave.octave_decision`) doubled or halved "
        "the tracked pulse to give `bpm`.",
    )
    tempo_segments: list[TempoSegment] = Field(
        default_factory=list,
        description="Stretches of steady tempo (one when the tempo never changes by > 4 %).",
    )


def _empty(onset_rate: float = 0.0) -> RhythmResult:
    return RhythmResult(bpm=None, bpm_confidence=0.0, onset_rate=onset_rate)


def _unit(x: np.ndarray) -> np.ndarray:
    """``x`` divided by its standard deviation (unchanged when constant)."""
    sd = float(np.std(x))
    return x / sd if sd > 1e-12 else x


def _felt_bpm(times: np.ndarray) -> float | None:
    """Tempo from beat times: mean of the inter-beat intervals within 15 % of their median."""
    if times.size < 2:
        return None
    ibi = np.diff(times)
    med = float(np.median(ibi))
    if med <= 0:
        return None
    keep = ibi[on_period(ibi)]
    return 60.0 / float(keep.mean() if keep.size else med)


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


def _felt_grid(pulses: np.ndarray, meter: MeterEstimate) -> tuple[np.ndarray, np.ndarray | None]:
    """Felt beats among the tracked pulses, and each beat's position in its bar (0 = downbeat;
    ``None`` when the metre is unknown)."""
    in_bar = meter.bar_position(pulses.size)
    if in_bar is None:
        return pulses, None
    keep = in_bar % meter.pulse_group == 0
    return pulses[keep], in_bar[keep] // meter.pulse_group


def _time_signature(pulses: int, compound: bool) -> tuple[int, str]:
    if compound:
        return 3 * pulses, f"{3 * pulses}/8"
    return pulses, f"{pulses}/4"


def summarize_rhythm(result: RhythmResult) -> dict[str, Any]:
    """Record-summary fields: BPM to 0.01, times to the millisecond."""
    return {
        "bpm": None if result.bpm is None else round(result.bpm, 2),
        "time_signature": result.time_signature,
        "beats": [round(t, 3) for t in result.beats],
        "downbeats": [round(t, 3) for t in result.downbeats],
    }


@dataclass(frozen=True)
class PulseTrack:
    """The tracked pulse grid and what it was tracked on (input to the metre stages)."""

    envelope: np.ndarray
    bands: OnsetBands
    tempo: TempoEstimate
    pulse_frames: np.ndarray
    from_changes: bool
    frame_rate: float
    duration: float
    onset_rate: float


def track_pulses(features: Any, params: RhythmParams) -> PulseTrack | float:
    """Onsets, periodicity and the tracked pulse grid of a track.

    Returns the onset rate alone (a float) when there is no pulse to report: silence, a clip
    shorter than ``min_duration_s`` or a signal without periodicity.
    """
    p = params
    fp = features.params
    frame_rate = fp.sr / fp.hop_length
    n_frames = features.n_frames
    if n_frames < 4 or features.rms.size == 0:
        return 0.0
    if 20 * np.log10(max(float(np.max(features.rms)), 1e-12)) < p.silence_db:
        return 0.0

    bands = onset_strength_bands(
        features.mel_db,
        sr=fp.sr,
        fmin=fp.fmin,
        fmax=fp.fmax,
        lag=p.onset_lag,
        top_db=p.onset_top_db,
    )
    envelope = scipy.ndimage.gaussian_filter1d(bands.full, 1.0)
    onsets = pick_onsets(bands.full, frame_rate=frame_rate)
    duration = max(float(features.duration), n_frames / frame_rate)
    onset_rate = float(onsets.size / duration) if duration > 0 else 0.0
    if duration < p.min_duration_s:
        return onset_rate

    tempo_settings: dict[str, Any] = {
        "frame_rate": frame_rate,
        "min_bpm": p.min_bpm,
        "max_bpm": p.max_bpm,
        "prior_center_bpm": p.prior_center_bpm,
        "prior_std_octaves": p.prior_std_octaves,
        "win_s": p.tempo_win_s,
        "hop_s": p.tempo_hop_s,
        # Above chance (tempo.periodicity_floor); a pulse under the onset floor (below) is
        # looked for in the pitch changes first.
        "min_strength": periodicity_floor(
            duration, base=p.min_tempo_strength, noise=p.tempo_strength_noise,
            long_base=p.long_tempo_strength, long_noise_s=p.long_strength_noise_s,
        ),
    }
    est = estimate_tempo(envelope, **tempo_settings)
    onset_floor = strength_floor(duration, base=p.min_tempo_strength, noise=p.tempo_strength_noise)
    from_changes = est.bpm is None or est.strength < onset_floor
    if from_changes:
        # No clear beat in the attacks (bowed strings, pads): find it from the pitch changes,
        # and track the beats on onsets and changes together.
        changes = scipy.ndimage.gaussian_filter1d(
            pitch_change_strength(
                features.pitch_spectrum,
                n_frames=n_frames,
                hop_ratio=fp.pitch_hop_length / fp.hop_length,
            ),
            1.0,
        )
        change_floor = strength_floor(
            duration, base=p.min_tempo_strength, noise=p.change_strength_noise
        )
        from_pitch = tempo_from_changes(
            changes, est.salience, **{**tempo_settings, "min_strength": change_floor}
        )
        if from_pitch.bpm is not None:
            est = from_pitch
            envelope = _unit(envelope) + _unit(changes)
        else:
            # The changes are not periodic either: a faint pulse in the attacks that is
            # still above chance (an unaccented reel) is better than no tempo.
            from_changes = False
    if est.bpm is None or est.period_frames is None:
        return onset_rate

    pulse_frames = track_steady_beats(
        envelope, period_frames=est.period_frames, tightness=p.tightness,
        max_off_period_share=p.max_off_period_share, steady_tightness=p.steady_tightness,
    )
    if pulse_frames.size < 2:
        return onset_rate
    return PulseTrack(envelope=envelope, bands=bands, tempo=est, pulse_frames=pulse_frames,
                      from_changes=from_changes, frame_rate=frame_rate, duration=duration,
                      onset_rate=onset_rate)


def check_octave(
    track: PulseTrack, params: RhythmParams
) -> tuple[np.ndarray, Literal["doubled", "halved"] | None, float]:
    """The octave check: are the tracked pulses the felt beat, two beats each or half beats?

    Returns the pulses at the level chosen, whether they were doubled or halved, and the
    probability that the level is right.
    """
    p = params
    pulse_frames = track.pulse_frames
    octave, pulse_is_beat = octave_decision(
        octave_evidence(track.envelope, track.bands.stack(), pulse_frames,
                        frame_rate=track.frame_rate)
    )
    tracked_bpm = pulse_bpm(pulse_frames, frame_rate=track.frame_rate)
    if octave == "double" and 2.0 * tracked_bpm <= p.max_bpm:
        doubled = refine_beats(track.envelope, double_pulses(pulse_frames))
        return doubled, "doubled", 1.0 - pulse_is_beat
    if octave == "half" and 0.5 * tracked_bpm >= p.min_bpm and pulse_frames.size >= 8:
        return halve_pulses(track.envelope, pulse_frames), "halved", 1.0 - pulse_is_beat
    return pulse_frames, None, pulse_is_beat


@dataclass(frozen=True)
class BarMeter:
    """The metre of a pulse grid, the pulses it counts (eighth notes once a bar of three was
    split, :func:`.triple_bar.regroup_as_compound`), and the evidence of the fitted readings
    that shaped it: of a bar of three pulses (:func:`.triple_bar.triple_bar_evidence`) and of
    two or four felt beats in a compound bar (:func:`.compound_bar.compound_bar_evidence`)."""

    pulse_frames: np.ndarray
    meter: MeterEstimate
    triple_bar_evidence: dict[str, float] | None = None
    compound_bar_evidence: dict[str, float] | None = None


def bar_meter(
    features: Any, track: PulseTrack, pulse_frames: np.ndarray, params: RhythmParams
) -> BarMeter:
    """Bar length, downbeats and subdivision of the pulses; pulses that divide into three
    start on the long notes (:mod:`.compound_phase`), a bar of three pulses is read as
    three beats, compound eighths or pairs of eighths (:mod:`.triple_bar`), and a compound bar
    as two or four felt beats (:mod:`.compound_bar`)."""
    fp = features.params
    envelope, bands = track.envelope, track.bands
    subdivision = subdivision_profile(envelope, pulse_frames)
    if compound_probability(subdivision) > 0.5:
        moved = rephase_compound_beats(envelope, pulse_frames)
        if not np.array_equal(moved, pulse_frames):
            pulse_frames = moved
            subdivision = subdivision_profile(envelope, pulse_frames)

    def describe(frames: np.ndarray) -> BeatFeatures:
        return beat_sync_features(
            frames,
            envelope=envelope,
            band_envelopes=bands.stack(),
            mel_db=features.mel_db,
            rms=features.rms,
            pitch_spectrum=features.pitch_spectrum,
            pitch_hop_ratio=fp.pitch_hop_length / fp.hop_length,
            pitch_bin_midi=fp.pitch_bin_midi(),
        )

    feats = describe(pulse_frames)
    pulse_bpm = _felt_bpm(pulse_frames / track.frame_rate)
    settings: dict[str, Any] = {
        "subdivision": subdivision,
        "candidates": params.meter_candidates,
        "min_fit": params.min_meter_fit,
        "pulse_bpm": pulse_bpm,
    }
    meter = estimate_meter(feats, **settings)
    triple = None
    if meter.decision == "triple" and not meter.compound:
        triple = triple_bar_evidence(
            envelope, bands.high, pulse_frames, meter,
            pulse_bpm=pulse_bpm or track.tempo.bpm or 0.0,
        )
        reading, _ = triple_bar_reading(triple)
        if reading == "eighths":
            meter = estimate_meter(feats, bar_of_three="eighths", **settings)
        elif reading == "two_eighths":
            pulse_frames, meter = regroup_as_compound(pulse_frames, meter)
    compound = None
    if meter.compound and meter.pulses_per_bar == 2 * meter.pulse_group:
        group = meter.pulse_group
        felt = feats if group == 1 else describe(pulse_frames[meter.phase % group :: group])
        rate = _felt_bpm(pulse_frames / track.frame_rate)
        felt_bpm = None if rate is None else rate / group
        meter, compound = compound_bar(meter, felt, felt_bpm=felt_bpm)
    return BarMeter(pulse_frames, meter, triple, compound)


@analyzer(
    "rhythm",
    version="16",
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
        return _empty(track)
    est = track.tempo
    frame_rate, duration, onset_rate = track.frame_rate, track.duration, track.onset_rate
    from_changes = track.from_changes
    pulse_frames, octave_check, octave_sure = check_octave(track, p)
    measured = bar_meter(features, track, pulse_frames, p)
    pulse_frames, meter = measured.pulse_frames, measured.meter
    beat_frames, position = _felt_grid(pulse_frames, meter)
    bar = None if meter.pulses_per_bar is None else meter.pulses_per_bar // meter.pulse_group
    soft_attacks = beat_prominence(track.envelope, beat_frames) < p.soft_beat_prominence
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
    beat_times = beat_frames / frame_rate + p.latency_s
    inside = (beat_times >= 0) & (beat_times <= duration)
    beat_times = beat_times[inside]
    bpm = _felt_bpm(beat_times)
    if bpm is None:
        return _empty(onset_rate)
    if soft_attacks:
        # Each beat on a line through its neighbours, anchored on the clearest attacks; the
        # tempo stays the tracked grid's.
        strength = onset_strength_at(track.envelope, beat_frames[inside])
        beat_times = np.clip(regularize_beats(beat_times, strength=strength), 0.0, duration)

    result: dict[str, Any] = {}
    if position is not None and bar is not None:
        down = beat_times[position[inside] == 0]
        compound = bool(meter.compound)
        numerator, signature = _time_signature(bar, compound)
        result.update(
            downbeats=[float(t) for t in down],
            beats_per_bar=bar,
            numerator=numerator,
            compound=compound,
            time_signature=signature,
            meter_confidence=float(np.clip(meter.confidence, 0.0, 1.0)),
            meter_alternative=(
                None if meter.alternative is None else _time_signature(*meter.alternative)[1]
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
    confidence = periodicity * margin * (0.5 + 0.5 * (stability or 0.0))
    # x the octave check's probability that this level is right (AUROC of the confidence for
    # Acc1 on the accuracy benchmark, all 208 clips: 0.72 without this factor, 0.77 with it).
    confidence *= octave_sure
    if from_changes:
        # The beat level was inferred from the harmonic rhythm: never sure enough to skip review.
        confidence *= CHANGE_TEMPO_CONFIDENCE * est.octave_margin
    return RhythmResult(
        bpm=float(bpm),
        bpm_confidence=float(np.clip(confidence, 0.0, 1.0)),
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
