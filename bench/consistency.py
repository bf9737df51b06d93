"""Consistency without labels: does linernotes give a track and its altered copies the same
tempo, key and time signature?

Two sets:

* ``--set corpus`` (default): the clips of a ``bench/corpus_set`` split (30-40 s excerpts),
  with three copies: a crop (from 5 s to the end), an MP3 transcode (128 kbit/s) and a copy
  sped up by 4 % with sox's ``tempo`` (pitch kept; its tempo should read 4 % faster).
* ``--set real``: the real recordings of ``bench/real_set`` (released game soundtracks, whole
  tracks of 40 s to 9 min, no labels), as a new user would meet them: the whole track, three
  30 s crops (from 20, 50 and 80 % of its length), an MP3 transcode (ffmpeg, 128 kbit/s) and
  the 4 % faster copy. A crop of a track whose tempo or key changes may rightly differ from
  the whole; the table says how often it does.

It prints, per field and copy, the share of tracks whose value agrees (tempo within 4 %, the
same key and time signature; a missing value agrees only with a missing value), for the tempo
also the share that agrees at a related metrical level (x2, x1/2, x3/2, x2/3) and, for a
crop, the share that agrees with the whole track's own tempo over the crop's span (the
tempo segment it overlaps most: a track that changes tempo reports the change), and how the
original's confidence relates to agreement: its mean where every copy agrees and where one
does not, the AUROC of the confidence for "every copy agrees", and the share of each group that
``review`` flags (the shipped thresholds). A disagreement is a sign that the value may be
wrong, so a calibrated confidence should already be lower there.

Usage::

    bench/consistency [--split test] [--limit 40]
    bench/consistency --set real [--limit 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
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
import real_set  # noqa: E402
from key_calibration import auroc  # noqa: E402

from linernotes.reconcile.review import MEASURED_REVIEW_BELOW  # noqa: E402

STRETCH = 1.04
#: Copies of a corpus clip, and of a real track (crops named by where they start).
CORPUS_COPIES = ("crop", "mp3", "stretch")
REAL_COPIES = (*real_set.CROP_NAMES, "mp3", "stretch")
FIELDS = (("bpm", "bpm_confidence"), ("key", "key_confidence"),
          ("time_signature", "meter_confidence"))
#: Tempo ratios of a related metrical level: the same beat counted at another level.
RELATED_LEVELS = (2.0, 0.5, 1.5, 2.0 / 3.0)


def _values(path: Path) -> dict[str, Any]:
    from linernotes.pipeline import analyze_file

    record = analyze_file(str(path))
    r, t = record.analyses["rhythm"].result, record.analyses["tonal"].result
    return {"bpm": r.get("bpm"), "bpm_confidence": r.get("bpm_confidence", 0.0),
            "key": t.get("key"), "key_confidence": t.get("key_confidence", 0.0),
            "time_signature": r.get("time_signature"),
            "meter_confidence": r.get("meter_confidence", 0.0),
            "tempo_segments": r.get("tempo_segments") or []}


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True, text=True)


def _clip(clip: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A corpus clip's values and each copy's."""
    src = corpus_set.DATA / clip["file"]
    out = {"original": _values(src)}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        _sox(str(src), str(t / "crop.wav"), "trim", "5")
        audio = soundfile.read(src, dtype="float32", always_2d=True)[0]
        accuracy_set._write_wav(accuracy_set.apply_degradation(
            audio, "mp3", None, tmp=t, seed=(0,)), t / "mp3.wav")
        _sox(str(src), str(t / "stretch.wav"), "tempo", str(STRETCH))
        for copy in CORPUS_COPIES:
            out[copy] = _values(t / f"{copy}.wav")
    out["crop"]["span_s"] = (5.0, float("inf"))
    return out


def _track(track: dict[str, Any]) -> dict[str, Any]:
    """A real track's values and each copy's, the copies made as a user's tools make them
    (sox for crops and the stretch, ffmpeg for the MP3, from sox's decoding of the original:
    a few of the Ogg files have headers FFmpeg refuses). A copy that cannot be made or read
    gives ``{"error": ...}`` for the whole track."""
    src = real_set.DATA / track["file"]
    try:
        out: dict[str, Any] = {"original": _values(src)}
        begins = real_set.crop_begins(float(track["duration_s"]))
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            _sox(str(src), str(t / "whole.wav"))
            for name, begin in begins.items():
                _sox(str(t / "whole.wav"), str(t / f"{name}.wav"), "trim", f"{begin:.2f}",
                     f"{real_set.CROP_S:g}")
            subprocess.run(["ffmpeg", "-v", "error", "-i", str(t / "whole.wav"), "-b:a", "128k",
                            str(t / "mp3.mp3")], check=True, capture_output=True, text=True)
            _sox(str(t / "whole.wav"), str(t / "stretch.wav"), "tempo", str(STRETCH))
            for name in REAL_COPIES:
                out[name] = _values(t / (f"{name}.mp3" if name == "mp3" else f"{name}.wav"))
        for name, begin in begins.items():
            out[name]["span_s"] = (begin, begin + real_set.CROP_S)
        return out
    except (subprocess.CalledProcessError, OSError, ValueError) as exc:
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else exc
        return {"error": f"{track['file']}: {detail}"}


