"""ACE-Step 1.5: per-track ``<stem>.json`` / ``.caption.txt`` / ``.lyrics.txt``, the dataset
JSON ``{"metadata", "samples"}`` and a top-level CSV (``File, BPM, Key, Caption``).

Every value is checked against the enums ACE-Step's constrained decoder accepts
(:func:`validate`): a ``keyscale`` of ``Am`` or a ``timesignature`` of ``4/4`` would go
verbatim into its prompt and silently mis-train. ACE-Step picks up only
:data:`AUDIO_EXTENSIONS` and finds the sidecars by the audio's stem, so tracks are renamed,
transcoded or skipped first by :mod:`linernotes.export.placement`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportTarget, ExportTrack, FileWriter, bpm_int, known_value
from linernotes.models.final import RECONCILE_VERSION
from linernotes.reconcile.normalize import ACE_LANGUAGES, canonical_key
from linernotes.version import __version__

NAME = "ace-step"
TRAINER = "ACE-Step"
#: The audio ACE-Step's dataset builder picks up (``acestep/training/dataset_builder_modules``).
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".flac", ".ogg", ".opus"})
#: It reads ``<stem>.json``, ``<stem>.caption.txt``, ``<stem>.lyrics.txt`` by the audio's stem.
FILES_BY_STEM = True
DATASET_JSON = "ace_step_dataset.json"
CSV_NAME = "ace_step.csv"
KEYSCALE = re.compile(r"^[A-G][#b]? (major|minor)$")
TIMESIGNATURES = ("2", "3", "4", "6", "")
#: The per-track fields ACE-Step reads, with the check each value must pass.
FIELDS = ("caption", "genre", "bpm", "keyscale", "timesignature", "language",
          "vocal_language", "duration")  # fmt: skip
#: Written only when known (ACE-Step's defaults apply when they are absent).
KNOWN_ONLY = ("lyrics", "is_instrumental")


def track_fields(track: ExportTrack) -> dict[str, Any]:
    """The ACE-Step dialect of a track's final fields.

    Unknown stays unknown: ``is_instrumental`` and ``lyrics`` are written only when something
    measured, modelled or human says so (``[Instrumental]`` only when vocals are known to be
    absent). Left out, ACE-Step applies its own defaults (``AudioSample``: instrumental,
    ``[Instrumental]``), which are its documented neutral form, not a claim of ours.
    """
    final = track.final
    instrumental = known_value(final, "is_instrumental")
    signature = final.value("time_signature") or ""
    numerator = signature.split("/")[0] if signature else ""
    language = final.value("vocal_language")
    if instrumental is True or language not in ACE_LANGUAGES:
        language = "unknown"
    key = canonical_key(final.value("key"))
    lyrics = known_value(final, "lyrics")
    if instrumental is True:
        lyrics = "[Instrumental]"
    elif lyrics == "[Instrumental]":  # lyrics say no vocals while nothing else knows
        instrumental = True
    fields: dict[str, Any] = {
        "caption": final.value("caption") or "",
        "genre": ", ".join(final.value("genres", [])),
        "bpm": bpm_int(final.value("bpm")),
        "keyscale": key if key and KEYSCALE.match(key) else "",
        "timesignature": numerator if numerator in TIMESIGNATURES else "",
        "language": language,
        "vocal_language": language,
        "duration": round(final.value("duration") or 0),
    }
    if lyrics:
        fields["lyrics"] = lyrics
    if isinstance(instrumental, bool):
        fields["is_instrumental"] = instrumental
    return fields


def _audit(track: ExportTrack) -> dict[str, Any]:
    """``music_analysis`` and ``pipeline``: what the model said and what produced it."""
    listen = track.record.listen
    analysis: dict[str, Any] = {}
    if listen is not None:
        for prompt_id, entry in sorted(listen.entries.items()):
            analysis[prompt_id] = {"raw": entry.raw_text, "parsed": entry.parsed}
        if listen.tagger is not None:  # the CPU listener's tags and caption (provenance tagger)
            analysis["tagger"] = listen.tagger.model_dump(
                mode="json", include={"tags", "vocals", "caption", "models"})
    pipeline = {
        "tool": f"linernotes {__version__}",
        "reconcile_version": RECONCILE_VERSION,
        "structured_by": track.final.structured_by,
        "provenance": {k: v.provenance for k, v in sorted(track.final.fields.items())},
        "review": track.final.review,
    }
    if listen is not None:
        pipeline.update(
            backend=listen.backend,
            model=listen.model_id,
            revision=listen.revision,
            prompts={p: e.prompt_version for p, e in sorted(listen.entries.items())},
        )
    return {"music_analysis": analysis, "pipeline": pipeline}


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    samples = []
    rows = []
    for track in tracks:
        audio = target.place(track, writer)
        fields = track_fields(track)
        writer.merge_json(target.sidecar(track, ".json"), {**fields, **_audit(track)},
                          drop=tuple(k for k in KNOWN_ONLY if k not in fields))  # fmt: skip
        writer.write(target.sidecar(track, ".caption.txt"), fields["caption"] + "\n")
        if fields.get("lyrics"):
            writer.write(target.sidecar(track, ".lyrics.txt"), fields["lyrics"] + "\n")
        rel_audio = audio.relative_to(target.folder).as_posix()
        samples.append(
            {
                "id": track.rel_stem.as_posix(),
                "audio_path": rel_audio,
                "filename": audio.name,
                **fields,
                "custom_tag": "",
                "prompt_override": None,
                "labeled": bool(fields["caption"]),
            }
        )
        rows.append([audio.name, fields["bpm"] or "", fields["keyscale"], fields["caption"]])
    dataset_path = target.folder / DATASET_JSON
    genres = sum(1 for s in samples if s["genre"])
    metadata = {
        "name": target.name,
        "custom_tag": "",
        "tag_position": "prepend",
        "created_at": _created_at(dataset_path),
        "num_samples": len(samples),
        "all_instrumental": bool(samples) and all(s.get("is_instrumental") is True
                                                  for s in samples),
        "genre_ratio": round(100 * genres / len(samples)) if samples else 0,
    }
    writer.write_json(dataset_path, {"metadata": metadata, "samples": samples})
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\n")
    out.writerow(["File", "BPM", "Key", "Caption"])
    out.writerows(rows)
    writer.write(target.folder / CSV_NAME, buffer.getvalue())


def _created_at(path: Path) -> str:
    """The dataset's first export time, kept so a re-export leaves the file unchanged."""
    try:
        return json.loads(path.read_text())["metadata"]["created_at"]
    except (OSError, KeyError, TypeError, json.JSONDecodeError):
        return datetime.now(timezone.utc).isoformat(timespec="seconds")


