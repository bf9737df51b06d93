"""The Bark-style training set users built by hand: per track
``bark_training_dataset_<id>.json`` and ``training_instructions_<id>.md``, and a ``manifest``
with one entry per track for batch training.

Every track contributes its main-track prompt (``full_track``, weight 1.0); each measured
stem (:mod:`linernotes.pipeline.stems`) adds a ``stems`` entry (type, description, technical
features such as ``onset_density`` and ``rhythm_complexity``) and a ``stem`` prompt with
weight 0.7. The stem descriptions are built from the measurements only, so they never claim
more than was measured. Silent or unreadable stems are left out and named in the training notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportStem, ExportTarget, ExportTrack, FileWriter, bpm_int
from linernotes.models import StemFeatures

NAME = "bark"
MANIFEST = "manifest.json"
ANALYSIS_VERSION = "linernotes-1"
FULL_TRACK_WEIGHT = 1.0
STEM_WEIGHT = 0.7
#: Keys of each stem entry's ``technical_features`` (all from the stem's measurements).
TECHNICAL_FEATURES = (
    "onset_density",
    "rhythm_complexity",
    "spectral_centroid_hz",
    "active_ratio",
    "integrated_lufs",
    "rms_dbfs",
    "peak_dbfs",
    "duration",
)


def track_id(track: ExportTrack) -> str:
    return track.record.file.content_hash[:16]


def describe_stem(stem_type: str, features: StemFeatures) -> str:
    """A plain description of a stem from its measurements: how busy and how regular its
    rhythm is, how bright it sounds and how much of the track it plays in.

    Examples
    --------
    >>> f = StemFeatures(duration=10.0, onset_density=4.2, rhythm_complexity=0.1,
    ...                  spectral_centroid_hz=3100.0, active_ratio=0.95)
    >>> describe_stem("drums", f)
    'Isolated drums stem: busy (4.2 onsets/s), steady rhythm, bright, plays throughout'
    """
    density = features.onset_density
    busy = "sparse" if density < 1.0 else "moderate" if density < 3.0 else "busy"
    parts = [f"{busy} ({density:.1f} onsets/s)"]
    complexity = features.rhythm_complexity
    if complexity is not None:
        parts.append(
            "steady rhythm" if complexity < 0.3
            else "varied rhythm" if complexity < 0.6
            else "complex rhythm"
        )  # fmt: skip
    centroid = features.spectral_centroid_hz
    if centroid is not None:
        parts.append("dark" if centroid < 500 else "warm" if centroid < 1500
                     else "mid-bright" if centroid < 2500 else "bright")  # fmt: skip
    active = features.active_ratio
    parts.append(
        "plays throughout" if active >= 0.9 else f"plays {round(active * 100)}% of the track"
    )
    return f"Isolated {stem_type} stem: " + ", ".join(parts)


def stem_entry(stem: ExportStem, audio: Path) -> dict[str, Any]:
    """One ``stems`` entry of the dataset JSON."""
    features = stem.info.features
    assert features is not None  # ExportTrack.stems keeps measured stems only
    values = features.model_dump()
    return {
        "stem_type": stem.stem_type,
        "audio_file": str(audio),
        "audio_description": describe_stem(stem.stem_type, features),
        "technical_features": {k: values[k] for k in TECHNICAL_FEATURES},
        "content_hash": stem.info.sha256,
        "provenance": stem.info.provenance.value,
        "model": stem.info.model,
        "model_version": stem.info.model_version,
        "presence": stem.info.presence,
    }


def dataset(
    track: ExportTrack, audio: Path, stems: list[tuple[ExportStem, Path]] | None = None
) -> dict[str, Any]:
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
    stem_entries = [stem_entry(stem, path) for stem, path in stems or []]
    stem_prompts = [
        {
            "type": "stem",
            "stem_type": entry["stem_type"],
            "combined_prompt": ". ".join(
                p
                for p in (entry["audio_description"], style, _tempo_key(track, entry["stem_type"]))
                if p
            ),
            "training_weight": STEM_WEIGHT,
        }
        for entry in stem_entries
    ]
    return {
        "dataset_metadata": {
            "audio_file_id": track_id(track),
            "audio_file": str(audio),
            "total_samples": 1 + len(stem_entries),
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
        "stems": stem_entries,
        "training_prompts": [
            {
                "type": "full_track",
                "combined_prompt": combined,
                "training_weight": FULL_TRACK_WEIGHT,
            },
            *stem_prompts,
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


def _tempo_key(track: ExportTrack, stem_type: str) -> str:
    """``120 BPM, A minor``: the track's tempo and key, which its stems share (a drums stem
    carries no key)."""
    bpm = bpm_int(track.final.value("bpm"))
    key = "" if stem_type == "drums" else track.final.value("key") or ""
    return ", ".join(p for p in (f"{bpm} BPM" if bpm else "", key) if p)


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
    ]
    stem_prompts = [p for p in data["training_prompts"] if p["type"] == "stem"]
    if stem_prompts:
        lines += [f"## Stem prompts (weight {STEM_WEIGHT})", ""]
        lines += [f"- {p['stem_type']}: {p['combined_prompt']}" for p in stem_prompts]
        lines.append("")
    else:
        lines += ["No stems: only the full mix trains.", ""]
    left_out = [s for s in track.record.stems if s.error is not None]
    if left_out:
        lines += ["## Stems left out", ""]
        lines += [f"- {s.stem_type} (`{s.relpath}`): {s.error}" for s in left_out]
        lines.append("")
    return "\n".join(lines)


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    manifest = []
    for track in sorted(tracks, key=lambda t: t.rel.as_posix()):
        audio = target.shown(target.place(track, writer))
        stems = [(stem, target.shown(target.place_stem(stem, writer))) for stem in track.stems]
        data = dataset(track, audio, stems)
        ident = track_id(track)
        json_path = target.folder / f"bark_training_dataset_{ident}.json"
        writer.write_json(json_path, data)
        writer.write(target.folder / f"training_instructions_{ident}.md", instructions(track, data))
        manifest.append(
            {"audio_file_id": ident, "audio_file": str(audio), "dataset": json_path.name,
             "training_weight": FULL_TRACK_WEIGHT,
             "stems": [entry["stem_type"] for entry in data["stems"]]}
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
        stems = data.get("stems", [])
        if data.get("dataset_metadata", {}).get("total_samples") != 1 + len(stems):
            problems.append(f"{entry['dataset']}: total_samples is not 1 + {len(stems)} stems")
        for stem in stems:
            for key in ("stem_type", "audio_description", "technical_features"):
                if key not in stem:
                    problems.append(f"{entry['dataset']}: a stem lacks {key}")
            features = stem.get("technical_features", {})
            if not {"onset_density", "rhythm_complexity"} <= set(features):
                problems.append(f"{entry['dataset']}: {stem.get('stem_type')} features incomplete")
            if not Path(stem.get("audio_file", "")).exists():
                problems.append(f"{entry['dataset']}: {stem.get('audio_file')} not found")
        prompts = data.get("training_prompts", [])
        if sum(p.get("type") == "stem" for p in prompts) != len(stems):
            problems.append(f"{entry['dataset']}: one stem prompt per stem expected")
        for p in prompts:
            expected = FULL_TRACK_WEIGHT if p.get("type") == "full_track" else STEM_WEIGHT
            if p.get("type") not in ("full_track", "stem", "multi_instrument"):
                problems.append(f"{entry['dataset']}: prompt type {p.get('type')!r}")
            elif p.get("training_weight") != expected:
                problems.append(f"{entry['dataset']}: weight {p.get('training_weight')}")
        if not (folder / f"training_instructions_{entry['audio_file_id']}.md").is_file():
            problems.append(f"{entry['audio_file_id']}: no training instructions")
    return problems
