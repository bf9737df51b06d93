"""Settings of the rhythm stage, and the defaults its functions share.

The tempo range, the tempo prior, the periodicity window and the beat tracker's tightness
are defined once here: :class:`RhythmParams` (part of the stage's cache key) and the
defaults of the functions in :mod:`.tempo` and :mod:`.beat_tracking` read them.

Examples
--------
>>> RhythmParams().min_bpm == MIN_BPM
True
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_BPM",
    "MIN_BPM",
    "PRIOR_CENTER_BPM",
    "PRIOR_STD_OCTAVES",
    "TEMPO_HOP_S",
    "TEMPO_WIN_S",
    "TIGHTNESS",
    "RhythmParams",
]

#: Slowest and fastest tempo considered (beats a minute).
MIN_BPM, MAX_BPM = 30.0, 300.0
#: The tempo prior: most likely tempo, and its spread in octaves.
PRIOR_CENTER_BPM, PRIOR_STD_OCTAVES = 100.0, 1.0
#: Periodicity analysis window and hop (seconds).
TEMPO_WIN_S, TEMPO_HOP_S = 8.0, 2.0
#: How rigidly tracked beats follow the period.
TIGHTNESS = 100.0


class RhythmParams(BaseModel):
    """Settings of the rhythm stage (part of its cache key)."""

    model_config = ConfigDict(frozen=True)

    min_bpm: float = Field(MIN_BPM, gt=0, description="Slowest tempo considered.")
    max_bpm: float = Field(MAX_BPM, gt=0, description="Fastest tempo considered.")
    prior_center_bpm: float = Field(
        PRIOR_CENTER_BPM, gt=0, description="Most likely tempo a priori."
    )
    prior_std_octaves: float = Field(
        PRIOR_STD_OCTAVES, gt=0, description="Width of the tempo prior."
    )
    onset_lag: int = Field(2, ge=1, description="Frames between the spectra compared for flux.")
    onset_top_db: float = Field(80.0, gt=0, description="Dynamic range kept for onsets.")
    tempo_win_s: float = Field(TEMPO_WIN_S, gt=0, description="Periodicity analysis window.")
    tempo_hop_s: float = Field(TEMPO_HOP_S, gt=0, description="Hop between periodicity windows.")
    tightness: float = Field(TIGHTNESS, gt=0, description="How rigidly beats follow the period.")
    #: The onset flux peaks a few ms after the attack a listener hears: on the development
    #: split of ``bench/corpus_set`` the median beat of 86 clips at the right tempo sat 6.3 ms
    #: late (5.3 with drums, 11.3 without), so beats move that much earlier.
    latency_s: float = Field(-0.0063, description="Added to beat times (onset-peak delay).")
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
    #: envelope's), so its periodicity on noise fluctuates more and needs a higher floor.
    change_strength_noise: float = Field(
        1.0, ge=0, description="The same noise term for the periodicity of pitch changes."
    )
    #: Beats whose onsets rise less than this above the envelope around them
    #: (:func:`.beat_tracking.beat_prominence`) are placed on a line through their neighbours
    #: (:func:`.beat_tracking.regularize_beats`): soft attacks leave each tracked beat tens of
    #: ms off. Struck and plucked notes and drums (prominence 3-10) keep their tracked beats:
    #: in real music their timing is the performance's, which a line would flatten.
    soft_beat_prominence: float = Field(
        3.0, ge=0, description="Beat prominence below which the beat grid is regularised."
    )
    #: A pulse grid with more than this share of its gaps over 15 % off the period is tracked
    #: again at ``steady_tightness`` (:func:`.beat_tracking.track_steady_beats`): drumless
    #: piano in 7/8, 6/8 and 12/8 gets a beat squeezed into every bar.
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
    #: The learned path (:mod:`.activation`, :mod:`.learned_meter`); chosen on the dev split
    #: of ``bench/corpus_set`` with ``bench/activation_sweep``.
    learned_activation: bool = Field(
        True, description="Track beats and bars on the learned activation when it is installed."
    )
    learned_octave_check: bool = Field(
        False, description="Apply the hand-made octave check to beats of the learned path."
    )
    learned_latency_s: float = Field(0.0, description="Added to beat times of the learned path.")
    learned_bar_evidence: bool = Field(
        True, description="Turn the learned path's bars to the rotation whose downbeats weigh "
        "most on the network and the hand-made beat evidence (learned_meter.downbeat_score)."
    )
    #: Below every dev clip's (5th percentile 0.28); a held tone's single attack gives 0.01.
    learned_min_beat_peak: float = Field(
        0.1, ge=0, le=1, description="Median beat activation at the beats a learned grid needs."
    )
    mend_phase_slips: bool = Field(
        True, description="Read sections the learned grid slips half a beat into with the "
        "activation moved half a beat, and track again (phase_slip)."
    )
    #: 110 since rhythm 23: chosen on the three dev sets together (corpus, game music and
    #: LMMS's produced songs), where 90 halved fast songs with drums; see the tuning history.
    learned_prior_center_bpm: float = Field(
        110.0, gt=0, description="Tempo prior's centre on the learned activation."
    )
    learned_tightness: float = Field(
        TIGHTNESS, gt=0, description="Beat-tracking tightness on the learned activation."
    )
    bar_long_bias: float = Field(
        0.3,
        description="Log-likelihood per beat added to simple bars of three and four beats "
        "against a bar of two (a prior).",
    )
    bar_strength_floor: float = Field(
        0.2, ge=0, lt=0.5, description="Downbeat strengths are clipped to [floor, 1 - floor]."
    )
    bar_shift_cost: float = Field(
        2.0, ge=0, description="Cost (log-probability) of a bar line out of turn."
    )
