"""Fit the tempo, key and meter confidences on the development split, and choose the review
thresholds there.

A confidence is meant to be the probability that the value is right: ``bpm_confidence`` that
the tempo is within 4 % (Acc1), ``key_confidence`` that the key is exactly right,
``meter_confidence`` that the time-signature numerator is. Each is a logistic model over the
evidence the analyzers record beside it (``bpm_evidence``, ``key_evidence``, the meter's
decision and margin), fitted here on the **dev** split of ``bench/corpus_set`` (music none of
us wrote: the split is by collection, fixed before any result was seen) and written into
``linernotes/analyzers/fitted_weights.json`` with ``--write``. The review threshold of each
field is then chosen on the same split: the highest confidence below which at least 90 % of
the wrong values fall, printed with the share of right values it flags (the target is under
15 %); ``linernotes/reconcile/review.py`` holds them. ``bench/measure`` reports both on the
test split.

Usage::

    bench/fit_confidence            # print the fits and the threshold sweep
    bench/fit_confidence --write    # ... and write the weights
    bench/fit_confidence --compare-tempo-sets   # the tempo fit scored on the other dev sets
    bench/fit_confidence --tempo-sets dev,game,produced   # fit the tempo on all three

The tempo confidence may be fitted on more dev sets than the corpus's (``--tempo-sets``:
``bench/game_dev_set``'s game music, ``bench/produced_set``'s LMMS songs); the corpus split
alone stays the default because it ranks the other two better than a fit on them does
(``--compare-tempo-sets``; the tuning history of 2026-12-07).

Each dev clip's analysis is cached in its set's folder (``fit_rows.json``, recomputed when
the analysis code changes).
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_scores  # noqa: E402
import accuracy_tools  # noqa: E402
import corpus_set  # noqa: E402
import labelled_sets  # noqa: E402
import tempo_octave  # noqa: E402
from key_calibration import auroc, calibration_table, fit_logistic  # noqa: E402

from linernotes.analyzers.fitted import fitted_model, write_weights  # noqa: E402
from linernotes.analyzers.rhythm.bar_length import METER_EVIDENCE, meter_evidence  # noqa: E402
from linernotes.analyzers.rhythm.stage import TEMPO_EVIDENCE  # noqa: E402
from linernotes.analyzers.tonal.key import KEY_EVIDENCE  # noqa: E402
from linernotes.fileio import write_atomic  # noqa: E402
from linernotes.reconcile.review import OCTAVE_AMBIGUITY  # noqa: E402

#: Each set's rows are cached under this name in its folder.
CACHE_NAME = "fit_rows.json"
#: The evidence does not depend on the fitted confidences: the cache outlives a --write.
_CODE = ("rhythm", "tonal")
#: L2 penalty of each fit (about a hundred clips a field), chosen by the leave-one-out AUROC on
#: the dev split (tempo 0.66 / 0.68 / 0.65 / 0.62 at 0.01 / 0.1 / 1 / 3).
RIDGE = {"bpm": 0.1, "key": 0.1, "meter": 1.0}
#: Models recalibrated rather than refitted: one slope and one offset on the logit of the
#: weights they have (Platt scaling). The key model fitted on the project's generated songs
#: ranks dev keys better (AUROC 0.76) than any refit on the dev clips does (leave-one-out
#: 0.71), but is over-confident there.
RECALIBRATE = ("key",)
#: Dev sets the tempo confidence is fitted on by default (:func:`rows`).
TEMPO_SETS = ("dev",)
#: Share of the wrong values a review threshold must flag.
WRONG_FLAGGED = 0.9


def _row(job: tuple[dict[str, Any], str]) -> dict[str, Any]:
    """Evidence and correctness of one dev clip kept in the folder ``job[1]``."""
    from linernotes.pipeline import analyze_file

    clip, data = job
    record = analyze_file(str(Path(data) / clip["file"]))
    rhythm = dict(record.analyses["rhythm"].result)
    tonal = dict(record.analyses["tonal"].result)
    estimate = accuracy_tools.linernotes_estimate(record)
    score = accuracy_scores.score_clip(
        clip["truth"], estimate, accuracy_scores.clip_caps(accuracy_scores.CAPS["linernotes"],
                                                           clip))
    return {"name": clip["name"], "collection": clip["collection"],
            "bpm_evidence": rhythm.get("bpm_evidence") or None,
            "bpm_right": score.get("acc1", 0) > 0, "bpm_confidence": rhythm.get("bpm_confidence"),
            "meter_evidence": meter_evidence(rhythm.get("meter_decision"),
                                             rhythm.get("meter_decision_margin") or 0.0)
            if rhythm.get("meter_decision") not in (None, "guess") else None,
            "meter_right": score.get("numerator", 0) > 0 if "numerator" in score else None,
            "meter_confidence": rhythm.get("meter_confidence"),
            "key_evidence": tonal.get("key_evidence") or None,
            "key_right": score.get("key_exact", 0) > 0 if "key_exact" in score else None,
            "key_confidence": tonal.get("key_confidence"),
            "pitch_classes": _pitch_classes(tonal)}


def _pitch_classes(tonal: dict[str, Any]) -> float:
    from linernotes.analyzers.tonal.key import effective_pitch_classes

    return effective_pitch_classes(np.asarray(tonal.get("chroma") or [0.0]))


def rows(jobs: int, set_name: str = "dev") -> list[dict[str, Any]]:
    """Every clip's row of one dev set (``dev``, ``game`` or ``produced`` of
    :mod:`labelled_sets`), from the cache when the analysis code is unchanged."""
    code = tempo_octave.code_hash(_CODE)
    chosen = labelled_sets.load(set_name, jobs)
    clips, data = chosen.clips, chosen.data
    cache = data / CACHE_NAME
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("code") == code and len(stored["rows"]) == len(clips):
            return stored["rows"]
    with ProcessPoolExecutor(jobs) as ex:
        out = list(ex.map(_row, [(c, str(data)) for c in clips], chunksize=1))
    write_atomic(cache, json.dumps({"code": code, "rows": out}))
    return out


def fit(name: str, rows: list[dict[str, Any]], features: tuple[str, ...], model: str
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights of the ``name`` model, its fitted probabilities and the truth, on the rows
    that have its evidence (refitted, or recalibrated: :data:`RECALIBRATE`)."""
    x, y = evidence(name, rows, features)
    if name in RECALIBRATE:
        old = np.asarray(fitted_model(model).weights)
        z = old[0] + x @ old[1:]
        a0, a1 = fit_logistic(z[:, None], y.astype(np.float64), ridge=RIDGE[name])
        w = np.concatenate([[a0 + a1 * old[0]], a1 * old[1:]])
    else:
        w = fit_logistic(x, y.astype(np.float64), ridge=RIDGE[name])
    return w, probability(w, x), y


