"""Print the demo's results beside the known answers of the bundled examples, then what the
CPU listener heard in each clip (tags, is_instrumental, caption) and whether the ACE-Step
export got a caption for every clip and ``[Instrumental]`` exactly where that is known.

Usage: python scripts/demo_report.py OUT_DIR examples/truth.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from linernotes.record import TrackRecord


def _bpm_ok(measured: float | None, truth: float) -> bool:
    return measured is not None and abs(measured - truth) <= 0.04 * truth


def _listening(out_dir: str, names: list[str]) -> None:
    """What the CPU listener heard, and the ACE-Step export's captions and lyrics."""
    from linernotes.listen.cpu.report import tag_line

    print("\nlistening on the CPU (musicnn tags with probabilities; provenance 'tagger'):")
    instrumental: dict[str, bool | None] = {}
    for name in names:
        record_file = Path(out_dir) / f"{Path(name).stem}.linernotes.json"
        record = TrackRecord.load(record_file) if record_file.exists() else None
        tagger = record.listen.tagger if record and record.listen else None
        if tagger is None:
            print(f"  {name}: no listening section (run with --listen)")
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
        return
    samples = json.loads(dataset.read_text())["samples"]
    captioned = sum(1 for s in samples if s["caption"].strip())
    marked = sum(1 for s in samples if s["lyrics"] == "[Instrumental]")
    wrong = [s["id"] for s in samples
             if (s["lyrics"] == "[Instrumental]") != (instrumental.get(s["id"]) is True)]
    print(f"\nACE-Step export ({dataset.parent}): {captioned}/{len(samples)} captions non-empty,"
          f" [Instrumental] on {marked} (where is_instrumental is true: "
          f"{'all' if not wrong else 'NOT ' + ', '.join(wrong)})")  # fmt: skip


def main(out_dir: str, truth_path: str) -> int:
    truth = json.loads(Path(truth_path).read_text())
    rows = [("file", "BPM (truth)", "key (truth)", "meter (truth)", "LUFS", "dur")]
    hits = {"bpm": 0, "key": 0, "meter": 0}
    for name, known in sorted(truth.items()):
        stem = Path(name).stem
        record_file = Path(out_dir) / f"{stem}.linernotes.json"
        if not record_file.exists():
            rows.append((name, "missing", "", "", "", ""))
            continue
        s = TrackRecord.load(record_file).summary
        ok_bpm = _bpm_ok(s.bpm, known["bpm"])
        ok_key = s.key == known["key"]
        ok_meter = s.time_signature == known["time_signature"]
        hits["bpm"] += ok_bpm
        hits["key"] += ok_key
        hits["meter"] += ok_meter
        mark = {True: "ok", False: "XX"}
        rows.append(
            (
                name,
                f"{s.bpm if s.bpm is None else round(s.bpm, 1)} ({known['bpm']:g}) {mark[ok_bpm]}",
                f"{s.key} ({known['key']}) {mark[ok_key]}",
                f"{s.time_signature} ({known['time_signature']}) {mark[ok_meter]}",
                "—" if s.loudness_lufs is None else f"{s.loudness_lufs:.1f}",
                "—" if s.duration is None else f"{s.duration:.1f}s",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    print()
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    n = len(truth)
    print(
        f"\nagreement with the known answers: BPM {hits['bpm']}/{n}, key {hits['key']}/{n},"
        f" meter {hits['meter']}/{n}"
    )
    _listening(out_dir, sorted(truth))
    print(
        f"records, beat grids and downbeats are in {out_dir}/ ; try: "
        f".venv/bin/linernotes show {out_dir}/{Path(sorted(truth)[0]).stem}.linernotes.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
