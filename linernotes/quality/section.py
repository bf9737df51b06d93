"""The blend of the objective, model and external scores into the record's ``quality`` section.

The combined score is the weighted mean of the components a track has - objective (always,
from the measurements), model (when the ``quality`` prompt was answered and parsed) and
external (when imported) - with the weights renormalised over the components present and
written beside the score, so two tracks scored from different evidence can be told apart.
Default component weights: :data:`~linernotes.quality.weights.COMBINE_WEIGHTS`.
"""

from __future__ import annotations

from collections.abc import Mapping

from linernotes.models.quality import ModelQuality, ObjectiveQuality, QualitySection
from linernotes.quality.weights import COMBINE_WEIGHTS, check_weights


def combine(
    objective: ObjectiveQuality | None,
    model: ModelQuality | None = None,
    external: Mapping[str, float] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    external_source: str | None = None,
) -> QualitySection:
    """Build the section; ``external`` figures (already in [0, 1]) average into one component."""
    w = check_weights(weights, COMBINE_WEIGHTS, "score component")
    ext = dict(external or {})
    ext_score = round(sum(ext.values()) / len(ext), 4) if ext else None
    parts = {
        "objective": objective.score if objective is not None else None,
        "model": model.score if model is not None else None,
        "external": ext_score,
    }
    used = {k: w[k] for k, v in parts.items() if v is not None and w[k] > 0}
    notes = []
    if model is not None and model.status == "parse_failed":
        notes.append(f"model score left out: {model.reason}")
    combined = None
    if used:
        total = sum(used.values())
        used = {k: round(v / total, 4) for k, v in used.items()}
        combined = round(sum(used[k] * parts[k] for k in used), 4)  # type: ignore[operator]
    else:
        notes.append("no score available")
    return QualitySection(
        objective=objective,
        model=model,
        external=ext,
        external_source=external_source,
        external_score=ext_score,
        combined_score=combined,
        weights=used,
        notes=notes,
    )