def _ratio(copy: str) -> float:
    """How much faster a copy's tempo should read than the original's."""
    return STRETCH if copy == "stretch" else 1.0


def agrees(field: str, original: Any, copy: Any, ratio: float = 1.0) -> bool:
    """Whether a copy's value matches the original's (tempo within 4 % after ``ratio``)."""
    if original is None or copy is None:
        return original is None and copy is None
    if field == "bpm":
        return abs(copy / (original * ratio) - 1.0) <= 0.04
    return original == copy


def agrees_at_a_level(original: float | None, copy: float | None, ratio: float = 1.0) -> bool:
    """Whether a copy's tempo matches the original's at the same or a related metrical level."""
    return any(agrees("bpm", original, copy, ratio * level) for level in (1.0, *RELATED_LEVELS))


def local_tempo(original: dict[str, Any], span_s: tuple[float, float]) -> float | None:
    """The original's own tempo over a crop's span: that of its tempo segment overlapping
    the span most (a track that changes tempo reports the change in ``tempo_segments``),
    else its tempo."""
    begin, end = span_s
    overlaps = [(min(end, seg["end"]) - max(begin, seg["start"]), seg["bpm"])
                for seg in original.get("tempo_segments") or []]
    best = max(overlaps, default=(0.0, None))
    return float(best[1]) if best[0] > 0 else original["bpm"]


def report(results: list[dict[str, Any]], copies: tuple[str, ...]) -> list[str]:
    """The table: agreement per field and copy, and the original's confidence against it."""
    lines = [f"{'field':15s} " + "".join(f"{c:>8s}" for c in copies)
             + f" {'conf agree':>10s} {'conf not':>8s} {'AUROC':>6s} "
             + f"{'flagged: agree':>14s} {'not':>10s}"]
    for field, conf in FIELDS:
        shares, agree_all = [], []
        for copy in copies:
            ok = [agrees(field, r["original"][field], r[copy][field], _ratio(copy))
                  for r in results]
            shares.append(100.0 * float(np.mean(ok)))
            agree_all.append(ok)
        every = np.all(np.array(agree_all), axis=0)
        c = np.array([r["original"][conf] or 0.0 for r in results])
        valued = np.array([r["original"][field] is not None for r in results])
        flagged = valued & (c < MEASURED_REVIEW_BELOW[field]) | ~valued
        means = [f"{c[sel].mean():.2f}" if sel.any() else "—" for sel in (every, ~every)]
        flags = [f"{int(flagged[sel].sum())}/{int(sel.sum())}" for sel in (every, ~every)]
        lines.append(f"{field:15s} " + "".join(f"{s:7.1f}%" for s in shares)
                     + f" {means[0]:>10s} {means[1]:>8s} {auroc(c, every):6.3f} "
                     + f"{flags[0]:>14s} {flags[1]:>10s}")
        if field == "bpm":
            level = [100.0 * float(np.mean([agrees_at_a_level(
                r["original"]["bpm"], r[copy]["bpm"], _ratio(copy)) for r in results]))
                for copy in copies]
            lines.append(f"{'  any level':15s} " + "".join(f"{s:7.1f}%" for s in level))
            local = []
            for copy in copies:
                if not all("span_s" in r[copy] for r in results):
                    local.append(f"{'—':>8s}")
                    continue
                ok = [agrees("bpm", local_tempo(r["original"], r[copy]["span_s"]), r[copy]["bpm"])
                      for r in results]
                local.append(f"{100.0 * float(np.mean(ok)):7.1f}%")
            lines.append(f"{'  local tempo':15s} " + "".join(local))
    for field, _ in FIELDS:
        missing = [sum(r[copy][field] is None for r in results) for copy in ("original", *copies)]
        if any(missing):
            lines.append(f"no {field}: " + ", ".join(
                f"{name} {n}" for name, n in zip(("original", *copies), missing, strict=True)))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("corpus", "real"), default="corpus")
    ap.add_argument("--split", choices=("dev", "test"), default="test",
                    help="the corpus split (--set corpus)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--json", type=Path, default=None, help="every value of every copy")
    args = ap.parse_args(argv)
    if args.set == "real":
        items, work, copies = real_set.ensure_set()[: args.limit], _track, REAL_COPIES
        what = "real tracks of bench/real_set"
        command = "bench/consistency --set real"
    else:
        items = corpus_set.ensure_set(args.jobs, args.split)[: args.limit]
        work, copies, what = _clip, CORPUS_COPIES, f"clips of the {args.split} split"
        command = f"bench/consistency --split {args.split}"
    with ProcessPoolExecutor(args.jobs) as ex:
        results = list(ex.map(work, items, chunksize=1))
    if args.json is not None:
        args.json.write_text(json.dumps(
            [{"name": i["name"], **r} for i, r in zip(items, results, strict=True)], indent=1))
    failed = [r["error"] for r in results if "error" in r]
    results = [r for r in results if "error" not in r]
    print(f"$ {command}" + (f" --limit {args.limit}" if args.limit else ""))
    print(f"# {len(items) - len(failed)} {what}; agreement of each copy with the original; "
          "the original's mean confidence where all copies agree / where one does not, its "
          "AUROC for agreement, and how many of each group review flags")
    print("\n".join(report(results, copies)))
    for error in failed:
        print(f"left out: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
