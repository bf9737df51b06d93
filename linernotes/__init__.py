"""linernotes: trustworthy, training-ready annotations for folders of music.

The Python API mirrors the CLI: :func:`analyze_file` measures one track and returns its
:class:`TrackRecord`; :func:`analyze_paths` runs a resumable batch over files and folders.
"""

from __future__ import annotations

from linernotes.version import __version__

__all__ = ["TrackRecord", "__version__", "analyze_file", "analyze_paths"]


def __getattr__(name: str):
    # Lazy: `import linernotes` stays cheap for the CLI's --help and for worker start-up.
    if name == "analyze_file":
        from linernotes.pipeline import analyze_file

        return analyze_file
    if name == "analyze_paths":
        from linernotes.library import analyze_paths

        return analyze_paths
    if name == "TrackRecord":
        from linernotes.models import TrackRecord

        return TrackRecord
    raise AttributeError(name)
