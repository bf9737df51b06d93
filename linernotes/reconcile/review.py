"""What a person should review, and why: the one place the review thresholds live.

:func:`flag` runs last in :func:`~linernotes.reconcile.reconcile` (and after a crop's own
edits). A field is flagged when

- it has **no value** where a track with sound should have one (caption, genres, bpm, key,
  time signature, duration);
- its **confidence** is below :data:`REVIEW_BELOW` — measured bpm/key/meter carry the
  analyzers' own 0..1 confidences (so a shaky measurement is flagged even when no model
  said anything), model text carries ``MODEL_CONFIDENCE``;
- sources **conflict** about it (measurement vs model, tags vs lookup), including a
  **half/double tempo decision** that picked a measured half or double reading;
- for bpm, the tempo **octave is uncertain**: the measured half or double reading scores
  at least :data:`OCTAVE_AMBIGUITY` of the primary reading and no model felt tempo settled it.

Human values are never flagged (a person already decided). Each flagged field gets one
reason line per cause and the alternatives a reviewer could pick instead (the half/double
readings with their scores, the tonal runner-up key, what the model or tags said).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from linernotes.models.final import Alternative, Conflict, FinalFields, FinalValue
from linernotes.reconcile.normalize import canonical_key

if TYPE_CHECKING:
    from linernotes.models import TrackRecord

#: A value whose confidence is below this is flagged for review (any field, any source,
#: unless :data:`MEASURED_REVIEW_BELOW` has a threshold of its own for it).
REVIEW_BELOW = 0.5
#: Thresholds of the measured fields, whose confidences are calibrated probabilities of being
#: right: each flags at least 90 % of the wrong values of the development split of
#: ``bench/corpus_set`` (chosen by ``bench/fit_confidence``; ``bench/measure`` reports the
#: shares of wrong and right values flagged on the test split).
#: On that split the thresholds flag 94 % (bpm), 92 % (key) and 93 % (time signature) of wrong
#: values and 66 %, 39 % and 66 % of right ones: the confidences do not yet separate right
#: from wrong well enough for both targets, and missing a wrong value is the costlier error.
MEASURED_REVIEW_BELOW: dict[str, float] = {"bpm": 0.965, "key": 0.814, "time_signature": 0.725}
#: The measured half or double tempo reading scoring at least this fraction of the primary
#: reading's score marks the tempo octave as uncertain (unless the model's felt tempo agreed).
OCTAVE_AMBIGUITY = 0.8
#: Fields expected to have a value on a track with sound (missing -> flagged).
EXPECTED = ("caption", "genres", "bpm", "key", "time_signature", "duration")


def tempo_readings(record: TrackRecord, measured: float) -> list[tuple[str, float, float | None]]:
    """``(relation, bpm, score)`` for the primary tempo and its measured half and double
    readings (computed, without a score, when the analyzer listed none), within 30..300 BPM."""
    section = record.analyses.get("rhythm")
    listed = section.result.get("bpm_candidates", []) if section else []
    primary = next((c.get("score") for c in listed if c.get("relation") == "primary"), None)
    readings: list[tuple[str, float, float | None]] = [("primary", measured, primary)]
    for relation, ratio in (("half", 0.5), ("double", 2.0)):
        found = next((c for c in listed if c.get("relation") == relation), None)
        bpm = found["bpm"] if found is not None else measured * ratio
        score = found.get("score") if found is not None else None
        if 30.0 <= bpm <= 300.0:
            readings.append((relation, round(float(bpm), 3), score))
    return readings


def flag(
    final: FinalFields,
    record: TrackRecord | None,
    *,
    review_below: float = REVIEW_BELOW,
    octave_ambiguity: float = OCTAVE_AMBIGUITY,
    tempo_tolerance: float = 0.04,
) -> None:
    """Set ``review``, ``review_reasons`` and ``alternatives`` of every field of ``final`` and
    the ``final.review`` list (see the module docstring for the rules)."""
    conflicts: dict[str, list[Conflict]] = {}
    for conflict in final.conflicts:
        if conflict.chosen_source != "human":
            conflicts.setdefault(conflict.field, []).append(conflict)
    for name, item in final.fields.items():
        item.review_reasons = []
        item.alternatives = []
        if item.provenance == "human":
            item.review = False
            continue
        reasons: list[str] = []
        below = review_below
        if item.provenance == "measured" and review_below == REVIEW_BELOW:
            below = MEASURED_REVIEW_BELOW.get(name, review_below)
        if item.value is None and name in EXPECTED:
            reasons.append(_no_value_reason(name, record))
        elif item.value is not None and item.confidence < below:
            reasons.append(f"confidence {_below_text(item.confidence, below)} is below {below:g}")
        reasons += [_conflict_reason(c) for c in conflicts.get(name, [])]
        if name == "bpm" and record is not None:
            reasons += _octave_reasons(final, record, item, octave_ambiguity, tempo_tolerance)
        item.review_reasons = list(dict.fromkeys(reasons))
        item.review = bool(reasons)
        if item.review:
            item.alternatives = alternatives(name, item, conflicts.get(name, []), record)
    final.review = [name for name, item in final.fields.items() if item.review]


#: Where an analyzer states why a field has no value: (stage, result field).
NO_VALUE_REASONS: dict[str, tuple[str, str]] = {
    "key": ("tonal", "no_key_reason"),
    "bpm": ("rhythm", "no_tempo_reason"),
    "time_signature": ("rhythm", "no_tempo_reason"),
}


def _no_value_reason(name: str, record: TrackRecord | None) -> str:
    """"no value", with the analyzer's stated reason where it gave one (a key is ``null``
    only with a reason: silent, too short, percussive, atonal; a tempo, and with it the time
    signature, only when the track is silent, too short or has no steady pulse)."""
    if name in NO_VALUE_REASONS and record is not None:
        stage, field = NO_VALUE_REASONS[name]
        section = record.analyses.get(stage)
        why = section.result.get(field) if section else None
        if why:
            return f"no value: {why}"
    return "no value"


def _conflict_reason(conflict: Conflict) -> str:
    origin = f" ({conflict.other_origin})" if conflict.other_origin else ""
    return f"{conflict.other_source}{origin} says {_show(conflict.other)}: {conflict.reason}"


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _octave_reasons(
    final: FinalFields,
    record: TrackRecord,
    item: FinalValue,
    threshold: float,
    tolerance: float,
) -> list[str]:
    """The tempo-octave doubt, unless a half/double reading was already chosen (a conflict
    says so) or the model's felt tempo agreed with the chosen tempo."""
    decision = final.tempo_decision
    if item.value is None or decision is None or decision.relation != "primary":
        return []
    if decision.model_bpm and abs(math.log(decision.model_bpm / item.value)) <= math.log1p(
        tolerance
    ):
        return []
    readings = tempo_readings(record, decision.measured_bpm or item.value)
    primary = readings[0][2] or 1.0
    out = []
    for relation, bpm, score in readings[1:]:
        if score is not None and primary > 0 and score / primary >= threshold:
            out.append(
                f"tempo octave uncertain: the measured {relation} reading {bpm:g} BPM scores "
                f"{score / primary:.2f} of the primary (>= {threshold:g})"
            )
    return out


