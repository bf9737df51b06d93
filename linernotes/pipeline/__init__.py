"""The pipeline: measure one track (decode -> features -> stages, stems beside it), and run
that over many tracks in this process or in worker processes.

* :mod:`.track` - :func:`analyze_file`: one track's measured record, stage results cached;
* :mod:`.stems` - the measurements of a track's stems;
* :mod:`.runner` - the batch executor: claims, skips, failures, Ctrl-C, worker processes.

Listening and reconciling follow in the process that owns the library
(:mod:`linernotes.library.analyze`), once per track.
"""

from linernotes.pipeline.track import analyze_file

__all__ = ["analyze_file"]
