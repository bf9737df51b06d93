"""The metre of a tracked pulse grid: bar length, downbeats and subdivision.

Bar length and downbeat phase come from beat-synchronous accents, bass, harmony and timbre
changes (:mod:`.beat_features`, :mod:`.bar_length`, :mod:`.bar_phase`); the compound
subdivision from onsets at the beat's thirds (:mod:`.subdivision`). Compound beats then
start on the long notes (:mod:`.compound_phase`): on running eighths the onsets leave three
phases equally good, and listeners put the beat where a note is held. A bar of three tracked
pulses is read by the onsets across it (:mod:`.triple_bar`) as three beats (3/4), the eighth
notes of a 6/8 or 12/8 bar, or pairs of eighths of a 6/8 bar. A compound bar is two felt
beats (6/8) or four (12/8) by how its first and third felt beats differ in accent, loudness,
chord, bass and timbre change (:mod:`.compound_bar`).

Examples
--------
>>> time_signature(3, True)
(9, '9/8')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from linernotes.analyzers.rhythm.bar_length import MeterEstimate, estimate_meter
from linernotes.analyzers.rhythm.beat_features import (
    BeatFeatures,
    FrameProfiles,
    beat_sync_features,
    frame_profiles,
)
from linernotes.analyzers.rhythm.beat_tracking import felt_bpm
from linernotes.analyzers.rhythm.compound_bar import compound_bar
from linernotes.analyzers.rhythm.compound_phase import rephase_compound_beats
from linernotes.analyzers.rhythm.learned_meter import learned_meter
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.pulse import PulseTrack
from linernotes.analyzers.rhythm.subdivision import compound_probability, subdivision_profile
from linernotes.analyzers.rhythm.triple_bar import (
    regroup_as_compound,
    triple_bar_evidence,
    triple_bar_reading,
)

__all__ = ["BarMeter", "bar_meter", "describe_pulses", "learned_bar_meter", "time_signature"]


def time_signature(pulses: int, compound: bool) -> tuple[int, str]:
    if compound:
        return 3 * pulses, f"{3 * pulses}/8"
    return pulses, f"{pulses}/4"


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


def describe_pulses(
    features: Any, track: PulseTrack, frames: np.ndarray, profiles: FrameProfiles | None = None
) -> BeatFeatures:
    """The beat-synchronous features (:func:`.beat_features.beat_sync_features`) of the pulses
    at ``frames`` of a tracked track; ``profiles`` are the track's :func:`.frame_profiles`
    when already computed (computed here otherwise)."""
    fp = features.params
    if profiles is None:
        profiles = track_profiles(features)
    return beat_sync_features(
        frames,
        envelope=track.envelope,
        band_envelopes=track.bands.stack(),
        rms=features.rms,
        profiles=profiles,
        pitch_hop_ratio=fp.pitch_hop_length / fp.hop_length,
    )


def track_profiles(features: Any) -> FrameProfiles:
    """The per-frame profiles of a track that every description of its beats averages."""
    return frame_profiles(
        features.mel_db, features.pitch_spectrum, features.params.pitch_bin_midi()
    )


def learned_bar_meter(
    features: Any, track: PulseTrack, pulse_frames: np.ndarray, params: RhythmParams
) -> MeterEstimate:
    """The metre of pulses tracked on the learned activation (:func:`.learned_meter.
    learned_meter` with the rhythm settings), its bars turned by the beats' hand-made evidence
    unless ``params.learned_bar_evidence`` is off."""
    if track.activation is None:
        raise ValueError("the learned metre needs a track with the learned activation")
    evidence = (describe_pulses(features, track, pulse_frames).downbeat_evidence
                if params.learned_bar_evidence and pulse_frames.size else None)
    return learned_meter(track.envelope, track.activation[1], pulse_frames,
                         shift_cost=params.bar_shift_cost, long_bias=params.bar_long_bias,
                         floor=params.bar_strength_floor, evidence=evidence)


def bar_meter(
    features: Any, track: PulseTrack, pulse_frames: np.ndarray, params: RhythmParams
) -> BarMeter:
    """Bar length, downbeats and subdivision of the pulses; pulses that divide into three
    start on the long notes (:mod:`.compound_phase`), a bar of three pulses is read as
    three beats, compound eighths or pairs of eighths (:mod:`.triple_bar`), and a compound bar
    as two or four felt beats (:mod:`.compound_bar`)."""
    envelope = track.envelope
    subdivision = subdivision_profile(envelope, pulse_frames)
    if compound_probability(subdivision) > 0.5:
        moved = rephase_compound_beats(envelope, pulse_frames)
        if not np.array_equal(moved, pulse_frames):
            pulse_frames = moved
            subdivision = subdivision_profile(envelope, pulse_frames)

    profiles = track_profiles(features)  # once: the felt beats of a compound bar reuse them

    def describe(frames: np.ndarray) -> BeatFeatures:
        return describe_pulses(features, track, frames, profiles)

    feats = describe(pulse_frames)
    pulse_bpm = felt_bpm(pulse_frames / track.frame_rate)
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
            envelope, track.bands.high, pulse_frames, meter,
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
        rate = felt_bpm(pulse_frames / track.frame_rate)
        felt_rate = None if rate is None else rate / group
        meter, compound = compound_bar(meter, felt, felt_bpm=felt_rate)
    return BarMeter(pulse_frames, meter, triple, compound)
