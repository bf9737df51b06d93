"""Print the demo's results beside the known answers of the bundled examples, then what the
CPU listener heard in each clip (tags, is_instrumental, caption) and whether the ACE-Step export
got a caption for every clip and ``[Instrumental]`` exactly where that is known; fail (exit
status 1) when any answer is wrong or missing: BPM within 4 %, key and meter exact, a caption
for every clip.

Usage: python scripts/demo_report.py OUT_DIR examples/truth.json
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from linernotes.models import TrackRecord

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


def _listening(out_dir: str | Path, names: list[str]) -> list[str]:
    """What the CPU listener heard, and the ACE-Step export's captions and lyrics; returns what
    is missing or wrong."""
    from linernotes.listen.cpu.report import tag_line

    print("\nlistening on the CPU (musicnn tags with probabilities; provenance 'tagger'):")
    instrumental: dict[str, bool | None] = {}
    failures: list[str] = []
    for name in names:
        record_file = Path(out_dir) / f"{Path(name).stem}.linernotes.json"
        record = TrackRecord.load(record_file) if record_file.exists() else None
        tagger = record.listen.tagger if record and record.listen else None
        if tagger is None:
            print(f"  {name}: no listening section (run with --listen)")
            failures.append(f"{name}: no listening section")
            continue
        final = record.final
        instrumental[Path(name).stem] = final.value("is_instrumental") if final else None
        vocals = tagger.vocals
        print(f"  {name}")
        for label, category in (("genre", "genre"), ("instruments", "instrument"),
                                ("mood", "mood")):  # fmt: skip
            print(f"    {label:<12} {tag_line(tagger, category)}")
        print(f"    {'instrumental':<12} {vocals.is_instrumental} (confidence"
              f" {vocals.confidence:.2f}, vocal probability {vocals.vocal_probability:.2f})")
        print(f"    {'caption':<12} {tagger.caption.text}")
    dataset = Path(out_dir) / "export" / "ace-step" / "ace_step_dataset.json"
    if not dataset.exists():
        return [*failures, f"no ACE-Step export at {dataset}"]
    samples = json.loads(dataset.read_text())["samples"]
    captioned = sum(1 for s in samples if s["caption"].strip())
    marked = sum(1 for s in samples if s["lyrics"] == "[Instrumental]")
    wrong = [s["id"] for s in samples
             if (s["lyrics"] == "[Instrumental]") != (instrumental.get(s["id"]) is True)]
    print(f"\nACE-Step export ({dataset.parent}): {captioned}/{len(samples)} captions non-empty,"
          f" [Instrumental] on {marked} (where is_instrumental is true: "
          f"{'all' if not wrong else 'NOT ' + ', '.join(wrong)})")  # fmt: skip
    failures += [f"{s['id']}: empty caption in the ACE-Step export" for s in samples
                 if not s["caption"].strip()]
    failures += [f"{sid}: [Instrumental] does not match is_instrumental" for sid in wrong]
    return failures


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
    failures = [*result.failures, *_listening(out_dir, sorted(truth))]
    print(
        f"records, beat grids and downbeats are in {out_dir}/ ; try: "
        f".venv/bin/linernotes show {out_dir}/{Path(sorted(truth)[0]).stem}.linernotes.json"
    )
    if failures:
        print("\nWRONG OR MISSING:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
