"""One table: linernotes against librosa, essentia and madmom on music none of us wrote.

The clips are ``bench/corpus_set``'s (rendered from music21's corpus and from game music
shipped as MIDI, split into ``dev`` and ``test`` by collection before any result was seen).
Figures are reported on ``test``; ``--split dev`` is for development, and nothing is ever
tuned on ``test``.

It prints, per metric and per subset (all, drums / no drums, beats per bar and compound,
texture, collection, degradation), tempo Acc1/Acc2, beat and downbeat F, beats per bar,
simple/compound, and key MIREX for every tool installed; then the **trust figures** of
linernotes: per field (bpm, key, time signature) the share of wrong values that carry a
review flag and the share of right values that do, as ``linernotes review`` flags them
(:func:`linernotes.reconcile.reconcile` on the record, no model), with how often a value is
right at each band of its confidence; then the **speed** (audio seconds per CPU second of
the analysis, one core, decoding included). ``--speed`` also runs ``bench/speed`` and
``bench/speed --memory`` (a 60-minute file) for linernotes.

Scoring is ``bench/accuracy_scores.score_clip`` (mir_eval, +-70 ms, the first 5 s skipped);
the other tools run with ``bench/accuracy_tools``' adapters, pinned to one core, and their
estimates are cached by file hash in ``bench/data/corpus_set_v1/cache/`` (madmom runs at
about 1.6x real time: its first run on the test split takes most of an hour on one core).

Usage::

    bench/measure                                  # test split, every tool installed
    bench/measure --split dev --tools linernotes   # while developing
    bench/measure --split game                     # bench/game_dev_set, a dev set too
    bench/measure --split produced                 # bench/produced_set: LMMS songs, dev too
    bench/measure --split charted                  # bench/charted_set: real recordings, test only
    bench/measure --markdown bench/results/measure.md --speed
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_scores  # noqa: E402
import accuracy_tools  # noqa: E402
import corpus_tunes  # noqa: E402
import labelled_sets  # noqa: E402

TOOLS = ("linernotes", "librosa", "essentia", "madmom")
METRICS = (("acc1", "Acc1"), ("acc2", "Acc2"), ("beat_f", "beatF"), ("downbeat_f", "downF"),
           ("bpb", "bpb"), ("compound", "s/c"), ("key_mirex", "keyMX"))
FIELDS = (("bpm", "acc1", "bpm_confidence"), ("key", "key_exact", "key_confidence"),
          ("time_signature", "numerator", "meter_confidence"))
CONFIDENCE_BANDS = (0.0, 0.3, 0.5, 0.7, 0.85, 0.95, 1.01)


def _pin_one_core() -> None:
    """Run this worker on one core with one-thread math libraries (as bench/accuracy). The
    worker is forked after numpy was imported, so its BLAS pool already exists: it is
    limited through threadpoolctl too (else idle BLAS threads spin and their CPU time is
    counted as the analysis')."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def analyse_linernotes(path: str) -> dict[str, Any]:
    """linernotes' estimate of one clip, with its review flags (no model) and CPU time."""
    from linernotes.pipeline import analyze_file
    from linernotes.reconcile import reconcile

    start = time.process_time()
    record = analyze_file(path)
    cpu_s = time.process_time() - start
    estimate = accuracy_tools.linernotes_estimate(record)
    final = reconcile(record)
    estimate["flags"] = {name: bool(final.fields[name].review) if name in final.fields else True
                         for name, _, _ in FIELDS}
    estimate["cpu_s"] = cpu_s
    return estimate


def _analyse(item: tuple[str, str]) -> tuple[str, str, dict[str, Any] | None]:
    _pin_one_core()
    tool, path = item
    try:
        if tool == "linernotes":
            return tool, path, analyse_linernotes(path)
        return tool, path, accuracy_tools.cached_tool(tool)(path)
    except Exception as exc:  # a tool failing on a clip scores zero there
        print(f"# {tool} failed on {Path(path).name}: {exc!r}", file=sys.stderr)
        return tool, path, None


def caps(tool: str, clip: dict[str, Any]) -> frozenset[str]:
    """What ``tool`` is scored on for ``clip`` (:func:`accuracy_scores.clip_caps`)."""
    return accuracy_scores.clip_caps(accuracy_scores.CAPS[tool], clip)


def subsets(clips: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The table's rows: every subset of the clips it reports."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in clips:
        t = c["truth"]
        labels = ["all", "drums" if c["drums"] else "no drums",
                  f"{t['beats_per_bar']} per bar" + (" compound" if t["compound"] else ""),
                  f"texture {c['texture']}", f"{c['collection']}",
                  f"degraded {c.get('degradation', 'none')}"]
        if "extent" in c:
            labels.append("whole track" if c["extent"] == "whole" else "30 s crop")
        for label in labels:
            out[label].append(c)
    return dict(out)


def table(clips: list[dict[str, Any]], scores: dict[str, dict[str, dict[str, Any]]],
          tools: list[str]) -> list[str]:
    """Mean of each metric per subset and tool, ``—`` where a tool does not estimate it; the
    best value of a cell is starred."""
    short = [t[:6] for t in tools]
    width = 7 * len(tools)
    head1 = f"{'':24s}" + "".join(f"| {label:{width}s}" for _, label in METRICS)
    head2 = f"{'subset':20s} {'n':>3s} " + "".join(
        "| " + "".join(f"{s:>7s}" for s in short) for _ in METRICS)
    lines = [head1, head2, "-" * len(head2)]
    for label, members in subsets(clips).items():
        cells = []
        for key, _ in METRICS:
            vals = corpus_tunes.subset_means(members, scores, tools, key)
            best = max((v for v in vals if v is not None), default=None)
            star = len(tools) > 1
            cells.append("| " + "".join(
                f"{'—':>7s}" if v is None else f"{v:6.1f}{'*' if star and v == best else ' '}"
                for v in vals))
        lines.append(f"{label[:20]:20s} {len(members):3d} " + "".join(cells))
    return lines


def trust(clips: list[dict[str, Any]], estimates: dict[str, dict[str, Any] | None],
          scores: dict[str, dict[str, Any]]) -> list[str]:
    """Per field: share of wrong values flagged, of right values flagged, and how often a
    value is right in each confidence band."""
    lines = [f"{'field':15s} {'values':>6s} {'right':>6s} {'wrong flagged':>14s} "
             f"{'right flagged':>14s}   right % by confidence band (n)"]
    for field, metric, conf_key in FIELDS:
        rows = []
        for c in clips:
            est = estimates[c["name"]] or {}
            score = scores[c["name"]].get(metric)
            if score is None:
                continue
            rows.append((score > 0, bool((est.get("flags") or {}).get(field, True)),
                         float(est.get(conf_key) or 0.0)))
        if not rows:
            continue
        right = np.array([r[0] for r in rows])
        flagged = np.array([r[1] for r in rows])
        conf = np.array([r[2] for r in rows])
        wrong_f = f"{flagged[~right].sum()}/{(~right).sum()} " + (
            f"{100 * flagged[~right].mean():5.1f}%" if (~right).any() else "   —  ")
        right_f = f"{flagged[right].sum()}/{right.sum()} " + (
            f"{100 * flagged[right].mean():5.1f}%" if right.any() else "   —  ")
        bands = []
        for lo, hi in itertools.pairwise(CONFIDENCE_BANDS):
            sel = (conf >= lo) & (conf < hi)
            if sel.any():
                bands.append(f"{lo:.2f}-{min(hi, 1):.2f}: {100 * right[sel].mean():3.0f} "
                             f"({sel.sum()})")
        lines.append(f"{field:15s} {len(rows):6d} {right.sum():6d} {wrong_f:>14s} "
                     f"{right_f:>14s}   " + ", ".join(bands))
    return lines


def speed_lines(clips: list[dict[str, Any]], estimates: dict[str, dict[str, Any] | None]
                ) -> list[str]:
    cpu = [e["cpu_s"] for e in estimates.values() if e and "cpu_s" in e]
    audio = sum(c["truth"]["duration_s"] for c in clips)
    if not cpu:
        return []
    return [f"linernotes whole analysis: {audio / sum(cpu):.1f}x real time on one core "
            f"({audio / 60:.0f} min of audio, {sum(cpu):.0f} CPU s, decoding included)"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=labelled_sets.NAMES, default="test",
                    help="a split of bench/corpus_set, game: bench/game_dev_set (dev too), "
                         "produced: bench/produced_set (LMMS songs; dev too), or charted: "
                         "bench/charted_set (real recordings; test only)")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--speed", action="store_true",
                    help="also run bench/speed and bench/speed --memory for linernotes")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the output here")
    ap.add_argument("--json", type=Path, default=None, help="estimates and scores per clip")
    args = ap.parse_args(argv)

    chosen = labelled_sets.load(args.split, args.jobs)
    clips, data = chosen.clips, chosen.data
    label = (f"{chosen.module} ({args.split} split)" if chosen.module == "corpus_set"
             else chosen.module)
    tools = corpus_tunes.installed_tools(args.tools.split(","))
    raw = corpus_tunes.analyse_all(tools, clips, args.jobs, data=data, analyse=_analyse)
    path_of = {c["name"]: str(data / c["file"]) for c in clips}
    estimates = {t: {n: raw[(t, p)] for n, p in path_of.items()} for t in tools}
    score = accuracy_scores.score_clip
    scores = {t: {c["name"]: score(c["truth"], estimates[t][c["name"]], caps(t, c))
                  for c in clips} for t in tools}
    lines = [f"$ bench/measure --split {args.split} --tools {','.join(tools)}",
             f"# {len(clips)} clips of bench/{label}; metrics in %, mean over clips; * best",
             *table(clips, scores, tools)]
    if "linernotes" in tools:
        lines += ["", "# trust (linernotes review flags, no model; right = Acc1, exact key, "
                  "exact numerator)", *trust(clips, estimates["linernotes"],
                                            scores["linernotes"]),
                  "", *speed_lines(clips, estimates["linernotes"])]
    print("\n".join(lines))
    if args.speed:
        for extra in ([], ["--memory"]):
            out = subprocess.run([sys.executable, str(ROOT / "bench" / "speed.py"), "--tools",
                                  "linernotes", *extra], capture_output=True, text=True)
            lines += ["", f"$ bench/speed --tools linernotes {' '.join(extra)}".rstrip(),
                      *out.stdout.strip().splitlines()[-6:]]
            print("\n".join(lines[-7:]))
    if args.json:
        args.json.write_text(json.dumps({"clips": clips, "estimates": estimates,
                                         "scores": scores}, default=float))
    if args.markdown:
        title = {"test": "The independent test split", "dev": "The dev split",
                 "game": "The game-music dev set",
                 "produced": "Produced songs (LMMS demos), a dev set",
                 "charted": "Real recordings with charted beats"}[args.split]
        corpus_tunes.write_markdown(args.markdown, title, "measure", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