def validate_fields(fields: dict[str, Any]) -> list[str]:
    """Problems with one track's ACE-Step fields (empty when valid)."""
    problems = []
    for name in FIELDS:
        if name not in fields:
            problems.append(f"missing {name}")
    bpm = fields.get("bpm")
    if bpm is not None and (not isinstance(bpm, int) or not 30 <= bpm <= 300):
        problems.append(f"bpm {bpm!r} is not an int in 30..300")
    if fields.get("keyscale") and not KEYSCALE.match(fields["keyscale"]):
        problems.append(f"keyscale {fields['keyscale']!r} is not '<A-G>[#|b] <major|minor>'")
    if fields.get("timesignature") not in TIMESIGNATURES:
        problems.append(f"timesignature {fields.get('timesignature')!r} not in 2|3|4|6|''")
    for key in ("language", "vocal_language"):
        if fields.get(key) != "unknown" and fields.get(key) not in ACE_LANGUAGES:
            problems.append(f"{key} {fields.get(key)!r} is not an ACE-Step language code")
    if not isinstance(fields.get("duration"), int):
        problems.append("duration is not an int")
    if "is_instrumental" in fields and not isinstance(fields["is_instrumental"], bool):
        problems.append("is_instrumental is not a bool")
    if fields.get("is_instrumental") and fields.get("lyrics") != "[Instrumental]":
        problems.append("an instrumental track's lyrics must be exactly [Instrumental]")
    caption = fields.get("caption", "")
    if len(caption.split()) > 150:
        problems.append("caption longer than 150 words")
    return problems


def validate(folder: Path) -> list[str]:
    """Read the export the way ACE-Step's dataset builder does and check every value."""
    problems: list[str] = []
    dataset_path = folder / DATASET_JSON
    if not dataset_path.is_file():
        return [f"{dataset_path} missing"]
    stems: dict[Path, str] = {}
    dataset = json.loads(dataset_path.read_text())
    if set(dataset) != {"metadata", "samples"}:
        problems.append("dataset JSON must have exactly 'metadata' and 'samples'")
    if dataset["metadata"].get("num_samples") != len(dataset["samples"]):
        problems.append("metadata.num_samples does not match samples")
    for sample in dataset["samples"]:
        audio = folder / sample["audio_path"]
        where = sample["audio_path"]
        if not audio.is_file():
            problems.append(f"{where}: audio not found relative to the dataset JSON")
            continue
        problems += [f"{where}: {p}" for p in validate_fields(sample)]
        if audio.suffix.lower() not in AUDIO_EXTENSIONS:
            problems.append(f"{where}: ACE-Step does not read {audio.suffix} audio")
        base = audio.with_name(audio.stem)
        if base in stems:
            problems.append(f"{where}: shares {base.name}.json with {stems[base]}")
        stems[base] = where
        sidecar = Path(f"{base}.json")
        if not sidecar.is_file():
            problems.append(f"{where}: no {sidecar.name} sidecar (ACE-Step reads <stem>.json)")
        else:
            problems += [f"{sidecar.name}: {p}" for p in validate_fields(json.loads(
                sidecar.read_text()))]  # fmt: skip
        if sample["labeled"] and not Path(f"{base}.caption.txt").is_file():
            problems.append(f"{where}: labeled but no {base.name}.caption.txt")
    with open(folder / CSV_NAME, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["File", "BPM", "Key", "Caption"]:
            problems.append(f"CSV columns {reader.fieldnames}")
        names = {row["File"] for row in reader}
    if names != {Path(s["audio_path"]).name for s in dataset["samples"]}:
        problems.append("CSV File column does not match the samples")
    return problems
