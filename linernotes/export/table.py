"""One table of every track: final fields with confidence and provenance, scalar features;
as CSV (lists joined with ``, ``) and Parquet (lists kept; needs ``pyarrow``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from linernotes.export.base import ExportTarget, ExportTrack, FileWriter
from linernotes.export.features import final_columns, scalar_features
from linernotes.quality.build import overall_score

NAME = "table"

CSV_NAME = "linernotes_tracks.csv"
PARQUET_NAME = "linernotes_tracks.parquet"


def rows(tracks: list[ExportTrack], target: ExportTarget) -> list[dict[str, Any]]:
    out = []
    for track in sorted(tracks, key=lambda t: t.rel.as_posix()):
        row: dict[str, Any] = {"path": track.rel.as_posix(),
                               "content_hash": track.record.file.content_hash}  # fmt: skip
        row.update(final_columns(track))
        row["review"] = list(track.final.review)
        row["quality_score"] = overall_score(track.record)
        row.update(scalar_features(track))
        out.append(row)
    columns = list(dict.fromkeys(c for r in out for c in r))
    return [{c: r.get(c) for c in columns} for r in out]


def export(tracks: list[ExportTrack], target: ExportTarget, writer: FileWriter) -> None:
    table = rows(tracks, target)
    columns = list(table[0]) if table else ["path"]
    buffer = io.StringIO()
    out = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    out.writeheader()
    for row in table:
        out.writerow({k: ", ".join(v) if isinstance(v, list) else v for k, v in row.items()})
    writer.write(target.folder / CSV_NAME, buffer.getvalue())
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(table), sink)
    writer.write(target.folder / PARQUET_NAME, sink.getvalue().to_pybytes())


def validate(folder: Path) -> list[str]:
    problems = []
    with open(folder / CSV_NAME, newline="") as handle:
        csv_rows = list(csv.DictReader(handle))
    if csv_rows and "bpm" not in csv_rows[0]:
        problems.append("CSV has no bpm column")
    parquet = folder / PARQUET_NAME
    if parquet.is_file():
        import pyarrow.parquet as pq

        if pq.read_table(parquet).num_rows != len(csv_rows):
            problems.append("Parquet and CSV row counts differ")
    return problems
