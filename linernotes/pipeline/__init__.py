"""The pipeline: measure one track (decode -> features -> stages, stems beside it), and run
that over many tracks in this process or in worker processes.

* :mod:`.track` - :func:`analyze_file`: one track's measured record, stage results cached;
* :mod:`.stems` - the measurements of a track's stems;
* :mod:`.runner` - the batch executor: claims, skips, failures, Ctrl-C, worker processes;
* :mod:`.listening` - the listening step, wherever the model is held;
* :mod:`.shard` - a remote worker's store: what the library knows, and a journal of writes;
* :mod:`.ray_stages` - measuring and listening as Ray Data stages.

Reconciling follows in the process that owns the library (:mod:`linernotes.library.analyze`),
once per track; so does listening, except on Ray, where actors holding the model listen.
"""

from linernotes.pipeline.track import analyze_file

__all__ = ["analyze_file"]
