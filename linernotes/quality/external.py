"""Scores computed elsewhere (e.g. audiobox-aesthetics), imported from JSON or CSV.

Accepted layouts, keyed by track id or by audio path (absolute, relative, or just the file
name - whichever the other tool wrote):

* JSON object: ``{"id-or-path": {"PQ": 7.9, "CE": 7.1, ...}, ...}`` (a ``"scores"`` sub-object,
  as in our own scores file, is also read);
* JSON list / JSON lines: ``[{"path": "a.wav", "PQ": 7.9, ...}, ...]``;
* CSV with a header: an ``id``, ``song_id``, ``path`` or ``file`` column and numeric columns.

Values are normalised to [0, 1] by ``scale`` (audiobox-aesthetics answers on 1-10: pass 10);
with ``scale=None`` a column whose values all lie in [0, 1] is kept as is and one within
[0, 10] is divided by 10.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

KEY_COLUMNS = ("song_id", "id", "path", "file", "filepath", "audio", "filename")


class ExternalScores:
    """A table of external figures, looked up by id, path or file name."""

    def __init__(self, rows: Mapping[str, Mapping[str, float]], *, source: str = "") -> None:
        self.rows = {str(k): dict(v) for k, v in rows.items()}
        self.source = source
        self._by_name: dict[str, str] = {}
        for key in self.rows:
            for alias in _aliases(key):
                self._by_name.setdefault(alias, key)

    def __len__(self) -> int:
        return len(self.rows)

    def lookup(self, *candidates: str | Path | None) -> dict[str, float] | None:
        """The first row matching any candidate (id, path, file name or stem)."""
        for cand in candidates:
            if cand is None:
                continue
            for alias in _aliases(str(cand)):
                key = alias if alias in self.rows else self._by_name.get(alias)
                if key is not None:
                    return self.rows[key]
        return None


def _aliases(key: str) -> list[str]:
    p = Path(key)
    out = [key, str(p.as_posix())]
    if p.name:
        out += [p.name, p.stem]
    return out


def _numeric(row: Mapping[str, Any], skip: Sequence[str]) -> dict[str, float]:
    out = {}
    for k, v in row.items():
        if k in skip or v is None or v == "" or isinstance(v, bool):
            continue
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            continue
    return out


def _rows_from_records(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    rows = {}
    for item in items:
        key_col = next((c for c in KEY_COLUMNS if item.get(c) not in (None, "")), None)
        if key_col is None:
            raise ValueError(f"row without an id or path column ({', '.join(KEY_COLUMNS)})")
        scores = item.get("scores") if isinstance(item.get("scores"), Mapping) else item
        rows[str(item[key_col])] = _numeric(scores, KEY_COLUMNS)
    return rows


def load_external(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    scale: float | None = None,
) -> ExternalScores:
    """Read a JSON/JSON-lines/CSV file of external scores, keep ``columns`` (default: every
    numeric one) and normalise them to [0, 1] (see the module notes on ``scale``)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".csv":
        rows = _rows_from_records(list(csv.DictReader(text.splitlines())))
    elif p.suffix.lower() == ".jsonl":
        rows = _rows_from_records([json.loads(line) for line in text.splitlines() if line.strip()])
    else:
        data = json.loads(text)
        if isinstance(data, list):
            rows = _rows_from_records(data)
        elif isinstance(data, dict):
            rows = {}
            for key, value in data.items():
                if isinstance(value, Mapping):
                    nested = value.get("scores")
                    inner = nested if isinstance(nested, Mapping) else value
                    rows[str(key)] = _numeric(inner, KEY_COLUMNS)
        else:
            raise ValueError(f"{p}: expected a JSON object or list of external scores")
    if columns:
        rows = {k: {c: v[c] for c in columns if c in v} for k, v in rows.items()}
    return ExternalScores(normalise(rows, scale), source=str(p))


def normalise(
    rows: Mapping[str, Mapping[str, float]], scale: float | None
) -> dict[str, dict[str, float]]:
    """Divide by ``scale``; without one, per column: [0, 1] as is, [0, 10] divided by 10,
    [0, 100] by 100. Results are clipped to [0, 1]."""
    names = {c for row in rows.values() for c in row}
    factor: dict[str, float] = {}
    for c in names:
        if scale:
            factor[c] = float(scale)
            continue
        top = max((row[c] for row in rows.values() if c in row), default=0.0)
        factor[c] = 1.0 if top <= 1.0 else (10.0 if top <= 10.0 else 100.0)
    return {
        k: {c: round(min(max(v / factor[c], 0.0), 1.0), 4) for c, v in row.items()}
        for k, row in rows.items()
    }
