"""Tempo changes: are they reported where they happen, and only there?

A track whose tempo changes (a DJ mix, a medley, a song that moves to a new tempo) should get
segments of steady tempo, not one average that is true nowhere. This bench joins pairs of the
accuracy benchmark's steady clean clips (``bench/accuracy_set.py``; the drifting ones are left
out) end to end: the first clip up to its last beat, then the second from its first beat
(a 20 ms crossfade). Every join is a change of tempo at a known time:

* **change pairs**: the second tempo is 8-45 % above or below the first (in the clips' felt
  beats; ratios near 1.5 and 2 are avoided, where a metrical level could pass for a change);
* **same-tempo pairs**: within 2 %, two different songs back to back and no change to report.

For each tool it prints the share of changes found (a segment boundary within
``TOLERANCE_S`` of the join), the boundaries reported where nothing changes (on the change
pairs away from the join, and on the same-tempo pairs), and the tempo of each true segment
as the tool reports it (Acc1 4 %; Acc2 also accepts double, half, triple or a third) at the
middle of the segment.

linernotes reports its segments itself (``rhythm`` result ``tempo_segments``). librosa,
essentia and madmom report beats and one tempo; their segments come from their beats: the
median inter-beat interval of every 8 s window (2 s apart), cut by the same rule
(:func:`linernotes.analyzers.rhythm.tempo_curve.tempo_segments`). librosa's own local tempo
(``librosa.feature.tempo(aggregate=None)``) is a further baseline, segmented the same way.

Usage::

    bench/tempo_changes [--pairs 40] [--same 20] [--tools linernotes,librosa,librosa-local,essentia]

The clips come from ``bench/accuracy_set.py`` (rendered there if missing); the joined audio
is written to gitignored ``bench/data/tempo_changes_v1/``. ``--markdown`` writes the table
(``bench/results/tempo_changes.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]  # the bench modules, and linernotes uninstalled

import accuracy_scores  # noqa: E402
import accuracy_set  # noqa: E402
import accuracy_tools  # noqa: E402
from recorded import check  # noqa: E402

from linernotes.analyzers.rhythm.tempo_curve import tempo_segments  # noqa: E402

SET_VERSION = "tempo_changes_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
SEED = 20_261_122
#: Tempo ratios of the change pairs (second over first, or its inverse).
CHANGE_RATIO = (1.08, 1.45)
#: Largest ratio of a same-tempo pair.
SAME_RATIO = 1.02
#: A boundary this close to the join finds the change.
TOLERANCE_S = 6.0
CROSSFADE_S = 0.02
#: Analysis windows of the beat-derived curves (as the rhythm stage's).
WINDOW_S, HOP_S = 8.0, 2.0
TOOLS = ("linernotes", "librosa", "librosa-local", "essentia", "madmom")


def define_pairs(n_change: int, n_same: int) -> list[dict[str, Any]]:
    """Pairs of steady clean clips: ``n_change`` with a change of tempo, ``n_same`` without;
    each clip is used at most once per kind."""
    manifest = accuracy_set.load_manifest()
    clips = [c for c in accuracy_set.define_clips() if c.clean and c.drift == 0.0]
    rng = np.random.default_rng(SEED)
    pairs: list[dict[str, Any]] = []
    for kind, count in (("change", n_change), ("same", n_same)):
        used: set[str] = set()
        for i in rng.permutation(len(clips)):
            a = clips[int(i)]
            if len([p for p in pairs if p["kind"] == kind]) >= count:
                break
            if a.name in used:
                continue
            partners = []
            for b in clips:
                if b.name in used or b.name == a.name:
                    continue
                r = max(a.bpm, b.bpm) / min(a.bpm, b.bpm)
                if (kind == "change" and CHANGE_RATIO[0] <= r <= CHANGE_RATIO[1]) or (
                    kind == "same" and r <= SAME_RATIO
                ):
                    partners.append(b)
            if not partners:
                continue
            b = partners[int(rng.integers(len(partners)))]
            used |= {a.name, b.name}
            pairs.append({
                "name": f"{kind}{len(pairs):03d}_{a.name.split('_')[0]}_{b.name.split('_')[0]}",
                "kind": kind, "first": a.name, "second": b.name,
                "first_file": str(accuracy_set.clip_path(a)),
                "second_file": str(accuracy_set.clip_path(b)),
                "truth_first": manifest["clips"][a.name]["truth"],
                "truth_second": manifest["clips"][b.name]["truth"],
            })
    return pairs


def join(pair: dict[str, Any]) -> dict[str, Any]:
    """Write the joined audio (unless there) and return the pair with its file and truth."""
    import soundfile

    out = DATA / "clips" / f"{pair['name']}.wav"
    ta, tb = pair["truth_first"], pair["truth_second"]
    cut_a = float(ta["beats"][-1])
    start_b = float(tb["beats"][0])
    if not out.exists():
        a, sr = soundfile.read(pair["first_file"], dtype="float32", always_2d=True)
        b, _ = soundfile.read(pair["second_file"], dtype="float32", always_2d=True)
        fade = int(CROSSFADE_S * sr)
        head = a[: int(cut_a * sr) + fade].copy()
        tail = b[int(start_b * sr):].copy()
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
        head[-fade:] *= 1.0 - ramp
        tail[:fade] *= ramp
        joined = np.concatenate([head[:-fade], head[-fade:] + tail[:fade], tail[fade:]])
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_suffix(".part.wav")
        soundfile.write(part, joined, sr, subtype="PCM_16")
        part.replace(out)
    end = cut_a + float(tb["duration_s"]) - start_b
    return {**pair, "file": str(out), "join_s": cut_a,
            "segments": [(float(ta["beats"][0]), cut_a, float(ta["bpm"])),
                         (cut_a, end, float(tb["bpm"]))]}


Segments = list[tuple[float, float, float]]


def _window_centres(duration_s: float) -> np.ndarray:
    """Centres of the analysis windows over ``duration_s`` seconds (at least one)."""
    last = max(duration_s - WINDOW_S / 2, WINDOW_S / 2)
    return np.arange(WINDOW_S / 2, last + 1e-9, HOP_S)


def segments_from_beats(beats: list[float], duration_s: float) -> Segments:
    """Segments of a beat list: the median inter-beat interval in every analysis window, cut
    by :func:`tempo_segments`."""
    b = np.asarray(beats, dtype=np.float64)
    times, bpms = [], []
    for centre in _window_centres(duration_s):
        inside = b[(b >= centre - WINDOW_S / 2) & (b < centre + WINDOW_S / 2)]
        if inside.size >= 4:
            times.append(centre)
            bpms.append(60.0 / float(np.median(np.diff(inside))))
    return tempo_segments(np.array(times), np.array(bpms))


def _local_librosa(path: str) -> Segments:
    import librosa

    y, sr = librosa.load(path, sr=22050, mono=True)
    hop = 512
    env = librosa.onset.onset_strength(y=y, sr=sr, hop_length=hop)
    local = librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=hop, aggregate=None)
    frame_s = np.arange(local.size) * hop / sr
    centres = _window_centres(float(frame_s[-1]))
    bpms = np.interp(centres, frame_s, local)
    return tempo_segments(centres, bpms)


def analyse(item: tuple[str, str, float]) -> tuple[str, str, Segments | None]:
    """One tool's segments of one joined clip (``None`` when the tool fails)."""
    tool, path, duration = item
    try:
        if tool == "linernotes":
            from linernotes.pipeline import analyze_file

            result = analyze_file(path).analyses["rhythm"].result
            return tool, path, [(s["start"], s["end"], s["bpm"]) for s in result["tempo_segments"]]
        if tool == "librosa-local":
            return tool, path, _local_librosa(path)
        beats = accuracy_tools.cached_tool(tool)(path).get("beats") or []
        return tool, path, segments_from_beats(beats, duration)
    except Exception as exc:  # a tool failing on a clip scores nothing there
        print(f"# {tool} failed on {Path(path).name}: {exc!r}", file=sys.stderr)
        return tool, path, None


