"""The record's ``quality`` section: each detector's verdict, the objective, model and
external scores, and their blend (how they are computed: :mod:`linernotes.quality`).

A track scored from different evidence can be told apart: the combined score's ``weights``
are renormalised over the components the track has and written beside it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["pass", "warn", "fail", "unknown"]
ModelStatus = Literal["ok", "partial", "parse_failed", "absent"]

#: Bumped when the section's shape or the scoring changes.
QUALITY_VERSION = "1"
#: The five scores the ``quality`` prompt asks the model for.
MODEL_SCORE_KEYS: tuple[str, ...] = (
    "content_usefulness",
    "production_quality",
    "content_enjoyment",
    "production_complexity",
    "overall_recommendation_score",
)


class Detection(BaseModel):
    """One detector's result: a value, pass/warn/fail, the limits used and a reason.

    ``threshold`` holds the limits that decided the status (e.g. ``{"warn": 2.0, "fail": 5.0}``)
    in ``unit``; ``reason`` is one line a person can read in a filter report. ``unknown``
    means the figure could not be measured (a mono file has no stereo correlation): it never
    counts for or against the track.
    """

    value: float | None
    status: Status
    threshold: dict[str, float] = Field(default_factory=dict)
    unit: str = ""
    reason: str
    details: dict[str, float | int | None] = Field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """True when the detector warned or failed."""
        return self.status in ("warn", "fail")


class ObjectiveQuality(BaseModel):
    """Every detector's :class:`Detection`, the objective score in [0, 1] (``None`` when no
    detector could measure anything) and the weights it used."""

    detections: dict[str, Detection] = Field(default_factory=dict)
    score: float | None
    weights: dict[str, float] = Field(default_factory=dict)

    def failed(self) -> list[str]:
        return [name for name, det in self.detections.items() if det.status == "fail"]

    def warned(self) -> list[str]:
        return [name for name, det in self.detections.items() if det.status == "warn"]


class ModelQuality(BaseModel):
    """The model's validated quality scores, the weighted ``score`` (``None`` unless at least
    one score is valid), the weights used and what went wrong, if anything."""

    status: ModelStatus
    scores: dict[str, float] = Field(default_factory=dict)
    score: float | None = None
    weights: dict[str, float] = Field(default_factory=dict)
    missing: list[str] = Field(default_factory=list)
    reason: str = ""
    model_id: str | None = None


class QualitySection(BaseModel):
    """``record.quality``: every score that went into the verdict, and the verdict."""

    version: str = QUALITY_VERSION
    objective: ObjectiveQuality | None = None
    model: ModelQuality | None = None
    external: dict[str, float] = Field(default_factory=dict)
    external_source: str | None = None
    external_score: float | None = None
    combined_score: float | None = None
    weights: dict[str, float] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def flat_scores(self) -> dict[str, float]:
        """The scores-file view: the five model scores (when present), ``objective_score``,
        ``model_score``, ``external_score``, each external figure as ``ext_<name>``, and
        ``overall_quality_score`` (the combined score)."""
        out: dict[str, float] = {}
        if self.model is not None:
            scores = self.model.scores
            out.update({k: scores[k] for k in MODEL_SCORE_KEYS if k in scores})
            if self.model.score is not None:
                out["model_score"] = self.model.score
        if self.objective is not None and self.objective.score is not None:
            out["objective_score"] = self.objective.score
        if self.external_score is not None:
            out["external_score"] = self.external_score
        out.update({f"ext_{k}": v for k, v in self.external.items()})
        if self.combined_score is not None:
            out["overall_quality_score"] = self.combined_score
        return out
