"""Human edits from a file: a CSV table (``File, BPM, Key, Caption`` as people keep them,
or any editable field as a column) or JSON (``{"song.flac": {"bpm": 128}}`` or a list of
objects with a ``file`` key).

Files are found relative to the edits file, else by name under ``root``. Every value is
checked first; one bad cell refuses the whole file (nothing half-imported).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linernotes.library.scan import find_audio
from linernotes.reconcile.fields import canonical_field, parse_value

_FILE_COLUMNS = ("file", "path", "audio", "audio_path", "filename", "file_name")


@dataclass
class PendingEdit:
    """One checked edit, waiting to be stored."""

    audio: Path
    field: str
    value: Any


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of an edits file, each with a ``file`` key and field columns."""
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [dict(r) for r in csv.DictReader(handle)]
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            rows = [{"file": name, **fields} for name, fields in data.items()]
        elif isinstance(data, list):
            rows = [dict(r) for r in data]
        else:
            raise ValueError(f"{path}: expected a JSON object or list")
    out = []
    for row in rows:
        lowered = {str(k).strip().lower(): v for k, v in row.items() if k is not None}
        name = next((lowered.pop(c) for c in _FILE_COLUMNS if c in lowered), None)
        out.append({"file": name, **lowered})
    return out


def plan_edits(path: Path, root: Path | None = None) -> tuple[list[PendingEdit], list[str]]:
    """Checked edits of the file and the problems found (row numbers from 1). Empty cells
    are skipped (a table cell left blank means "no change")."""
    root = root or path.parent
    by_name: dict[str, list[Path]] = {}
    for audio in find_audio([root]):
        by_name.setdefault(audio.name, []).append(audio)
    pending: list[PendingEdit] = []
    problems: list[str] = []
    for n, row in enumerate(read_rows(path), 1):
        name = row.pop("file")
        if not name:
            problems.append(f"row {n}: no file column")
            continue
        audio = _resolve(str(name), path.parent, by_name)
        if audio is None:
            problems.append(f"row {n}: {name}: no such audio file (or several with that name)")
            continue
        for column, raw in row.items():
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            field = canonical_field(column)
            try:
                pending.append(PendingEdit(audio, field, parse_value(field, raw)))
            except ValueError as exc:
                problems.append(f"row {n}: {name}: {column}: {exc}")
    return pending, problems


def _resolve(name: str, base: Path, by_name: dict[str, list[Path]]) -> Path | None:
    candidate = Path(name).expanduser()
    candidate = candidate if candidate.is_absolute() else base / candidate
    if candidate.is_file():
        return candidate.absolute()
    matches = by_name.get(Path(name).name, [])
    return matches[0].absolute() if len(matches) == 1 else None
