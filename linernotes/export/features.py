"""Scalar features of a record, flattened (``loudness.integrated_lufs``, ``rhythm.onset_rate``),
for the ``.INFO`` files and the table export."""

from __future__ import annotations

from typing import Any

from linernotes.export.base import ExportTrack


def scalar_features(track: ExportTrack) -> dict[str, Any]:
    """Every number, string or bool at the top of each analyzer's result, sorted by name."""
    out: dict[str, Any] = {}
    for name, section in sorted(track.record.analyses.items()):
        for key, value in sorted(section.result.items()):
            if isinstance(value, (int, float, str, bool)) and not isinstance(value, type(None)):
                out[f"{name}.{key}"] = value
    return out


def final_columns(track: ExportTrack) -> dict[str, Any]:
    """Final values with their confidence and provenance (``bpm``, ``bpm_confidence``,
    ``bpm_provenance``...)."""
    out: dict[str, Any] = {}
    for name, item in track.final.fields.items():
        out[name] = item.value
        out[f"{name}_confidence"] = item.confidence
        out[f"{name}_provenance"] = item.provenance
    return out
