"""The logistic models the measured analysis fits, and the one data file that holds them.

Every fitted weight of the rhythm and tonal analyses lives in ``fitted_weights.json`` beside
this module. A model is a list of weights, bias first, over named pieces of evidence (the
octave check, the readings of a bar, the compound beat, the downbeat, the tempo, meter and
key confidences); the names are stored with the weights, so evidence computed under other
names fails loudly instead of being weighed by the wrong weight. The bench scripts that fit
the models write the file (:func:`write_models`: ``bench/tempo_octave``,
``bench/meter_readings``, ``bench/meter_calibration``, ``bench/key_calibration``, and on the
development split of ``bench/corpus_set`` ``bench/fit_confidence``, ``bench/fit_downbeat``
and ``bench/fit_learned_downbeat``); nothing else changes it.

Examples
--------
>>> model = fitted_model("compound_beat")
>>> model.features[:2], len(model.weights) == len(model.features) + 1
(('twelfth2', 'twelfth3'), True)
>>> logistic_probability((0.0, 2.0), {"x": 0.0}, ("x",))
0.5
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

__all__ = ["WEIGHTS_FILE", "LogisticModel", "fitted_model", "logistic_probability",
           "weights_for", "write_models", "write_weights"]

#: The data file of every fitted model (package data).
WEIGHTS_FILE = Path(__file__).with_name("fitted_weights.json")


def logistic_probability(
    weights: Sequence[float], evidence: Mapping[str, float], names: Sequence[str]
) -> float:
    """``1 / (1 + exp(-(weights[0] + sum(weights[i + 1] * evidence[names[i]]))))``."""
    x = np.array([1.0, *(evidence[k] for k in names)])
    return float(1.0 / (1.0 + np.exp(-float(np.dot(weights, x)))))


@dataclass(frozen=True)
class LogisticModel:
    """One fitted model: ``weights`` (bias first) over ``features``, what its probability
    is of (``probability_of``) and the script that fits it (``fitted_by``)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    probability_of: str = ""
    fitted_by: str = ""

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.features) + 1:
            raise ValueError(f"{len(self.weights)} weights for {len(self.features)} features "
                             "(a bias and one weight per feature expected)")

    def probability(self, evidence: Mapping[str, float]) -> float:
        """The model's probability given ``evidence`` (one value per feature name)."""
        return logistic_probability(self.weights, evidence, self.features)


@functools.cache
def _models(path: Path = WEIGHTS_FILE) -> dict[str, LogisticModel]:
    raw = json.loads(Path(path).read_text())
    return {name: LogisticModel(features=tuple(m["features"]),
                                weights=tuple(float(w) for w in m["weights"]),
                                probability_of=m.get("probability_of", ""),
                                fitted_by=m.get("fitted_by", ""))
            for name, m in raw.items()}


def fitted_model(name: str) -> LogisticModel:
    """The model called ``name`` in :data:`WEIGHTS_FILE`."""
    models = _models()
    if name not in models:
        raise KeyError(f"no fitted model {name!r} in {WEIGHTS_FILE} (have {sorted(models)})")
    return models[name]


def weights_for(name: str, features: Sequence[str]) -> tuple[float, ...]:
    """The weights of model ``name``, checked to be over ``features`` in that order (the
    evidence the calling code computes)."""
    model = fitted_model(name)
    if model.features != tuple(features):
        raise ValueError(f"fitted model {name!r} in {WEIGHTS_FILE} weighs {model.features}, "
                         f"the code computes {tuple(features)}: refit it")
    return model.weights


def _line(values: Sequence[object]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def write_models(updates: Mapping[str, LogisticModel], path: Path = WEIGHTS_FILE) -> None:
    """Replace the models named in ``updates`` in the weights file, keeping the others
    (written to a temporary file, then renamed over it). Weights are rounded to 3 decimals,
    as they have always been shipped."""
    path = Path(path)
    current = dict(_models(path)) if path.exists() else {}
    current.update({name: LogisticModel(m.features, tuple(round(float(w), 3) for w in m.weights),
                                        m.probability_of, m.fitted_by)
                    for name, m in updates.items()})
    blocks = []
    for name in sorted(current):
        m = current[name]
        blocks.append(
            f'  {json.dumps(name)}: {{\n'
            f'    "probability_of": {json.dumps(m.probability_of)},\n'
            f'    "fitted_by": {json.dumps(m.fitted_by)},\n'
            f'    "features": {_line(m.features)},\n'
            f'    "weights": {_line(m.weights)}\n  }}')
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".weights-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        f.write("{\n" + ",\n".join(blocks) + "\n}\n")
    os.replace(tmp, path)
    _models.cache_clear()


def write_weights(weights: Mapping[str, Sequence[float]], path: Path = WEIGHTS_FILE) -> None:
    """New weights for models already in the file (same features, same order): what a fitting
    script writes after it has fitted them."""
    write_models({name: replace(fitted_model(name), weights=tuple(float(v) for v in w))
                  for name, w in weights.items()}, path)
