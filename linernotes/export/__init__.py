"""Export reconciled records in every trainer's dialect (one module per format).

An adapter knows a record and a folder: :func:`~linernotes.export.registry.export_tracks`
writes tracks (records with their final fields, from the library) in the formats asked for.
Without an output folder sidecars go beside the audio; with one each format is a
self-contained ``OUT/<format>/``. Files whose bytes would not change are not rewritten, and
audio is never modified.
"""

from linernotes.export.registry import FORMATS, FormatReport, export_tracks, parse_formats

__all__ = ["FORMATS", "FormatReport", "export_tracks", "parse_formats"]
