"""Track quality: objective signal checks, the audio model's scores, external scores, their
combination, the scores file recommenders read, and :class:`QualityFilter`.

* :mod:`~linernotes.quality.detectors` - pure detectors, each returning a :class:`Detection`;
* :mod:`~linernotes.quality.spectrum` - :class:`SpectrumAccumulator` (native-rate long-term
  spectrum), :func:`effective_bandwidth_hz`, :func:`noise_floor`;
* :mod:`~linernotes.quality.objective` - all detectors and the objective score;
* :mod:`~linernotes.quality.model_score` - the ``quality`` prompt's five scores;
* :mod:`~linernotes.quality.section` - the record's :class:`QualitySection` and :func:`combine`;
* :mod:`~linernotes.quality.external`, :mod:`~linernotes.quality.scores_file`,
  :mod:`~linernotes.quality.filter` - import, export and filtering.
"""

from __future__ import annotations

import importlib
from typing import Any

# Names are loaded on first use: the front end imports ``linernotes.quality.spectrum`` while
# ``linernotes.features`` is still initialising, so this package must not import the
# analyzers (which import the front end) eagerly.
_EXPORTS = {
    "Detection": "detection",
    "QualityThresholds": "detectors",
    "Decision": "filter",
    "QualityFilter": "filter",
    "DEFAULT_MODEL_WEIGHTS": "model_score",
    "ModelQuality": "model_score",
    "model_quality": "model_score",
    "model_quality_from_listen": "model_score",
    "model_quality_from_text": "model_score",
    "OBJECTIVE_WEIGHTS": "objective",
    "ObjectiveQuality": "objective",
    "assess": "objective",
    "assess_array": "objective",
    "ScoreEntry": "scores_file",
    "read_scores": "scores_file",
    "write_scores": "scores_file",
    "COMBINE_WEIGHTS": "section",
    "QualitySection": "section",
    "combine": "section",
    "NativeSpectrum": "spectrum",
    "SpectrumAccumulator": "spectrum",
    "effective_bandwidth_hz": "spectrum",
    "noise_floor": "spectrum",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'linernotes.quality' has no attribute {name!r}")
    return getattr(importlib.import_module(f"linernotes.quality.{module}"), name)