def evidence(name: str, rows: list[dict[str, Any]], features: tuple[str, ...]
             ) -> tuple[np.ndarray, np.ndarray]:
    """The ``name`` model's evidence (one row per clip that has it and a truth) and whether
    each value was right."""
    have = [r for r in rows if r[f"{name}_evidence"] and r[f"{name}_right"] is not None]
    x = np.array([[r[f"{name}_evidence"][f] for f in features] for r in have])
    return x, np.array([bool(r[f"{name}_right"]) for r in have])


def probability(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A logistic model's probabilities: ``w`` is the bias, then a weight per column of
    ``x``."""
    return 1.0 / (1.0 + np.exp(-(np.column_stack([np.ones(len(x)), x]) @ w)))


def threshold(conf: np.ndarray, right: np.ndarray) -> tuple[float, float, float]:
    """The lowest threshold that flags at least :data:`WRONG_FLAGGED` of the wrong values
    (a value is flagged below it), with the shares of wrong and right values it flags."""
    wrong = np.sort(conf[~right])
    if wrong.size == 0:
        return 0.0, 1.0, 0.0
    k = int(np.ceil(WRONG_FLAGGED * wrong.size)) - 1
    t = float(wrong[k]) + 1e-6
    return t, float(np.mean(conf[~right] < t)), float(np.mean(conf[right] < t))


def compare_tempo_sets(by_set: dict[str, list[dict[str, Any]]]) -> None:
    """Print how the tempo confidence ranks sets it was not fitted on: fitted on corpus dev
    alone, and fitted on the other dev sets with each set left out in turn (the rule of
    2026-12-07 in ``bench/results/rhythm_tuning_history.md``)."""
    def fitted_on(train: list[dict[str, Any]], test: list[dict[str, Any]]
                  ) -> tuple[np.ndarray, np.ndarray]:
        w, _, _ = fit("bpm", train, TEMPO_EVIDENCE, "tempo_confidence")
        x, y = evidence("bpm", test, TEMPO_EVIDENCE)
        return probability(w, x), y

    held = [s for s in by_set if s != "dev"]
    only_dev = [fitted_on(by_set["dev"], by_set[s]) for s in held]
    left_out = [fitted_on([r for o in by_set if o != s for r in by_set[o]], by_set[s])
                for s in held]
    print(f"\n# tempo confidence scored on held-out {' + '.join(held)}")
    for label, parts in (("fitted on corpus dev alone", only_dev),
                         ("fitted on the other dev sets", left_out)):
        p = np.concatenate([q for q, _ in parts])
        y = np.concatenate([t for _, t in parts])
        each = ", ".join(f"{s} {auroc(q, t):.3f}" for s, (q, t) in zip(held, parts,
                                                                     strict=True))
        print(f"  {label}: AUROC {auroc(p, y):.3f} pooled ({each}); {int((~y).sum())} wrong "
              f"of {y.size}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tempo-sets", default=",".join(TEMPO_SETS),
                        help="dev sets the tempo confidence is fitted on (dev, game, produced)")
    parser.add_argument("--compare-tempo-sets", action="store_true",
                        help="also score the tempo confidence on dev sets it was not fitted on")
    args = corpus_set.dev_fit_arguments(__doc__ or "", argv, parser)
    tempo_sets = [s.strip() for s in args.tempo_sets.split(",") if s.strip()]
    by_set = {s: rows(args.jobs, s) for s in dict.fromkeys(["dev", *tempo_sets])}
    if args.compare_tempo_sets:
        for s in ("game", "produced"):
            by_set.setdefault(s, rows(args.jobs, s))
        compare_tempo_sets(by_set)
    fitted = {}
    for name, model, features in (("bpm", "tempo_confidence", TEMPO_EVIDENCE),
                                  ("key", "key_confidence", KEY_EVIDENCE),
                                  ("meter", "meter_confidence", METER_EVIDENCE)):
        data = ([r for s in tempo_sets for r in by_set[s]] if name == "bpm"
                else by_set["dev"])
        w, p, y = fit(name, data, features, model)
        shipped = np.array([r[f"{name}_confidence"] or 0.0 for r in data
                            if r[f"{name}_evidence"] and r[f"{name}_right"] is not None])
        fitted[model] = tuple(round(float(v), 3) for v in w)
        how = "recalibrated" if name in RECALIBRATE else "refitted"
        where = " + ".join(tempo_sets) if name == "bpm" else "dev"
        print(f"\n# {name}: {y.size} clips of {where}, right {100 * y.mean():.1f} %; {how}, "
              f"ridge {RIDGE[name]}")
        print("  weights: " + ", ".join(f"{f} {v:+.3f}" for f, v in
                                        zip(("bias", *features), w, strict=True)))
        for label, conf in (("fitted", p), ("shipped", shipped)):
            t, wrong_f, right_f = threshold(conf, y)
            print(f"  {label}: AUROC {auroc(conf, y):.3f}; threshold {t:.3f} flags "
                  f"{100 * wrong_f:.0f} % of wrong, {100 * right_f:.0f} % of right")
            print("\n".join("    " + line for line in calibration_table(conf, y)))
        if name == "bpm":
            rival = np.array([r["bpm_evidence"]["octave_rival"] for r in data
                              if r["bpm_evidence"] and r["bpm_right"] is not None])
            t, _, _ = threshold(p, y)
            flagged = (p < t) | (rival >= OCTAVE_AMBIGUITY)
            print(f"  with the octave rule too (a half or double reading >= "
                  f"{OCTAVE_AMBIGUITY} of the primary): flags {100 * flagged[~y].mean():.0f} % "
                  f"of wrong, {100 * flagged[y].mean():.0f} % of right")
    if args.write:
        write_weights(fitted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
