"""How strong must a periodicity be before it is a tempo? Chance strength on signals with none.

``linernotes.analyzers.rhythm`` reports a tempo only when the periodicity of the onset
envelope (``TempoEstimate.strength``: the autocorrelation at the period over its median at
other lags) clears a floor that depends on the clip's length
(:func:`linernotes.analyzers.rhythm.tempo.periodicity_floor`). This script measures what chance
alone reaches: it synthesizes signals that have no tempo (white, pink and slowly swelling
noise; clicks and decaying notes at random times, 1-8 a second, like rain or a crowd) at
several lengths, measures the strength of their most salient periodicity with every floor
at zero, and prints per length its median, 99th percentile and maximum, the shipped floors
(the onset floor ``0.1 + 0.5 / sqrt(d)``, the chance floor ``0.05 + 4 / d`` and the lower
of the two, which the stage uses) with how many clips clear each, and how many clips the
shipped rhythm stage gives a tempo by any path (the pitch-change path included).

Shipped from this script's output (2026-11-22, ``--seeds 48``: 240 clips per length): the
99th percentile of chance strength was 0.97 at 3 s, 0.32 at 10 s, 0.16 at 20 s, 0.17 at
30 s, 0.12 at 45 s, 0.08 at 60 s and 0.06 at 90 s. The chance floor ``0.05 + 4 / d`` stays
above it from 10 s on and passes 1 of the 1200 clips of 20-90 s; the onset floor passes none
of them but stands 0.05-0.10 above the 99th percentile from 30 s on, where it refused real
tunes (``bench/corpus_tunes``). Below 20 s the onset floor is the lower one: chance and
music overlap there (random clicks of 3 s reach 0.5 as often as a drum loop does), and the
stage still gives many short noise clips a tempo (135 of 240 at 3 s, 42 at 10 s, mostly
from their pitch changes); 84-88 % of those tempos have a confidence under the review
threshold (0.5), the rest do not (a known weakness on clips under 10 s).

Usage::

    bench/tempo_floor [--seeds 24] [--jobs 2]

Nothing is cached or written; about 3 minutes on two cores (6 with ``--seeds 48``).
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from linernotes.analyzers.rhythm.params import RhythmParams  # noqa: E402
from linernotes.analyzers.rhythm.pulse import PulseTrack, track_pulses  # noqa: E402
from linernotes.analyzers.rhythm.stage import rhythm  # noqa: E402
from linernotes.analyzers.rhythm.tempo import periodicity_floor  # noqa: E402
from linernotes.features import extract_features_from_array  # noqa: E402

SAMPLE_RATE = 22050
KINDS = ("white", "pink", "swelling", "clicks", "notes")
DURATIONS_S = (3, 5, 7, 10, 15, 20, 30, 45, 60, 90)
#: Every floor at zero: the onset path then always reports its strength.
NO_FLOOR = RhythmParams(
    min_tempo_strength=0.0, tempo_strength_noise=0.0, long_tempo_strength=0.0,
    long_strength_noise_s=0.0,
)


def _random_events(rng: np.random.Generator, seconds: float, pitched: bool) -> np.ndarray:
    """Clicks (noise bursts) or decaying notes at random times (a Poisson process)."""
    n = int(seconds * SAMPLE_RATE)
    rate = rng.uniform(1.0, 8.0)
    times = np.cumsum(rng.exponential(1.0 / rate, int(2 * rate * seconds) + 10))
    length = int(0.4 * SAMPLE_RATE)
    t = np.arange(length) / SAMPLE_RATE
    fade = np.hanning(2 * length)[length:]  # no click when a note ends
    y = np.zeros(n)
    for start in times[times < seconds - 0.5]:
        if pitched:
            freq = 220.0 * 2.0 ** (int(rng.integers(0, 24)) / 12.0)
            event = np.sin(2 * np.pi * freq * t) * np.exp(-t / 0.3) * fade
        else:
            event = rng.standard_normal(length) * np.exp(-t / 0.03)
        i = int(start * SAMPLE_RATE)
        y[i : i + length] += rng.uniform(0.3, 1.0) * event[: n - i]
    return y


def signal_without_tempo(kind: str, seconds: float, seed: int) -> np.ndarray:
    """One clip of ``kind`` (:data:`KINDS`), ``seconds`` long, float32 at
    :data:`SAMPLE_RATE`."""
    rng = np.random.default_rng([seed, KINDS.index(kind), int(seconds)])
    n = int(seconds * SAMPLE_RATE)
    if kind == "white":
        y = rng.standard_normal(n)
    elif kind == "pink":
        spectrum = np.fft.rfft(rng.standard_normal(n))
        spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
        spectrum[0] = 0.0
        y = np.fft.irfft(spectrum, n)
    elif kind == "swelling":  # noise whose level wanders, at random times 0.7 s apart on average
        knots = np.concatenate([[0.0], np.cumsum(rng.exponential(0.7, int(3 * seconds) + 10))])
        level = np.interp(np.arange(n) / SAMPLE_RATE, knots, rng.uniform(0.1, 1.0, knots.size))
        y = rng.standard_normal(n) * level
    else:
        y = _random_events(rng, seconds, pitched=kind == "notes")
    return (0.3 * y / max(float(np.abs(y).max()), 1e-9)).astype(np.float32)


def measure(item: tuple[str, int, int]) -> tuple[str, int, float, bool]:
    """(kind, seconds, chance strength of the onset periodicity, whether the shipped stage
    reports a tempo)."""
    kind, seconds, seed = item
    features = extract_features_from_array(signal_without_tempo(kind, seconds, seed),
                                           SAMPLE_RATE)
    track = track_pulses(features, NO_FLOOR)
    strength = track.tempo.strength if isinstance(track, PulseTrack) else 0.0
    return kind, seconds, float(strength), rhythm(features, RhythmParams()).bpm is not None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=24, help="clips per kind and length")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    items = [(k, d, s) for d in DURATIONS_S for k in KINDS for s in range(args.seeds)]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(measure, items, chunksize=4))
    shipped = RhythmParams()
    print(f"# chance strength of the onset periodicity: {len(KINDS)} kinds x {args.seeds} "
          f"seeds per length ({', '.join(KINDS)})")
    print(f"{'length s':>8} {'median':>7} {'p99':>6} {'max':>6} | {'onset floor':>11} "
          f"{'chance floor':>12} {'used':>6} | clear: {'onset':>5} {'chance':>6} {'used':>5} "
          f"| stage gives a tempo")
    for d in DURATIONS_S:
        s = np.array([r[2] for r in rows if r[1] == d])
        got = sum(r[3] for r in rows if r[1] == d)
        onset = shipped.min_tempo_strength + shipped.tempo_strength_noise / np.sqrt(d)
        chance = shipped.long_tempo_strength + shipped.long_strength_noise_s / d
        used = periodicity_floor(
            d, base=shipped.min_tempo_strength, noise=shipped.tempo_strength_noise,
            long_base=shipped.long_tempo_strength, long_noise_s=shipped.long_strength_noise_s,
        )
        top = max((r for r in rows if r[1] == d), key=lambda r: r[2])[0]
        print(f"{d:8d} {np.median(s):7.3f} {np.percentile(s, 99):6.3f} {s.max():6.3f} | "
              f"{onset:11.3f} {chance:12.3f} {used:6.3f} |        {int((s >= onset).sum()):5d} "
              f"{int((s >= chance).sum()):6d} {int((s >= used).sum()):5d} | {got:4d} of {s.size} "
              f"(largest: {top})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