def score(pair: dict[str, Any], segments: Segments | None) -> dict[str, float]:
    """Change found, boundaries where nothing changes, and the tempo of each true segment."""
    if not segments:
        segments = []
    bounds = [s[1] for s in segments[:-1]]
    found = any(abs(b - pair["join_s"]) <= TOLERANCE_S for b in bounds)
    spurious = [b for b in bounds
                if pair["kind"] == "same" or abs(b - pair["join_s"]) > TOLERANCE_S]
    acc1 = acc2 = 0
    for start, end, bpm in pair["segments"]:
        mid = 0.5 * (start + end)
        est = next((s[2] for s in segments if s[0] <= mid <= s[1]), None)
        rel = accuracy_scores.tempo_relation(bpm, est)
        acc1 += rel == "correct"
        acc2 += rel in ("correct", "double", "half", "triple", "third")
    out = {"spurious": float(len(spurious)), "seg_acc1": 50.0 * acc1, "seg_acc2": 50.0 * acc2}
    if pair["kind"] == "change":
        out["found"] = 100.0 * found
    return out


def table(pairs: list[dict[str, Any]], scores: dict[str, dict[str, dict[str, float]]],
          tools: list[str]) -> list[str]:
    change = [p for p in pairs if p["kind"] == "change"]
    same = [p for p in pairs if p["kind"] == "same"]
    rows = [
        (f"changes found (±{TOLERANCE_S:g} s), % of {len(change)}", change, "found", 1),
        (f"extra boundaries per change pair ({len(change)})", change, "spurious", 2),
        (f"boundaries per same-tempo pair ({len(same)})", same, "spurious", 2),
        ("segment tempo Acc1, change pairs %", change, "seg_acc1", 1),
        ("segment tempo Acc2, change pairs %", change, "seg_acc2", 1),
        ("tempo Acc1, same-tempo pairs %", same, "seg_acc1", 1),
    ]
    head = f"{'':46s}" + "".join(f"{t:>14s}" for t in tools)
    lines = [head, "-" * len(head)]
    for label, members, key, digits in rows:
        cells = "".join(
            f"{np.mean([scores[t][p['name']][key] for p in members]):14.{digits}f}"
            if members else f"{'—':>14s}" for t in tools)
        lines.append(f"{label:46s}{cells}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=40, help="pairs with a change of tempo")
    ap.add_argument("--same", type=int, default=20, help="pairs at the same tempo")
    ap.add_argument("--tools", default="linernotes,librosa,librosa-local,essentia")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--markdown", type=Path, default=None)
    args = ap.parse_args(argv)

    accuracy_set.ensure_set(accuracy_set.define_clips(), jobs=args.jobs)
    pairs = [join(p) for p in define_pairs(args.pairs, args.same)]
    tools = []
    for tool in args.tools.split(","):
        if tool not in TOOLS:
            ap.error(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
        try:
            if tool != "linernotes":
                accuracy_tools.load_tool("librosa" if tool == "librosa-local" else tool)
            tools.append(tool)
        except accuracy_tools.Unavailable as exc:
            print(f"# {tool} skipped: {exc}", file=sys.stderr)
    duration = {p["file"]: p["segments"][1][1] for p in pairs}
    items = [(t, p["file"], duration[p["file"]]) for t in tools for p in pairs]
    with ProcessPoolExecutor(args.jobs) as ex:
        got = {(t, path): segs for t, path, segs in ex.map(analyse, items, chunksize=2)}
    scores = {t: {p["name"]: score(p, got[(t, p["file"])]) for p in pairs} for t in tools}
    results = {p["name"]: {"pair": {k: v for k, v in p.items() if not k.startswith("truth")},
                           **{t: {"segments": got[(t, p["file"])], "score": scores[t][p["name"]]}
                              for t in tools}} for p in pairs}
    (DATA / "results.json").write_text(json.dumps(results, indent=1, default=float))
    lines = [
        f"$ bench/tempo_changes --pairs {args.pairs} --same {args.same} --tools {','.join(tools)}",
        f"# {len(pairs)} joined clips from {accuracy_set.SET_VERSION}: "
        f"{sum(p['kind'] == 'change' for p in pairs)} with a tempo change of "
        f"{CHANGE_RATIO[0]:g}-{CHANGE_RATIO[1]:g}x, {sum(p['kind'] == 'same' for p in pairs)} "
        f"at the same tempo (within {100 * (SAME_RATIO - 1):g} %)",
        *table(pairs, scores, tools),
    ]
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text(
            "# Tempo changes: segments where the tempo changes, and only there\n\n"
            "Generated by `bench/tempo_changes` (see `bench/tempo_changes.py`).\n\n"
            "```text\n" + "\n".join(lines) + "\n```\n")
    if "linernotes" not in tools or (args.pairs, args.same) != (40, 20):
        return 0
    return check("tempo_changes", linernotes_figures(pairs, scores["linernotes"]))


def linernotes_figures(pairs: list[dict[str, Any]], mine: dict[str, dict[str, float]]) -> dict:
    """The rows of :func:`table` for linernotes, by the names bench/results/recorded.json uses."""
    change = [mine[p["name"]] for p in pairs if p["kind"] == "change"]
    same = [mine[p["name"]] for p in pairs if p["kind"] == "same"]
    return {
        "changes_found": float(np.mean([s["found"] for s in change])),
        "extra_boundaries_per_change_pair": float(np.mean([s["spurious"] for s in change])),
        "boundaries_per_same_pair": float(np.mean([s["spurious"] for s in same])),
        "segment_acc1": float(np.mean([s["seg_acc1"] for s in change])),
        "segment_acc2": float(np.mean([s["seg_acc2"] for s in change])),
        "same_tempo_acc1": float(np.mean([s["seg_acc1"] for s in same])),
    }


if __name__ == "__main__":
    raise SystemExit(main())
