"""Fit the key confidence on songs that the accuracy benchmark never sees.

``linernotes.analyzers.tonal.key_confidence`` is meant to approximate the probability that the
reported key is exactly right. Its constants are fitted here, on a held-out set rendered from
seeds disjoint from ``bench/accuracy_set.py`` (so the benchmark's calibration table is an honest
test of them), by logistic regression of "key exactly right" on three features of the chroma:

* ``margin`` - best key correlation minus the best key that is not the parallel mode,
  i.e. how clearly the tonic wins;
* ``best`` - the best correlation itself (how key-like the chroma is);
* ``contrast`` - how much more the chosen mode's third sounds than the other mode's
  third, relative to both (major and minor keys on one tonic differ mainly there).

The best correlation minus that of the parallel mode was tried as a fourth feature and added
nothing (same AUROC, 0.845).

Usage::

    bench/key_calibration [--n 192] [--jobs 2]

The songs are cached under ``bench/data/key_calibration/``; a rerun only analyses them. The
script prints the fitted constants, the calibration table for the fitted and the shipped
constants, and their AUROC.
"""

from __future__ import annotations

import argparse
import itertools
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

from accuracy_set import KEYS, STYLES, song_module  # noqa: E402

from linernotes.analyzers.fitted import write_weights  # noqa: E402

DATA = ROOT / "bench" / "data" / "key_calibration"
#: Far from the accuracy set's seeds (1000 + index).
SEED_BASE = 900_000
SAMPLE_RATE = 44100
METERS = ("4/4", "3/4", "6/8", "2/4", "12/8")
from linernotes.analyzers.tonal.key import KEY_EVIDENCE as FEATURES  # noqa: E402

#: Excerpts analysed besides each whole song (start, stop in seconds): shorter audio gives
#: harder cases, so the fit sees enough wrong keys to place its slope.
EXCERPTS = {"0-10 s": (0.0, 10.0), "10-20 s": (10.0, 20.0), "20-30 s": (20.0, 30.0)}


def song_specs(n: int) -> list[Any]:
    """``n`` songs cycling through all 24 keys, every style and several meters."""
    rng = np.random.default_rng(SEED_BASE)
    specs = []
    for i in range(n):
        tonic, mode = KEYS[i % len(KEYS)]
        meter = METERS[int(rng.integers(len(METERS)))]
        tempo_range = (50.0, 110.0) if meter.endswith("/8") else (60.0, 190.0)
        style = STYLES[(i // len(KEYS)) % len(STYLES)]
        specs.append(draw_spec(rng, meter, tempo_range, drum_share=0.5, humanize=(0.0, 4.0, 8.0),
                               seed=SEED_BASE + i, tonic=tonic, mode=mode, style=style))
    return specs


def draw_spec(
    rng: np.random.Generator,
    meter: str,
    tempo_range: tuple[float, float],
    *,
    drum_share: float,
    humanize: tuple[float, ...],
    **fields: Any,
) -> Any:
    """A 30 s ``SongSpec`` in ``meter`` (``"6/8"``) with the other ``fields`` given; the rest
    drawn from ``rng`` in this order: a log-uniform tempo in ``tempo_range``, drums with
    probability ``drum_share``, a humanize amount (ms) among ``humanize`` (this script's songs
    and ``tempo_octave``'s)."""
    num, den = (int(x) for x in meter.split("/"))
    lo, hi = tempo_range
    return song_module().SongSpec(
        numerator=num,
        denominator=den,
        duration_s=30.0,
        tempo_bpm=round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 1),
        drums=bool(rng.uniform() < drum_share),
        humanize_ms=float(rng.choice(humanize)),
        **fields,
    )


def song_path(spec: Any, data: Path = DATA) -> Path:
    """The song's WAV file under ``data``, rendered on first use (also used by
    ``bench/meter_calibration`` and, with its own folder, ``bench/tempo_octave``)."""
    path = data / f"{spec.slug()}.wav"
    if not path.exists():
        midi_songs = song_module()
        data.mkdir(parents=True, exist_ok=True)
        pm, _ = midi_songs.make_song(spec)
        part = path.with_suffix(".part.wav")
        midi_songs.render_midi(pm, part, sr=SAMPLE_RATE, duration_s=spec.duration_s)
        part.replace(path)
    return path


def _analyse(spec: Any) -> list[dict[str, Any]]:
    """Render one song (cached) and measure the key features of the whole song and of each
    of its :data:`EXCERPTS` (runs in a worker)."""
    import soundfile

    from linernotes.analyzers.tonal.stage import TonalParams, tonal
    from linernotes.features import extract_features_from_array

    midi_songs = song_module()
    path = song_path(spec)
    audio, sr = soundfile.read(path, dtype="float32", always_2d=True)
    truth = midi_songs.key_name(spec.tonic, spec.mode)
    rows = []
    for label, (start, stop) in {"whole": (0.0, None), **EXCERPTS}.items():
        piece = audio[int(start * sr) : None if stop is None else int(stop * sr)].T
        result = tonal(extract_features_from_array(piece, sr), TonalParams(n_candidates=24))
        if result.key is None:
            continue
        rows.append({"name": f"{path.stem} [{label}]", "key": result.key, "truth": truth,
                     "right": result.key == truth, "shipped": result.key_confidence,
                     **key_features(result)})
    return rows


def key_features(result: Any) -> dict[str, float]:
    """The confidence's inputs, from a tonal result that ranks all 24 keys."""
    from linernotes.analyzers.tonal.key import key_evidence
    from linernotes.claims import key_pitch_class

    def index(name: str) -> int:
        pc, mode = key_pitch_class(name) or (0, "major")
        return pc + (12 if mode == "minor" else 0)

    scores = np.full(24, -1.0)
    for cand in result.key_scores:
        scores[index(cand.key)] = cand.score
    return {**key_evidence(scores, np.asarray(result.chroma), index(result.key)),
            "concentration": float(result.pitch_concentration or 0.0)}


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, ridge: float = 1e-3, weight: np.ndarray | None = None
) -> np.ndarray:
    """Maximum-likelihood logistic regression (Newton's method), bias first; ``weight``
    weighs each row (default 1)."""
    a = np.column_stack([np.ones(len(x)), x])
    s = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    w = np.zeros(a.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (s * (y - p)) - ridge * w
        hess = (a * (s * p * (1 - p))[:, None]).T @ a + ridge * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w += step
        if np.max(np.abs(step)) < 1e-9:
            break
    return w


def auroc(score: np.ndarray, right: np.ndarray) -> float:
    """Probability that a right answer has a higher confidence than a wrong one."""
    pos, neg = score[right], score[~right]
    if not pos.size or not neg.size:
        return float("nan")
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (pos.size * neg.size))


