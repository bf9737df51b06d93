"""Fit the meter confidence on songs that the accuracy benchmark never sees.

``linernotes.analyzers.rhythm.bar_length.meter_confidence`` is meant to approximate the
probability that the reported time-signature numerator is right. Its constants are fitted
here, on the same held-out songs as ``bench/key_calibration`` (rendered from seeds disjoint from
``bench/accuracy_set.py``, so the benchmark's calibration table is an honest test of them), by
logistic regression of "numerator right" on the choice that fixed the bar length
(``RhythmResult.meter_decision``):

* ``duple_simple`` - the bar was a choice between two and four simple beats (2/4 or 4/4);
* ``compound`` - the reading is compound (6/8 or 12/8, whichever way it was found);
* ``margin`` - how far that choice's evidence was from its threshold.

Bars of three, five or seven beats are the baseline. The held-out songs come in five meters
in equal numbers; each song is weighted so that the meters count as often as in the accuracy
benchmark (:data:`accuracy_set.METER_PLAN`, where 4/4 is the most common), since how often a
2/4-or-4/4 choice is right depends on how common 2/4 is. Tried and dropped: the strength of
the bar fit, and whether the pulses were tracked as eighths or regrouped (weights near zero,
no better ranking on the benchmark).

Usage::

    bench/meter_calibration [--n 192] [--jobs 2]

Songs are rendered once and cached under ``bench/data/key_calibration/``. The script prints the
fitted constants and the calibration tables of the fitted and the shipped constants.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import key_calibration  # noqa: E402
from accuracy_set import METER_PLAN  # noqa: E402

from linernotes.analyzers.fitted import write_weights  # noqa: E402
from linernotes.analyzers.rhythm.bar_length import METER_EVIDENCE as FEATURES  # noqa: E402
from linernotes.analyzers.rhythm.bar_length import meter_evidence  # noqa: E402


def _analyse(spec: Any) -> dict[str, Any] | None:
    """Render one song (cached) and measure its rhythm (runs in a worker)."""
    import soundfile

    from linernotes.analyzers.rhythm.params import RhythmParams
    from linernotes.analyzers.rhythm.stage import rhythm
    from linernotes.features import extract_features_from_array

    path = key_calibration.song_path(spec)
    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    result = rhythm(extract_features_from_array(audio.T, sr), RhythmParams())
    if result.numerator is None:
        return None
    meter = f"{spec.numerator}/{spec.denominator}"
    return {"name": path.stem, "meter": meter, "time_signature": result.time_signature,
            "right": result.numerator == spec.numerator, "shipped": result.meter_confidence,
            "decision": result.meter_decision,
            **meter_evidence(result.meter_decision, result.meter_decision_margin or 0.0)}


def main(argv: list[str] | None = None) -> int:
    args = key_calibration.calibration_args(__doc__, argv)

    with ProcessPoolExecutor(args.jobs) as pool:
        specs = key_calibration.song_specs(args.n)
        rows = [row for row in pool.map(_analyse, specs) if row is not None]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    right = np.array([r["right"] for r in rows])
    held = {m: sum(r["meter"] == m for r in rows) for m in {r["meter"] for r in rows}}
    plan = {m: METER_PLAN[m] for m in held}
    weight = np.array([plan[r["meter"]] / sum(plan.values()) / (held[r["meter"]] / len(rows))
                       for r in rows])
    x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)
    w = key_calibration.fit_logistic(x, right.astype(np.float64), weight=weight)
    fitted = 1.0 / (1.0 + np.exp(-(np.column_stack([np.ones(len(x)), x]) @ w)))
    shipped = np.array([r["shipped"] for r in rows])

    print(f"# {args.n} held-out songs (seeds from {key_calibration.SEED_BASE}); "
          f"{len(rows)} with a meter; "
          f"numerator right {100 * right.mean():.1f} % "
          f"({100 * np.average(right, weights=weight):.1f} % weighted to the benchmark's mix)")
    print("meters: " + ", ".join(f"{m} {n}" for m, n in sorted(held.items())))
    if args.write:
        write_weights({"meter_confidence": tuple(round(float(v), 3) for v in w)})
    print("fitted constants: " + ", ".join(
        f"{name} {v:+.3f}" for name, v in zip(("bias", *FEATURES), w, strict=True)))
    print("\nright % per decision (weighted):")
    for decision in sorted({str(r["decision"]) for r in rows}):
        sel = np.array([str(r["decision"]) == decision for r in rows])
        print(f"  {decision:14s} {sel.sum():4d} songs  "
              f"{100 * np.average(right[sel], weights=weight[sel]):5.1f} %")
    print("\nfitted on this set (right % weighted; AUROC unweighted):")
    print("\n".join(key_calibration.calibration_table(fitted, right, weight)))
    print("\nshipped meter_confidence:")
    print("\n".join(key_calibration.calibration_table(shipped, right, weight)))
    print(f"\nAUROC fitted {key_calibration.auroc(fitted, right):.3f}, "
          f"shipped {key_calibration.auroc(shipped, right):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
