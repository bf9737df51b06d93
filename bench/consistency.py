"""Consistency without labels: does linernotes give a track and its altered copies the same
tempo, key and time signature?

For each clip of a ``bench/corpus_set`` split, three copies are analysed beside the original:
a crop (from 5 s to the end), an MP3 transcode (128 kbit/s) and a copy sped up by 4 % with
sox's ``tempo`` (pitch kept; its tempo should read 4 % faster). It prints, per field and
copy, the share of clips whose value agrees (tempo within 4 %, the same key and time
signature), and the mean confidence of the original's value where the copies agree and
where they do not: a disagreement is a sign the value may be wrong, and a calibrated
confidence should already be lower there.

Usage::

    bench/consistency [--split test] [--limit 40]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_set  # noqa: E402
import corpus_set  # noqa: E402

COPIES = ("crop", "mp3", "stretch")
STRETCH = 1.04
FIELDS = (("bpm", "bpm_confidence"), ("key", "key_confidence"),
          ("time_signature", "meter_confidence"))


def _values(path: Path) -> dict[str, Any]:
    from linernotes.pipeline import analyze_file

    record = analyze_file(str(path))
    r, t = record.analyses["rhythm"].result, record.analyses["tonal"].result
    return {"bpm": r.get("bpm"), "bpm_confidence": r.get("bpm_confidence", 0.0),
            "key": t.get("key"), "key_confidence": t.get("key_confidence", 0.0),
            "time_signature": r.get("time_signature"),
            "meter_confidence": r.get("meter_confidence", 0.0)}


def _clip(clip: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The original's values and each copy's."""
    src = corpus_set.DATA / clip["file"]
    out = {"original": _values(src)}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        subprocess.run(["sox", str(src), str(t / "crop.wav"), "trim", "5"], check=True)
        audio = soundfile.read(src, dtype="float32", always_2d=True)[0]
        accuracy_set._write_wav(accuracy_set.apply_degradation(
            audio, "mp3", None, tmp=t, seed=(0,)), t / "mp3.wav")
        subprocess.run(["sox", str(src), str(t / "stretch.wav"), "tempo", str(STRETCH)],
                       check=True)
        for copy in COPIES:
            out[copy] = _values(t / f"{copy}.wav")
    return out


def agrees(field: str, original: Any, copy: Any, ratio: float = 1.0) -> bool:
    """Whether a copy's value matches the original's (tempo within 4 % after ``ratio``)."""
    if original is None or copy is None:
        return original is None and copy is None
    if field == "bpm":
        return abs(copy / (original * ratio) - 1.0) <= 0.04
    return original == copy


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("dev", "test"), default="test")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    clips = corpus_set.ensure_set(args.jobs, args.split)[: args.limit]
    with ProcessPoolExecutor(args.jobs) as ex:
        results = list(ex.map(_clip, clips, chunksize=1))
    print(f"$ bench/consistency --split {args.split}" + (f" --limit {args.limit}"
                                                         if args.limit else ""))
    print(f"# {len(clips)} clips; agreement of each copy with the original, and the original's "
          "mean confidence where all copies agree / where one does not")
    print(f"{'field':15s} " + "".join(f"{c:>9s}" for c in COPIES)
          + f" {'conf agree':>11s} {'conf not':>9s}")
    for field, conf in FIELDS:
        shares, agree_all = [], []
        for copy in COPIES:
            ratio = STRETCH if copy == "stretch" else 1.0
            ok = [agrees(field, r["original"][field], r[copy][field], ratio) for r in results]
            shares.append(100.0 * float(np.mean(ok)))
            agree_all.append(ok)
        every = np.all(np.array(agree_all), axis=0)
        c = np.array([r["original"][conf] or 0.0 for r in results])
        means = [f"{c[sel].mean():.2f}" if sel.any() else "—" for sel in (every, ~every)]
        print(f"{field:15s} " + "".join(f"{s:8.1f}%" for s in shares)
              + f" {means[0]:>11s} {means[1]:>9s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