def alternatives(
    name: str, item: FinalValue, conflicts: list[Conflict], record: TrackRecord | None
) -> list[Alternative]:
    """Other values a reviewer may pick for field ``name``: measured readings first (half and
    double tempo, the tonal runner-up key, the time signature that lost the bar-length
    choice), then what other sources said; never the value itself, each value once."""
    out: list[Alternative] = []
    if record is not None and name == "bpm" and record.summary.bpm is not None:
        for relation, bpm, score in tempo_readings(record, record.summary.bpm):
            out.append(Alternative(value=bpm, source="measured", origin=f"rhythm {relation}",
                                   score=score))  # fmt: skip
    if record is not None and name == "key":
        section = record.analyses.get("tonal")
        runner_up = section.result.get("runner_up") if section else None
        if isinstance(runner_up, dict) and runner_up.get("key"):
            out.append(Alternative(value=canonical_key(runner_up["key"]) or runner_up["key"],
                                   source="measured", origin="tonal runner-up",
                                   score=runner_up.get("score")))  # fmt: skip
    if record is not None and name == "time_signature":
        section = record.analyses.get("rhythm")
        other = section.result.get("meter_alternative") if section else None
        if other:
            out.append(Alternative(value=other, source="measured", origin="rhythm runner-up"))
    for conflict in conflicts:
        for value, source, origin in (
            (conflict.other, conflict.other_source, conflict.other_origin),
            (conflict.chosen, conflict.chosen_source, None),
        ):
            if value is not None:
                out.append(Alternative(value=value, source=source, origin=origin))
    seen: list[Any] = [item.value]
    unique = []
    for alt in out:
        if not any(_same(alt.value, v) for v in seen):
            seen.append(alt.value)
            unique.append(alt)
    return unique


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 0.01
    return a == b


class ReviewItem(BaseModel):
    """One flagged field of one track, as ``linernotes review`` lists it."""

    path: str
    field: str
    value: Any = None
    confidence: float = 0.0
    provenance: str = "default"
    reasons: list[str] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)


def review_items(
    final: FinalFields, path: str, fields: list[str] | tuple[str, ...] | None = None
) -> list[ReviewItem]:
    """The flagged fields of one track (only ``fields`` when given), in field order."""
    items = []
    for name in final.review:
        if fields is not None and name not in fields:
            continue
        item = final.fields[name]
        items.append(
            ReviewItem(path=path, field=name, value=item.value, confidence=item.confidence,
                       provenance=item.provenance, reasons=item.review_reasons,
                       alternatives=item.alternatives)
        )  # fmt: skip
    return items


def _below_text(confidence: float, below: float) -> str:
    """``confidence`` with two decimals, or more where two would round it up to the
    threshold it is below (0.6852 against 0.69 reads 0.685, not "0.69 is below 0.69")."""
    for digits in (2, 3, 4):
        text = f"{confidence:.{digits}f}"
        if float(text) < below:
            return text
    return f"{confidence:g}"
