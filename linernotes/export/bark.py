"""The Bark-style training set users built by hand: per track
``bark_training_dataset_<id>.json`` and ``training_instructions_<id>.md``, and a ``manifest``
with one entry per track for batch training. Stems get entries (weight 0.7) once records
hold stems; today every track contributes its main-track prompt (weight 1.0)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportTarget, ExportTrack, FileWriter, bpm_int

NAME = "bark"
MANIFEST = "manifest.json"
ANALYSIS_VERSION = "linernotes-1"


def track_id(track: ExportTrack) -> str:
    return track.record.file.content_hash[:16]


def dataset(track: ExportTrack, audio: Path) -> dict[str, Any]:
    final = track.final
    genres, moods = final.value("genres", []), final.value("moods", [])
    instruments = final.value("instruments", [])
    style = ", ".join([*genres, *moods])
    technical = ", ".join(
        p for p in (
            f"{bpm_int(final.value('bpm'))} BPM" if bpm_int(final.value("bpm")) else "",
            final.value("key") or "",
            final.value("time_signature") or "",
            ", ".join(instruments),
        ) if p
    )  # fmt: skip
    loud = track.record.analyses.get("loudness")
    res = loud.result if loud else {}
    confidences = {k: v.confidence for k, v in sorted(final.fields.items())}
    measured = [confidences.get(k, 0.0) for k in ("bpm", "key", "time_signature")]
    suitability = round(sum(measured) / len(measured), 3)
    caption = final.value("caption") or ""
    combined = ". ".join(p for p in (caption.rstrip("."), style, technical) if p)
    return {
        "dataset_metadata": {
            "audio_file_id": track_id(track),
            "audio_file": str(audio),
            "total_samples": 1,
            "main_track_duration": final.value("duration"),
            "analysis_version": ANALYSIS_VERSION,
        },
        "main_track": {
            "audio_description": caption,
            "style_prompt": style,
            "technical_prompt": technical,
            "training_suitability": {
                "score": suitability,
                "review": final.review,
                "is_instrumental": final.value("is_instrumental"),
            },
        },
        "stems": [],
        "training_prompts": [
            {"type": "full_track", "combined_prompt": combined, "training_weight": 1.0}
        ],
        "confidence_scores": confidences,
        "quality_metrics": {
            "dynamic_range_lu": res.get("loudness_range_lu"),
            "crest_factor_db": res.get("crest_factor_db"),
            "integrated_lufs": res.get("integrated_lufs"),
            "clipping_ratio": res.get("clipping_ratio"),
            "silence_ratio": res.get("silence_ratio"),
        },
    }


def instructions(track: ExportTrack, data: dict[str, Any]) -> str:
    prompt = data["training_prompts"][0]
    lines = [
        f"# Training notes: {track.rel.as_posix()}",
        "",
        f"- audio file id: `{track_id(track)}`",
        f"- duration: {data['dataset_metadata']['main_track_duration']} s",
        f"- suitability (mean confidence of bpm/key/meter): "
        f"{data['main_track']['training_suitability']['score']}",
        f"- fields to review: {', '.join(track.final.review) or 'none'}",
        "",
        "## Prompt (weight 1.0)",
        "",
        prompt["combined_prompt"] or "(no description yet)",
        "",
        "Stems, when present, train with weight 0.7 beside the full mix.",
        "",
    ]
    return "\n".join(lines)


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    manifest = []
    for track in sorted(tracks, key=lambda t: t.rel.as_posix()):
        audio = target.place(track, writer)
        data = dataset(track, audio)
        ident = track_id(track)
        json_path = target.folder / f"bark_training_dataset_{ident}.json"
        writer.write_json(json_path, data)
        writer.write(target.folder / f"training_instructions_{ident}.md", instructions(track, data))
        manifest.append(
            {"audio_file_id": ident, "audio_file": str(audio), "dataset": json_path.name,
             "training_weight": 1.0}
        )  # fmt: skip
    writer.write_json(target.folder / MANIFEST, {"tracks": manifest})


def validate(folder: Path) -> list[str]:
    problems = []
    manifest = json.loads((folder / MANIFEST).read_text())
    for entry in manifest["tracks"]:
        data = json.loads((folder / entry["dataset"]).read_text())
        for key in ("dataset_metadata", "main_track", "stems", "training_prompts"):
            if key not in data:
                problems.append(f"{entry['dataset']}: missing {key}")
        for p in data.get("training_prompts", []):
            expected = 1.0 if p.get("type") == "full_track" else 0.7
            if p.get("type") not in ("full_track", "stem", "multi_instrument"):
                problems.append(f"{entry['dataset']}: prompt type {p.get('type')!r}")
            elif p.get("training_weight") != expected:
                problems.append(f"{entry['dataset']}: weight {p.get('training_weight')}")
        if not (folder / f"training_instructions_{entry['audio_file_id']}.md").is_file():
            problems.append(f"{entry['audio_file_id']}: no training instructions")
    return problems
