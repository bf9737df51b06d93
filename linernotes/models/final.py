"""The reconciled ``final`` section: one value per training field with its confidence and
provenance, every disagreement between sources, and the fields a person should review.

It is derived data (a pure function of the record, the human edits and the options), so it
can be recomputed at any time; human values come from the edits layer, never from here.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

#: Bumped when the reconcile rules change what they produce.
RECONCILE_VERSION = "4"

Source = Literal["measured", "model", "human", "tagger", "tags", "lookup", "default"]

#: The fields reconcile produces, in display order.
FINAL_FIELDS: tuple[str, ...] = (
    "caption",
    "genres",
    "moods",
    "instruments",
    "is_instrumental",
    "vocal_language",
    "lyrics",
    "bpm",
    "key",
    "time_signature",
    "duration",
    "title",
    "artist",
    "album",
    "year",
    "comment",
)


class Alternative(BaseModel):
    """Another value a reviewer may pick for a field: a measured half/double tempo reading,
    the second key candidate, or what a model or the tags said instead."""

    value: Any
    source: Source
    origin: str | None = Field(None, description="The analyzer reading, prompt or tag it is.")
    score: float | None = Field(None, description="The analyzer's score for it, if it has one.")


class FinalValue(BaseModel):
    """One final field: the value, how sure we are, where it came from and what else was said.

    ``review`` is set when a person should look at the field; ``review_reasons`` says why
    (one line each) and ``alternatives`` lists the other candidate values, so a review list
    or UI needs nothing but this object.
    """

    value: Any = None
    confidence: float = 0.0
    provenance: Source = "default"
    origin: str | None = Field(None, description="The prompt, analyzer or author it came from.")
    locked: bool = False
    review: bool = False
    note: str | None = None
    review_reasons: list[str] = Field(default_factory=list)
    alternatives: list[Alternative] = Field(default_factory=list)


class Conflict(BaseModel):
    """Two sources disagreed about a field: both values, which one won and why."""

    field: str
    chosen: Any
    chosen_source: Source
    other: Any
    other_source: Source
    other_origin: str | None = None
    reason: str


class TempoDecision(BaseModel):
    """How the half/double-tempo question was settled."""

    measured_bpm: float | None
    chosen_bpm: float | None
    relation: str = Field(description="primary, half or double: the measured reading chosen.")
    model_bpm: float | None = None
    reason: str


class FinalFields(BaseModel):
    """Everything reconcile decided for one track (``record.final`` in the track record)."""

    version: str = RECONCILE_VERSION
    fields: dict[str, FinalValue] = Field(default_factory=dict)
    conflicts: list[Conflict] = Field(default_factory=list)
    review: list[str] = Field(default_factory=list, description="Fields flagged for review.")
    tempo_decision: TempoDecision | None = None
    structured_by: str = "rules"
    hints: dict[str, str] = Field(default_factory=dict)
    lookup: dict[str, Any] | None = Field(None, description="The metadata match used, if any.")
    reconciled_at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    def value(self, name: str, default: Any = None) -> Any:
        """The final value of ``name`` (``default`` when absent or null)."""
        item = self.fields.get(name)
        return default if item is None or item.value is None else item.value

    def values(self) -> dict[str, Any]:
        """``{field: value}`` for every field, in :data:`FINAL_FIELDS` order."""
        return {name: self.value(name) for name in FINAL_FIELDS}
