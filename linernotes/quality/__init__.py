"""Track quality: objective signal checks, the audio model's scores, external scores, their
combination, the scores file recommenders read, and :class:`QualityFilter`.

* :mod:`~linernotes.quality.detectors` - pure detectors, each returning a ``Detection``;
* :mod:`~linernotes.quality.spectrum` - bandwidth and noise floor of the native spectrum;
* :mod:`~linernotes.quality.objective` - all detectors and the objective score;
* :mod:`~linernotes.quality.stage` - the ``signal_quality`` stage (registered on import);
* :mod:`~linernotes.quality.model_score` - the ``quality`` prompt's five scores;
* :mod:`~linernotes.quality.weights` - every weight, and the one check they go through;
* :mod:`~linernotes.quality.section` - :func:`combine`: the record's ``QualitySection``;
* :mod:`~linernotes.quality.build` - records to sections, score entries, the overall score;
* :mod:`~linernotes.quality.external`, :mod:`~linernotes.quality.scores_file`,
  :mod:`~linernotes.quality.filter` - import, export and filtering.
"""

from linernotes.quality.filter import Decision, QualityFilter
from linernotes.quality.scores_file import ScoreEntry, read_scores, write_scores

__all__ = ["Decision", "QualityFilter", "ScoreEntry", "read_scores", "write_scores"]
