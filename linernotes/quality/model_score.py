"""The model's quality opinion: the ``quality`` prompt's five scores, validated and weighted.

The listen layer parses the reply (tolerating fences, single quotes, truncation, 0-10 scales)
into ``record.listen.entries["quality"].parsed``; this module re-validates those numbers and
combines them. A reply that could not be parsed, or that holds no usable score, is marked
``parse_failed`` with its reason and gets **no** score - never a silent 0 that would sink the
track in a filter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from linernotes.listen.parse import extract_json
from linernotes.models.quality import MODEL_SCORE_KEYS, ModelQuality, ModelStatus
from linernotes.quality.weights import MODEL_WEIGHTS
from linernotes.quality.weights import check_weights as check_weights_of


def check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Validated model-score weights (:data:`~linernotes.quality.weights.MODEL_WEIGHTS`
    when ``None``): known keys only, non-negative, not all zero (unlisted keys get 0)."""
    return check_weights_of(weights, MODEL_WEIGHTS, "model score")


def _valid(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) and 0.0 <= v <= 1.0 else None


def model_quality(
    parsed: Mapping[str, Any] | None,
    *,
    error: str | None = None,
    weights: Mapping[str, float] | None = None,
    model_id: str | None = None,
) -> ModelQuality:
    """Validate the five scores of a parsed ``quality`` reply and weight them.

    ``parsed`` is the reply's parsed JSON (already rescaled to [0, 1] by the listen parser);
    values outside [0, 1], non-numbers and missing keys are reported. The weighted sum is
    renormalised over the valid scores (status ``partial`` when some are missing).
    """
    w = check_weights(weights)
    if parsed is None:
        return ModelQuality(
            status="parse_failed",
            weights=w,
            model_id=model_id,
            reason=f"reply not parsed: {error or 'no JSON object'}",
        )
    scores: dict[str, float] = {}
    problems: list[str] = []
    for key in MODEL_SCORE_KEYS:
        if key not in parsed:
            continue
        value = _valid(parsed[key])
        if value is None:
            problems.append(f"{key}={parsed[key]!r} not a number in [0, 1]")
        else:
            scores[key] = round(value, 4)
    missing = [k for k in MODEL_SCORE_KEYS if k not in scores]
    used = {k: w[k] for k in scores if w[k] > 0}
    if not used:
        return ModelQuality(
            status="parse_failed",
            scores=scores,
            weights=w,
            missing=missing,
            model_id=model_id,
            reason="no usable quality score in the reply"
            + (": " + "; ".join(problems) if problems else ""),
        )
    total = sum(used.values())
    score = round(sum(w[k] * scores[k] for k in used) / total, 4)
    status: ModelStatus = "partial" if missing else "ok"
    reason = f"model score {score:.2f} from {len(scores)} of 5 scores"
    if problems:
        reason += "; " + "; ".join(problems)
    return ModelQuality(
        status=status,
        scores=scores,
        score=score,
        weights=w,
        missing=missing,
        reason=reason,
        model_id=model_id,
    )


def model_quality_from_text(
    text: str, *, weights: Mapping[str, float] | None = None
) -> ModelQuality:
    """Parse a raw ``quality`` reply (as the listen layer would) and validate its scores."""
    from linernotes.listen.parse import parse_quality

    try:
        obj, notes = extract_json(text)
        parsed = parse_quality(obj, notes)
    except ValueError as exc:
        return model_quality(None, error=str(exc), weights=weights)
    return model_quality(parsed, weights=weights)


def model_quality_from_listen(
    listen: Any, *, weights: Mapping[str, float] | None = None, prompt_id: str = "quality"
) -> ModelQuality:
    """From a record's ``listen`` section (or ``None``): ``absent`` when the quality prompt
    was not asked, ``parse_failed`` when its reply could not be read."""
    entries = getattr(listen, "entries", None) or {}
    entry = entries.get(prompt_id)
    if entry is None:
        return ModelQuality(
            status="absent", weights=check_weights(weights), reason="no quality prompt answer"
        )
    return model_quality(
        entry.parsed, error=entry.parse_error, weights=weights, model_id=entry.model_id
    )
