"""What the rhythm stage reports: the result model and its record-summary fields.

Conventions
-----------
* ``bpm`` and ``beats`` are the **felt beat**. In compound metres (6/8, 9/8, 12/8) that is the
  dotted quarter, as in most annotated datasets: a 6/8 song with eighth notes at 270 per minute
  has ``bpm`` 90 and two beats per bar.
* ``time_signature`` is the notated signature: ``"4/4"``, ``"3/4"``, ``"2/4"``, ``"5/4"``,
  ``"7/4"`` for simple metres and ``"6/8"``, ``"9/8"``, ``"12/8"`` for compound ones.
* ``beats_per_bar`` counts the entries of ``beats`` in a bar (2 for 6/8, 4 for 12/8 and 4/4),
  so ``downbeats`` is every ``beats_per_bar``-th beat wherever the bar grid runs undisturbed;
  ``numerator`` is the written numerator (6 for 6/8), which is what ACE-Step's
  ``timesignature`` field expects.
* Nothing is invented: silence or a signal without periodicity gives ``bpm=None``, no beats and
  no metre, all with confidence 0, and says why in ``no_tempo_reason`` (``"silent"``,
  ``"too short"``, ``"no steady pulse"``); too few beats for two bars gives
  ``time_signature=None``.
  A metre whose bar fits nothing is reported as a guess (``meter_decision="guess"``) with a
  confidence that sends it to review.

Examples
--------
>>> summarize_rhythm(empty_result(reason="silent"))["bpm"] is None
True
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "RELATIONS",
    "NoTempoReason",
    "Relation",
    "RhythmResult",
    "TempoCandidate",
    "TempoSegment",
    "empty_result",
    "summarize_rhythm",
]


#: Why a track has no tempo: silence, a clip under ``RhythmParams.min_duration_s``, or no
#: periodicity above what chance gives a clip of its length (in the learned beat activation,
#: the attacks and the pitch changes).
NoTempoReason = Literal["silent", "too short", "no steady pulse"]

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
    bpm_confidence: float = Field(
        ge=0, le=1, description="Probability that `bpm` is right within 4 % (calibrated)."
    )
    bpm_evidence: dict[str, float] = Field(
        default_factory=dict, description="What `bpm_confidence` was computed from."
    )
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
        None, description="Which bar-length choice was made (`bar_length.METER_DECISIONS`)."
    )
    meter_decision_margin: float | None = Field(
        None, ge=0, description="Distance of that choice's evidence from its threshold."
    )
    no_tempo_reason: NoTempoReason | None = Field(
        None, description="Why `bpm` is null (set only then)."
    )
    onset_rate: float = Field(0.0, ge=0, description="Detected onsets per second.")
    beat_prominence: float | None = Field(
        None, ge=0, description="How sharply the onsets mark the beats (drums 3-10, bowed 1-2)."
    )
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
        description="Whether the octave check (`tempo_octave.octave_decision`) doubled or halved "
        "the tracked pulse to give `bpm`.",
    )
    tempo_segments: list[TempoSegment] = Field(
        default_factory=list,
        description="Stretches of steady tempo (one when the tempo never changes by > 4 %).",
    )


def empty_result(
    onset_rate: float = 0.0, *, reason: NoTempoReason
) -> RhythmResult:
    """The result of a track with no tempo to report, with the reason."""
    return RhythmResult(bpm=None, bpm_confidence=0.0, onset_rate=onset_rate,
                        no_tempo_reason=reason)


def summarize_rhythm(result: RhythmResult) -> dict[str, Any]:
    """Record-summary fields: BPM to 0.01, times to the millisecond."""
    return {
        "bpm": None if result.bpm is None else round(result.bpm, 2),
        "time_signature": result.time_signature,
        "beats": [round(t, 3) for t in result.beats],
        "downbeats": [round(t, 3) for t in result.downbeats],
    }
