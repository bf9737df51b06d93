"""A conditional logit: which one of a few alternatives is the true one, from the evidence of
each alternative (the phases of a bar, the turns of decoded bars).

The probability of alternative ``k`` of an item is the softmax over that item's alternatives
of ``w`` times their evidence rows; the fit minimises the negative log-likelihood of the true
alternatives plus an L2 penalty. Used by ``bench/fit_downbeat`` and
``bench/fit_learned_downbeat``.

Examples
--------
>>> import numpy as np
>>> items = [np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])]
>>> w = fit(items, [0, 1], ridge=0.1)
>>> bool(w[0] > 0), [int(np.argmax(x @ w)) for x in items]
(True, [0, 1])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.optimize

__all__ = ["fit", "loss"]


def loss(w: np.ndarray, items: Sequence[np.ndarray], truths: Sequence[int], ridge: float
         ) -> tuple[float, np.ndarray]:
    """Negative log-likelihood of the true alternatives (plus the ridge) and its gradient;
    ``items[i]`` is item ``i``'s evidence, one row per alternative."""
    total, grad = ridge * float(w @ w), 2 * ridge * w
    for x, true in zip(items, truths, strict=True):
        s = x @ w
        p = np.exp(s - s.max())
        p /= p.sum()
        total -= float(np.log(p[true] + 1e-300))
        grad = grad - (x[true] - p @ x)
    return total, grad


def fit(items: Sequence[np.ndarray], truths: Sequence[int], *, ridge: float,
        start: np.ndarray | None = None) -> np.ndarray:
    """The weights that best pick each item's true alternative."""
    items = [np.asarray(x, np.float64) for x in items]
    w0 = np.zeros(items[0].shape[1]) if start is None else np.asarray(start, np.float64)
    res = scipy.optimize.minimize(loss, w0, args=(items, list(truths), ridge), jac=True,
                                  method="L-BFGS-B")
    return res.x
