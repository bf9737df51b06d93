"""Sweep rhythm settings on the development split of ``bench/corpus_set``.

Each dev clip's features are extracted once; the rhythm stage then runs under every variant
(the tempo prior's centre, the octave check's doubling threshold) and the variants are
compared on tempo Acc1/Acc2, beat and downbeat F and beats per bar, scored as
``bench/measure`` scores. These are settings of the hand-made path, so it runs with
``learned_activation=False`` (the learned path ignores them; ``bench/activation_sweep`` sweeps
its own). The settings the package ships were chosen from this table; the test split is
never swept.

Usage::

    bench/dev_sweep --prior 85,100 --min-double 0.75,1.01 --min-half 0.3,0.5
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_scores  # noqa: E402
import corpus_set  # noqa: E402
from corpus_features import clip_features  # noqa: E402

KEYS = ("acc1", "acc2", "beat_f", "downbeat_f", "bpb")


def _clip_scores(job: tuple[dict[str, Any], list[tuple[float, float, float]]]
                 ) -> list[dict[str, Any]]:
    """Scores of one clip under every (prior centre, doubling, halving threshold) variant."""
    from linernotes.analyzers.rhythm import tempo_octave
    from linernotes.analyzers.rhythm.params import RhythmParams
    from linernotes.analyzers.rhythm.stage import rhythm

    clip, variants = job
    features = clip_features(clip)
    out = []
    for prior, min_double, min_half in variants:
        tempo_octave.octave_decision.__kwdefaults__.update(min_double=min_double,
                                                           min_half=min_half)
        result = rhythm(features, RhythmParams(prior_center_bpm=prior,
                                               learned_activation=False))
        out.append(accuracy_scores.score_rhythm(clip["truth"], result))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prior", default="100", help="tempo prior centres (BPM)")
    ap.add_argument("--min-double", default="0.75", help="octave-check doubling thresholds")
    ap.add_argument("--min-half", default="0.5", help="octave-check halving thresholds")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    variants = list(itertools.product([float(v) for v in args.prior.split(",")],
                                      [float(v) for v in args.min_double.split(",")],
                                      [float(v) for v in args.min_half.split(",")]))
    clips = corpus_set.ensure_set(args.jobs, "dev")
    with ProcessPoolExecutor(args.jobs) as ex:
        per_clip = list(ex.map(_clip_scores, [(c, variants) for c in clips], chunksize=1))
    print(f"# {len(clips)} dev clips of bench/corpus_set")
    print(f"{'prior':>6s} {'min_double':>10s} {'min_half':>9s} "
          + "".join(f"{k:>11s}" for k in KEYS))
    for i, (prior, min_double, min_half) in enumerate(variants):
        means = [np.mean([scores[i][k] for scores in per_clip]) for k in KEYS]
        print(f"{prior:6.0f} {min_double:10.2f} {min_half:9.2f} "
              + "".join(f"{m:11.1f}" for m in means))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
