"""Export reconciled records in every trainer's dialect (one module per format).

``linernotes export DIR --to ace-step,hf [--out OUT] [--copy-audio]``: without ``--out``
sidecars go beside the audio; with it each format is a self-contained ``OUT/<format>/``.
Files whose bytes would not change are not rewritten, and audio is never modified.
"""

from linernotes.export.registry import FORMATS, ExportReport, export_dataset, parse_formats

__all__ = ["FORMATS", "ExportReport", "export_dataset", "parse_formats"]