def calibration_table(
    conf: np.ndarray, right: np.ndarray, weight: np.ndarray | None = None
) -> list[str]:
    """Accuracy per confidence bin (weighted by ``weight`` when given), as text lines."""
    s = np.ones(right.size) if weight is None else np.asarray(weight, dtype=np.float64)
    lines = [f"{'confidence':>12s} {'songs':>6s} {'right %':>8s} {'mean conf':>10s}"]
    edges = (0.0, 0.3, 0.5, 0.7, 0.85, 0.95, 1.01)
    for lo, hi in itertools.pairwise(edges):
        sel = (conf >= lo) & (conf < hi)
        if sel.any():
            rate = np.average(right[sel], weights=s[sel])
            lines.append(f"{lo:5.2f}-{min(hi, 1.0):4.2f}  {sel.sum():6d} "
                         f"{100 * rate:8.1f} {np.average(conf[sel], weights=s[sel]):10.3f}")
    lines.append(f"AUROC {auroc(conf, right):.3f}; wrong {int((~right).sum())} of {right.size}")
    return lines


def fit_parser(doc: str, *, n: int, n_help: str) -> argparse.ArgumentParser:
    """The options every fit script shares (``--n`` songs, ``--jobs``, ``--write``), described
    by the first paragraph of the script's ``doc``."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=n, help=n_help)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--write", action="store_true",
                    help="write the fitted weights into linernotes/analyzers/fitted_weights.json")
    return ap


def calibration_args(doc: str, argv: list[str] | None) -> argparse.Namespace:
    """The options of the fits on the held-out songs (this script and ``meter_calibration``)."""
    ap = fit_parser(doc, n=192, n_help="songs in the held-out set")
    ap.add_argument("--json", type=Path, help="also write every song's features here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = calibration_args(__doc__, argv)

    specs = song_specs(args.n)
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [row for song in pool.map(_analyse, specs) for row in song]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    right = np.array([r["right"] for r in rows])
    x = np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)
    w = fit_logistic(x, right.astype(np.float64))
    fitted = 1.0 / (1.0 + np.exp(-(np.column_stack([np.ones(len(x)), x]) @ w)))
    shipped = np.array([r["shipped"] or 0.0 for r in rows])

    print(f"# {args.n} held-out songs (seeds from {SEED_BASE}), each whole and in "
          f"{len(EXCERPTS)} excerpts: {right.size} analyses; key exact {100 * right.mean():.1f} %")
    if args.write:
        write_weights({"key_confidence": tuple(round(float(v), 3) for v in w)})
    print("fitted constants: " + ", ".join(
        f"{name} {v:+.3f}" for name, v in zip(("bias", *FEATURES), w, strict=True)))
    print("\nfitted on this set:")
    print("\n".join(calibration_table(fitted, right)))
    print("\nshipped key_confidence:")
    print("\n".join(calibration_table(shipped, right)))
    wrong = [r for r in rows if not r["right"]]
    if wrong:
        print("\nwrong keys:")
        for r in wrong:
            print(f"  {r['name']:50s} {r['key']:>9s} (truth {r['truth']}) "
                  f"conf {r['shipped']:.2f} " + " ".join(f"{f} {r[f]:.3f}" for f in FEATURES))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
