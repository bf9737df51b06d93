"""Every weight of the quality scores, and the one check they all go through.

=====================  ==============================================================
:data:`MODEL_WEIGHTS`  the ``quality`` prompt's five scores (the recommender filter's
                       published formula)
:data:`OBJECTIVE_WEIGHTS`  the objective detectors: the faults that ruin a track for
                       training or listening (clipping, lossy band-limiting, broken
                       stereo) weigh more than matters of mastering taste (loudness
                       range, crest factor)
:data:`COMBINE_WEIGHTS`  objective, model and external components of the overall score
=====================  ==============================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from linernotes.models.quality import MODEL_SCORE_KEYS

MODEL_WEIGHTS: dict[str, float] = dict(
    zip(MODEL_SCORE_KEYS, (0.15, 0.30, 0.25, 0.10, 0.20), strict=True)
)
OBJECTIVE_WEIGHTS: dict[str, float] = {
    "clipping": 0.20,
    "bandwidth": 0.15,
    "stereo": 0.15,
    "noise_floor": 0.10,
    "silence": 0.10,
    "loudness": 0.10,
    "true_peak": 0.05,
    "crest_factor": 0.05,
    "loudness_range": 0.05,
    "dc_offset": 0.05,
}
COMBINE_WEIGHTS: dict[str, float] = {"objective": 0.3, "model": 0.5, "external": 0.2}


def check_weights(
    weights: Mapping[str, float] | None, defaults: Mapping[str, float], what: str
) -> dict[str, float]:
    """Validated weights over the keys of ``defaults`` (``defaults`` when ``weights`` is
    ``None``): known keys only, finite, non-negative, not all zero; unlisted keys get 0.

    Examples
    --------
    >>> check_weights({"model": 1.0}, COMBINE_WEIGHTS, "score component")
    {'objective': 0.0, 'model': 1.0, 'external': 0.0}
    >>> check_weights({"loud": 1.0}, COMBINE_WEIGHTS, "score component")
    Traceback (most recent call last):
    ValueError: unknown score component(s): loud
    """
    if weights is None:
        return dict(defaults)
    unknown = set(weights) - set(defaults)
    if unknown:
        raise ValueError(f"unknown {what}(s): {', '.join(sorted(unknown))}")
    out = {k: float(weights.get(k, 0.0)) for k in defaults}
    if any(v < 0 or not math.isfinite(v) for v in out.values()) or sum(out.values()) <= 0:
        raise ValueError(f"{what} weights must be finite, non-negative and not all zero")
    return out
