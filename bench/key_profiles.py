"""Read the dev split's keys with every set of key-profile families, to choose the templates.

Each set of :data:`linernotes.analyzers.tonal.key.KEY_PROFILES`' families (one to all four)
is given to the tonal stage (``TonalParams(profiles=...)``) on every clip of the **dev**
split of ``bench/corpus_set`` that has a key; the table prints exact keys and the MIREX
weighted score per set, best first, then the shipped set and the best by collection. Tonal 4's
templates (Albrecht-Shanahan alone) were chosen from this table (``rhythm_tuning_history.md``);
the test split is never read here.

Usage::

    bench/key_profiles [--jobs 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections import defaultdict
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

from linernotes.analyzers.tonal.key import KEY_PROFILES  # noqa: E402

#: Every non-empty set of profile families, in a fixed order.
PROFILE_SETS = [combo for k in range(1, len(KEY_PROFILES) + 1)
                for combo in itertools.combinations(sorted(KEY_PROFILES), k)]


def _clip_scores(clip: dict[str, Any]) -> dict[tuple[str, ...], tuple[float, float]]:
    """Exact (0/100) and MIREX weighted score of one clip's key under every profile set."""
    from linernotes.analyzers.tonal.stage import TonalParams, tonal

    features = clip_features(clip)
    out = {}
    for profiles in PROFILE_SETS:
        key = tonal(features, TonalParams(profiles=profiles)).key
        score = accuracy_scores.score_clip(clip["truth"], {"key": key}, frozenset({"key"}))
        out[profiles] = (score["key_exact"], score["key_mirex"])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    clips = [c for c in corpus_set.ensure_set(args.jobs, "dev")
             if c["truth"].get("tonic") is not None]
    with ProcessPoolExecutor(args.jobs) as ex:
        scores = list(ex.map(_clip_scores, clips, chunksize=1))
    from linernotes.analyzers.tonal.stage import TonalParams

    shipped = tuple(sorted(TonalParams().profiles))
    rows = sorted(PROFILE_SETS, key=lambda p: (-np.mean([s[p][1] for s in scores]),
                                              -np.mean([s[p][0] for s in scores]), len(p)))
    print(f"# {len(clips)} dev clips with a key; exact / MIREX weighted (%), best first")
    for profiles in rows:
        exact = np.mean([s[profiles][0] for s in scores])
        mirex = np.mean([s[profiles][1] for s in scores])
        mark = "  (shipped)" if profiles == shipped else ""
        print(f"{' + '.join(profiles):42s} {exact:5.1f}  {mirex:5.1f}{mark}")
    print("\n# by collection, exact / MIREX: shipped, then the best set overall")
    per: dict[str, list[int]] = defaultdict(list)
    for i, clip in enumerate(clips):
        per[clip["collection"]].append(i)
    for name, idx in per.items():
        cells = []
        for profiles in (shipped, rows[0]):
            cells.append(f"{np.mean([scores[i][profiles][0] for i in idx]):5.1f} / "
                         f"{np.mean([scores[i][profiles][1] for i in idx]):5.1f}")
        print(f"{name:12s} ({len(idx):2d})  " + "   ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
