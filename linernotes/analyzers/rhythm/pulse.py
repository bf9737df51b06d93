"""The tracked pulse grid: onsets, periodicity, beat tracking and the octave check.

1. **Onsets** (:mod:`.onsets`): log-mel spectral flux averaged over all bands drives tempo
   and beats; flux in low, mid and high bands separately describes the accents.
2. **Tempo** (:mod:`.tempo`): periodicity of the envelope with a log-normal tempo prior.
   When the attacks show no periodicity (bowed strings, pads without drums), the period of
   the pitch changes (the harmonic rhythm) is found instead and divided into beats
   (:func:`.tempo.tempo_from_changes`); when the changes show no period either, a faint
   pulse in the attacks is still kept if it is above chance (:func:`.tempo.periodicity_floor`).
3. **Beats** (:mod:`.beat_tracking`): dynamic-programming beat tracking at that period,
   tracked again more rigidly when too many gaps leave the period.
4. **Octave check** (:mod:`.tempo_octave`): whether each tracked pulse is really two beats or
   half a beat; the pulse grid is then doubled or halved.

With the learned activation installed (:mod:`.activation`, ``RhythmParams.learned_activation``)
steps 2 and 3 run on its beat probability instead of the flux, and the stage skips the
octave check (the network was trained on the beat level); the flux is still computed, for the
onset rate and the subdivision of the beat. A grid that slips half a beat into a section and
back is tracked again with that section's activation read half a beat later
(:mod:`.phase_slip`). When the activation shows no periodic beat the
hand-made path above runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.ndimage

from linernotes.analyzers.rhythm.activation import WEIGHTS_FILE, features_activation
from linernotes.analyzers.rhythm.bar_decoding import peak_near_beats
from linernotes.analyzers.rhythm.beat_tracking import (
    double_pulses,
    refine_beats,
    track_steady_beats,
)
from linernotes.analyzers.rhythm.onsets import (
    OnsetBands,
    onset_strength_bands,
    pick_onsets,
    pitch_change_strength,
)
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.phase_slip import mend_phase_slips
from linernotes.analyzers.rhythm.result import NoTempoReason
from linernotes.analyzers.rhythm.tempo import (
    TempoEstimate,
    estimate_tempo,
    periodicity_floor,
    strength_floor,
    tempo_from_changes,
)
from linernotes.analyzers.rhythm.tempo_octave import (
    halve_pulses,
    octave_decision,
    octave_evidence,
    pulse_bpm,
)

__all__ = ["NoPulse", "PulseTrack", "check_octave", "track_pulses"]


def _unit(x: np.ndarray) -> np.ndarray:
    """``x`` divided by its standard deviation (unchanged when constant)."""
    sd = float(np.std(x))
    return x / sd if sd > 1e-12 else x


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
    #: The learned beat and downbeat activation the pulses were tracked on (else ``None``).
    activation: tuple[np.ndarray, np.ndarray] | None = None


@dataclass(frozen=True)
class NoPulse:
    """What is known of a track with no pulse to report: its onset rate and why."""

    onset_rate: float
    reason: NoTempoReason


def track_pulses(features: Any, params: RhythmParams) -> PulseTrack | NoPulse:
    """Onsets, periodicity and the tracked pulse grid of a track.

    Returns a :class:`NoPulse` (onset rate and reason) when there is no pulse to report:
    silence, a clip shorter than ``min_duration_s`` or a signal without periodicity.
    """
    p = params
    fp = features.params
    frame_rate = fp.sr / fp.hop_length
    n_frames = features.n_frames
    if n_frames < 4 or features.rms.size == 0:
        return NoPulse(0.0, "too short")
    if 20 * np.log10(max(float(np.max(features.rms)), 1e-12)) < p.silence_db:
        return NoPulse(0.0, "silent")

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
        return NoPulse(onset_rate, "too short")

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
    if p.learned_activation and WEIGHTS_FILE.exists():
        learned = _learned_track(features, envelope, bands, tempo_settings, p,
                                 duration=duration, onset_rate=onset_rate)
        if learned is not None:
            return learned
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
        return NoPulse(onset_rate, "no steady pulse")

    pulse_frames = track_steady_beats(
        envelope, period_frames=est.period_frames, tightness=p.tightness,
        max_off_period_share=p.max_off_period_share, steady_tightness=p.steady_tightness,
    )
    if pulse_frames.size < 2:
        return NoPulse(onset_rate, "no steady pulse")
    return PulseTrack(envelope=envelope, bands=bands, tempo=est, pulse_frames=pulse_frames,
                      from_changes=from_changes, frame_rate=frame_rate, duration=duration,
                      onset_rate=onset_rate)


def _learned_track(features: Any, envelope: np.ndarray, bands: OnsetBands,
                   tempo_settings: dict[str, Any], p: RhythmParams, *, duration: float,
                   onset_rate: float) -> PulseTrack | None:
    """The pulse grid tracked on the learned beat activation (``None`` when it shows no
    periodic beat: the hand-made path then tries)."""
    beat, down = features_activation(features)
    est = estimate_tempo(beat, **{**tempo_settings,
                                  "prior_center_bpm": p.learned_prior_center_bpm})
    if est.bpm is None or est.period_frames is None:
        return None

    def tracked(activation: np.ndarray) -> np.ndarray:
        return track_steady_beats(
            activation, period_frames=est.period_frames, tightness=p.learned_tightness,
            max_off_period_share=p.max_off_period_share, steady_tightness=p.steady_tightness,
        )

    pulse_frames = tracked(beat)
    if p.mend_phase_slips:
        beat, down, pulse_frames = mend_phase_slips(beat, down, pulse_frames, tracked)
    # A grid the network does not hear as beats (a held tone's one attack, a drone) is no
    # tempo: most tracked beats must carry a clear peak of the activation.
    if pulse_frames.size < 2 or float(
        np.median(peak_near_beats(beat, pulse_frames))) < p.learned_min_beat_peak:
        return None
    return PulseTrack(envelope=envelope, bands=bands, tempo=est, pulse_frames=pulse_frames,
                      from_changes=False, frame_rate=tempo_settings["frame_rate"],
                      duration=duration, onset_rate=onset_rate, activation=(beat, down))


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
