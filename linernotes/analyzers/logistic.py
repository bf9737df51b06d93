"""The logistic models the rhythm analysis fits on rendered songs, evaluated one way.

Each model is a tuple of weights, bias first, over named pieces of evidence (the octave check,
the reading of a bar of three, the compound beat, the meter confidence); the names fix the
order of the weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["logistic_probability"]


def logistic_probability(
    weights: Sequence[float], evidence: Mapping[str, float], names: Sequence[str]
) -> float:
    """``1 / (1 + exp(-(weights[0] + sum(weights[i + 1] * evidence[names[i]]))))``.

    Examples
    --------
    >>> logistic_probability((0.0, 2.0), {"x": 0.0}, ("x",))
    0.5
    """
    x = np.array([1.0, *(evidence[k] for k in names)])
    return float(1.0 / (1.0 + np.exp(-float(np.dot(weights, x)))))
