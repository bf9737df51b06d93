"""Compare ways of using the learned activation on the development split of ``bench/corpus_set``
(or on ``bench/game_dev_set``'s game music, ``--set game``, or ``bench/produced_set``'s LMMS
songs, ``--set produced``).

Each dev clip's features are extracted once (``bench/corpus_features``, cached);
the rhythm stage then runs under every variant, a set of :class:`RhythmParams` overrides, and
the variants are scored as ``bench/measure`` scores them (tempo Acc1/Acc2, beat and downbeat
F, beats per bar, numerator), overall and with and without drums. The learned path's
settings in :class:`linernotes.analyzers.rhythm.params.RhythmParams` were chosen from this
table; the test split is never swept.

A candidate network (``bench/train_activation --out``, one network or an ensemble) is read
instead of the packaged one with ``--weights``, so networks are compared without touching
the package file.

Usage::

    bench/activation_sweep --variant learned_activation=false --variant '' \\
        --variant learned_octave_check=true
    bench/activation_sweep --weights bench/data/beat_train_v3/activation_seed25.npz
    bench/activation_sweep --set game
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
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_scores  # noqa: E402
import labelled_sets  # noqa: E402
from corpus_features import clip_features  # noqa: E402

KEYS = ("acc1", "acc2", "beat_f", "downbeat_f", "bpb", "numerator")


def parse_variant(text: str) -> dict[str, Any]:
    """``name=value,name=value`` as RhythmParams overrides (values read as JSON)."""
    out: dict[str, Any] = {}
    for part in filter(None, text.split(",")):
        name, value = part.split("=", 1)
        out[name.strip()] = json.loads(value)
    return out


def _use_weights(path: str | None) -> None:
    """Read the activation network from ``path`` in this process (the packaged one when
    ``None``)."""
    if path is not None:
        from linernotes.analyzers.rhythm import activation

        activation.WEIGHTS_FILE = Path(path)


def _clip_scores(job: tuple[dict[str, Any], list[dict[str, Any]], str]
                 ) -> list[dict[str, Any]]:
    from linernotes.analyzers.rhythm.params import RhythmParams
    from linernotes.analyzers.rhythm.stage import rhythm

    clip, variants, data = job
    features = clip_features(clip, Path(data))
    caps = accuracy_scores.clip_caps(accuracy_scores.RHYTHM_CAPS, clip)
    return [accuracy_scores.score_rhythm(clip["truth"], rhythm(features, RhythmParams(**o)),
                                         caps)
            for o in variants]


def _mean(values: list[Any]) -> float:
    """The mean of the scores a clip has (a clip whose bar lines are unknown has no bar
    metric)."""
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", action="append", default=None,
                    help="RhythmParams overrides, name=value[,name=value] ('' = defaults)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--limit", type=int, default=None, help="first N dev clips only")
    ap.add_argument("--set", choices=("dev", "game", "produced"), default="dev",
                    help="bench/corpus_set's dev split, bench/game_dev_set's game music, or "
                         "bench/produced_set's LMMS songs")
    ap.add_argument("--weights", type=Path, default=None, metavar="NPZ",
                    help="the activation network to read instead of the packaged one")
    args = ap.parse_args(argv)
    if args.weights is not None and not args.weights.exists():
        ap.error(f"{args.weights}: no such weights file")
    variants = [parse_variant(v) for v in (args.variant or [""])]
    chosen = labelled_sets.load(args.set, args.jobs)
    clips, data, label = chosen.clips, chosen.data, f"bench/{chosen.module}"
    clips = clips[: args.limit]
    weights = None if args.weights is None else str(args.weights.resolve())
    with ProcessPoolExecutor(args.jobs, initializer=_use_weights, initargs=(weights,)) as ex:
        per_clip = list(ex.map(_clip_scores, [(c, variants, str(data)) for c in clips],
                               chunksize=1))
    known = sum(c.get("downbeats_known", True) for c in clips)
    print(f"# {len(clips)} dev clips of {label}"
          + (f" (bar lines known on {known}; the others score no bar metric)"
             if known < len(clips) else "")
          + (f", network {args.weights}" if args.weights else ""))
    groups = {"all": range(len(clips)),
              "drums": [i for i, c in enumerate(clips) if c["drums"]],
              "no drums": [i for i, c in enumerate(clips) if not c["drums"]]}
    for g, idx in groups.items():
        if not idx:
            continue
        print(f"\n## {g} ({len(idx)} clips)")
        print(f"{'variant':50s}" + "".join(f"{k:>11s}" for k in KEYS))
        for v, overrides in enumerate(variants):
            means = [_mean([per_clip[i][v].get(k) for i in idx]) for k in KEYS]
            name = ",".join(f"{k}={val}" for k, val in overrides.items()) or "(defaults)"
            print(f"{name[:50]:50s}" + "".join(f"{m:11.1f}" for m in means))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
