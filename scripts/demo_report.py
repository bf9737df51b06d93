"""Print the demo's results beside the known answers of the bundled examples, and fail (exit
status 1) when any answer is wrong or missing: BPM within 4 %, key and meter exact.

Usage: python scripts/demo_report.py OUT_DIR examples/truth.json
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from linernotes.record import TrackRecord

#: How far a measured tempo may be from the known one, relative.
BPM_TOLERANCE = 0.04


def bpm_ok(measured: float | None, truth: float) -> bool:
    return measured is not None and abs(measured - truth) <= BPM_TOLERANCE * truth


@dataclass
class Agreement:
    """The table printed, the hits per quantity, and every wrong or missing answer."""

    rows: list[tuple[str, ...]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=lambda: {"bpm": 0, "key": 0, "meter": 0})
    failures: list[str] = field(default_factory=list)


def compare(out_dir: str | Path, truth: dict[str, dict]) -> Agreement:
    """Each clip's record in ``out_dir`` against its known answers."""
    result = Agreement()
    result.rows.append(("file", "BPM (truth)", "key (truth)", "meter (truth)", "LUFS", "dur"))
    for name, known in sorted(truth.items()):
        record_file = Path(out_dir) / f"{Path(name).stem}.linernotes.json"
        if not record_file.exists():
            result.rows.append((name, "missing", "", "", "", ""))
            result.failures.append(f"{name}: no record in {out_dir}")
            continue
        s = TrackRecord.load(record_file).summary
        checks = {
            "bpm": bpm_ok(s.bpm, known["bpm"]),
            "key": s.key == known["key"],
            "meter": s.time_signature == known["time_signature"],
        }
        measured = {"bpm": s.bpm, "key": s.key, "meter": s.time_signature}
        expected = {"bpm": known["bpm"], "key": known["key"], "meter": known["time_signature"]}
        for quantity, ok in checks.items():
            result.hits[quantity] += ok
            if not ok:
                result.failures.append(
                    f"{name}: {quantity} {measured[quantity]} (known: {expected[quantity]})"
                )
        mark = {True: "ok", False: "XX"}
        result.rows.append(
            (
                name,
                f"{s.bpm if s.bpm is None else round(s.bpm, 1)} ({known['bpm']:g}) "
                f"{mark[checks['bpm']]}",
                f"{s.key} ({known['key']}) {mark[checks['key']]}",
                f"{s.time_signature} ({known['time_signature']}) {mark[checks['meter']]}",
                "—" if s.loudness_lufs is None else f"{s.loudness_lufs:.1f}",
                "—" if s.duration is None else f"{s.duration:.1f}s",
            )
        )
    return result


def main(out_dir: str, truth_path: str) -> int:
    truth = json.loads(Path(truth_path).read_text())
    result = compare(out_dir, truth)
    rows = result.rows
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    n = len(truth)
    hits = result.hits
    print(
        f"\nagreement with the known answers: BPM {hits['bpm']}/{n}, key {hits['key']}/{n},"
        f" meter {hits['meter']}/{n}"
    )
    print(
        f"records, beat grids and downbeats are in {out_dir}/ ; try: "
        f".venv/bin/linernotes show {out_dir}/{Path(sorted(truth)[0]).stem}.linernotes.json"
    )
    if result.failures:
        print("\nWRONG OR MISSING:", file=sys.stderr)
        for failure in result.failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
