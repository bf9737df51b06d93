"""Quality-detector benchmark: known degradations applied to clean clips.

Clean clips are rendered from generated MIDI songs (``scripts/midi_songs.py`` + fluidsynth and
a GM soundfont; cached under ``bench/data/quality_v1``), or taken from ``--clips DIR`` (WAV/FLAC
you trust to be clean). Each clip is degraded in known ways - hard clipping, MP3 round trips,
brick-wall low-pass (what a resampler leaves), added edge silence, white/pink noise at several
signal-to-noise ratios, an inverted channel, a DC offset - every result is rounded to 16-bit
as a WAV would store it, and the objective detectors run on it exactly as the ``signal_quality``
stage does (loudness blocks + native spectrum). Printed: per degradation, the share of clips on
which the responsible detector warned or failed (detection rate); per detector, the share of
clean originals it flagged (false-alarm rate); then the clipping detector on MP3 copies of
clipped and of unclipped (also peak-normalised) clips, decoded as linernotes decodes an MP3
(float, overs kept): how often it flags them and how often it gives the MP3 the lossless
original's verdict.

The clips are ours (MIDI we generate, rendered with Debian's FluidR3 soundfont): no material
none of us wrote is available on this machine, so these rates check the detectors' behaviour,
not their accuracy on the world's music.

    bench/quality                 # 60 clips of 20 s
    bench/quality --n 20 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from recorded import check  # noqa: E402

from linernotes.audio.decode import open_audio  # noqa: E402
from linernotes.audio.encode import write_audio  # noqa: E402
from linernotes.dsp import LoudnessAccumulator, NativeSpectrum, SpectrumAccumulator  # noqa: E402
from linernotes.models.quality import ObjectiveQuality  # noqa: E402
from linernotes.quality.objective import assess  # noqa: E402

DATA = ROOT / "bench" / "data" / "quality_v1"
SR = 44100
#: FluidR3's electronic (synth) patches render with anti-phase stereo (L/R correlation about
#: -0.7) and a DC offset: real faults, so those renders are no clean originals.
CLEAN_STYLES = ("band", "piano", "strings")


# -- clean clips ------------------------------------------------------------------------------
def render_clean(n: int, seconds: float, folder: Path) -> list[Path]:
    """Render (or reuse) ``n`` generated songs of ``seconds`` each, varied in style and key."""
    from midi_songs import SongSpec, make_song, render_midi

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    paths = []
    meters = [(4, 4), (3, 4), (6, 8), (2, 4)]
    for i in range(n):
        num, den = meters[int(rng.integers(len(meters)))]
        spec = SongSpec(
            tempo_bpm=float(np.round(rng.uniform(65, 170), 1)),
            tonic=int(rng.integers(12)),
            mode=("major", "minor")[int(rng.integers(2))],
            numerator=num,
            denominator=den,
            style=CLEAN_STYLES[i % len(CLEAN_STYLES)],
            drums=bool(rng.random() < 0.7),
            duration_s=seconds,
            seed=3000 + i,
            humanize_ms=4.0,
        )
        path = folder / f"q{i:03d}_{spec.slug()}.wav"
        if not path.exists():
            pm, _ = make_song(spec)
            render_midi(pm, path, sr=SR, duration_s=seconds, peak_dbfs=-1.0)
        paths.append(path)
    return paths


def load(path: Path) -> tuple[np.ndarray, int]:
    src = open_audio(path)
    y = np.concatenate(list(src.chunks()), axis=1)
    if y.shape[0] == 1:
        y = np.repeat(y, 2, axis=0)
    return y.astype(np.float32), src.info.sample_rate


# -- degradations ---------------------------------------------------------------------------
def to_16bit(y: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(y, -1.0, 1.0) * 32767.0) / 32767.0).astype(np.float32)


def hard_clip(gain_db: float) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    def f(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        return np.clip(y * 10 ** (gain_db / 20), -1.0, 1.0)

    return f


def mp3(kbps: int) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    def f(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "x.mp3"
            write_audio(p, y, sr, bit_rate=kbps * 1000)
            z, _ = load(p)
        # encoder delay: align by cross-correlating the first seconds
        n = min(sr * 2, y.shape[1])
        lag = int(np.argmax(np.correlate(z[0, : n + 4096], y[0, :n], mode="valid")))
        z = z[:, lag : lag + y.shape[1]]
        return np.pad(z, ((0, 0), (0, y.shape[1] - z.shape[1])))

    return f


def lowpass(hz: float) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    def f(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        sos = scipy.signal.ellip(12, 0.1, 90, hz, fs=sr, output="sos")
        return scipy.signal.sosfiltfilt(sos, y, axis=1)

    return f


def edge_silence(seconds: float) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    def f(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        pad = np.zeros((y.shape[0], int(seconds * sr)), np.float32)
        return np.concatenate([pad, y, pad], axis=1)

    return f


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise by spectral shaping of white noise."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    return np.fft.irfft(spec / np.sqrt(freqs), n)


def noise(kind: str, snr_db: float) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    def f(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        shape = y.shape
        nz = np.stack(
            [rng.standard_normal(shape[1]) if kind == "white" else pink(shape[1], rng)
             for _ in range(shape[0])]
        )
        signal_power = float(np.mean(y.astype(np.float64) ** 2))
        nz *= np.sqrt(signal_power / np.mean(nz**2) / 10 ** (snr_db / 10))
        return y + nz

    return f


def invert_right(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    z = y.copy()
    z[1] *= -1
    return z


def dc(offset: float) -> Callable[[np.ndarray, int, np.random.Generator], np.ndarray]:
    def f(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        return y * (1 - offset) + offset

    return f


@dataclass(frozen=True)
class Degradation:
    name: str
    detector: str
    apply: Callable[[np.ndarray, int, np.random.Generator], np.ndarray]
    #: True at the severity the target (>= 95 % detection) is stated for; False: informative.
    target: bool = True
    #: band-limiting degradations: the cut-off, so that clips with nothing above it (nothing
    #: to remove, nothing to detect) can be told apart
    cutoff_hz: float | None = None
    #: polarity inversion: only clips whose channels are correlated (|r| >= 0.2) change
    #: measurably when one channel flips; near-uncorrelated stereo folds down the same
    needs_correlation: bool = False


DEGRADATIONS = (
    Degradation("clip +3 dB", "clipping", hard_clip(3.0), target=False),
    Degradation("clip +6 dB", "clipping", hard_clip(6.0)),
    Degradation("clip +12 dB", "clipping", hard_clip(12.0)),
    Degradation("mp3 64 kbps", "bandwidth", mp3(64), cutoff_hz=11000.0),
    Degradation("mp3 128 kbps", "bandwidth", mp3(128), cutoff_hz=16000.0),
    Degradation("low-pass 11 kHz", "bandwidth", lowpass(11000.0), cutoff_hz=11000.0),
    Degradation("low-pass 16 kHz", "bandwidth", lowpass(16000.0), cutoff_hz=16000.0),
    Degradation("silence 5 s lead+trail", "silence", edge_silence(5.0)),
    Degradation("silence 2 s lead+trail", "silence", edge_silence(2.0), target=False),
    Degradation("white noise SNR 40 dB", "noise_floor", noise("white", 40.0), target=False),
    Degradation("white noise SNR 30 dB", "noise_floor", noise("white", 30.0)),
    Degradation("white noise SNR 20 dB", "noise_floor", noise("white", 20.0)),
    Degradation("pink noise SNR 40 dB", "noise_floor", noise("pink", 40.0), target=False),
    Degradation("pink noise SNR 30 dB", "noise_floor", noise("pink", 30.0), target=False),
    Degradation("pink noise SNR 20 dB", "noise_floor", noise("pink", 20.0)),
    Degradation("right channel inverted", "stereo", invert_right, needs_correlation=True),
    Degradation("DC offset 0.03", "dc_offset", dc(0.03)),
)


def normalise_peak(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Peak-normalised to full scale (-0.01 dBFS) without clipping: loud, not clipped."""
    return y * (0.999 / float(np.abs(y).max()))


def then(*steps: Callable[[np.ndarray, int, np.random.Generator], np.ndarray]):
    def f(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        for step in steps:
            y = step(to_16bit(y), sr, rng)
        return y

    return f


#: Clipping on lossy copies: (name, transform, clipped?). The lossy decode is measured as the
#: decoder gives it (float, overs kept), as linernotes reads an MP3; the lossless original
#: (16-bit) is measured too, and the verdicts of the two compared.
LOSSY_CLIPPING = (
    ("clean, mp3 192 kbps", mp3(192), False),
    ("peak at full scale, mp3 192 kbps", then(normalise_peak, mp3(192)), False),
    ("peak at full scale, mp3 128 kbps", then(normalise_peak, mp3(128)), False),
    ("clip +3 dB, mp3 192 kbps", then(hard_clip(3.0), mp3(192)), True),
    ("clip +6 dB, mp3 192 kbps", then(hard_clip(6.0), mp3(192)), True),
    ("clip +6 dB, mp3 128 kbps", then(hard_clip(6.0), mp3(128)), True),
    ("clip +12 dB, mp3 192 kbps", then(hard_clip(12.0), mp3(192)), True),
)


def lossless_of(transform_name: str, y: np.ndarray, sr: int, rng: np.random.Generator):
    """The lossless original a lossy-clipping row compares with (its transform before MP3)."""
    if transform_name.startswith("clip +"):
        gain = float(transform_name.split("+")[1].split(" dB")[0])
        return to_16bit(hard_clip(gain)(y, sr, rng))
    if transform_name.startswith("peak at full scale"):
        return to_16bit(normalise_peak(y, sr, rng))
    return to_16bit(y)


def run_lossy_clipping(paths: list[Path]) -> dict:
    """Per row: the share of clips whose lossy copy the clipping detector flags (detection
    rate for clipped rows, false-alarm rate for the others) and the share whose lossy and
    lossless verdicts (pass/warn/fail) are the same."""
    rng = np.random.default_rng(11)
    flagged: dict[str, list[bool]] = {name: [] for name, _, _ in LOSSY_CLIPPING}
    agree: dict[str, list[bool]] = {name: [] for name, _, _ in LOSSY_CLIPPING}
    for i, path in enumerate(paths):
        y, sr = load(path)
        for name, transform, _ in LOSSY_CLIPPING:
            lossy = measure(transform(y, sr, rng), sr).detections["clipping"]
            lossless = measure(lossless_of(name, y, sr, rng), sr).detections["clipping"]
            flagged[name].append(lossy.flagged)
            agree[name].append(lossy.status == lossless.status)
        print(f"\r{i + 1}/{len(paths)} clips (lossy clipping)", end="", file=sys.stderr,
              flush=True)  # fmt: skip
    print(file=sys.stderr)
    return {name: {"clipped": clipped, "flagged": float(np.mean(flagged[name])),
                   "same_verdict": float(np.mean(agree[name]))}
            for name, _, clipped in LOSSY_CLIPPING}  # fmt: skip


def lossy_table(rows: dict) -> str:
    lines = ["", f"{'clipping on lossy copies':<36}{'flagged':>9}{'same verdict as lossless':>26}"]
    for name, row in rows.items():
        kind = "detection" if row["clipped"] else "false alarm"
        lines.append(f"{name:<36}{row['flagged']:>9.0%}{row['same_verdict']:>26.0%}  ({kind})")
    return "\n".join(lines)


# -- measuring ------------------------------------------------------------------------------
def measure_with_spectrum(y: np.ndarray, sr: int) -> tuple[ObjectiveQuality, NativeSpectrum]:
    """The detectors on an in-memory signal, streamed in 10 s chunks like the front end."""
    loud = LoudnessAccumulator(sr, y.shape[0])
    acc = SpectrumAccumulator(sr, y.shape[0])
    for start in range(0, y.shape[1], sr * 10):
        chunk = np.ascontiguousarray(y[:, start : start + sr * 10])
        loud.push(chunk)
        acc.push(chunk)
    spectrum = acc.finish()
    return assess(loud.finish(), spectrum), spectrum


def measure(y: np.ndarray, sr: int) -> ObjectiveQuality:
    return measure_with_spectrum(y, sr)[0]


#: Per-bin level of 16-bit rounding noise in the long-term spectrum (about -134 dB).
ROUNDING_FLOOR_DB = 10 * np.log10((2.0 / 65535) ** 2 / 12 / 2049)


def has_content_above(spectrum: NativeSpectrum, cutoff_hz: float, margin_db: float = 30.0) -> bool:
    """Whether the clean clip holds enough above ``cutoff_hz`` for a cut to show: its mean
    level 0.3-3 kHz above the cut-off is ``margin_db`` over the 16-bit rounding floor (the
    codec also thins what it keeps just below its cut-off, so a wall needs that much)."""
    f = spectrum.freqs
    sel = (f >= cutoff_hz + 300) & (f <= min(cutoff_hz + 3000, spectrum.sr / 2 - 500))
    level = 10 * np.log10(float(spectrum.ltas[sel].mean()) + 1e-30)
    return level >= ROUNDING_FLOOR_DB + margin_db


def run(paths: list[Path], detail: bool) -> dict:
    rng = np.random.default_rng(7)
    clean_flags: dict[str, list[bool]] = {}
    clean_values: dict[str, list[float | None]] = {}
    hits: dict[str, list[bool]] = {g.name: [] for g in DEGRADATIONS}
    eligible: dict[str, list[bool]] = {g.name: [] for g in DEGRADATIONS}
    values: dict[str, list[float | None]] = {g.name: [] for g in DEGRADATIONS}
    reasons: dict[str, list[str]] = {}
    for i, path in enumerate(paths):
        y, sr = load(path)
        q, clean_spectrum = measure_with_spectrum(to_16bit(y), sr)
        for name, det in q.detections.items():
            clean_flags.setdefault(name, []).append(det.flagged)
            clean_values.setdefault(name, []).append(det.value)
            if det.flagged:
                reasons.setdefault(f"clean/{name}", []).append(f"{path.name}: {det.reason}")
        for g in DEGRADATIONS:
            z = to_16bit(g.apply(y, sr, rng))
            det = measure(z, sr).detections[g.detector]
            hits[g.name].append(det.flagged)
            corr = q.detections["stereo"].value
            eligible[g.name].append(
                (g.cutoff_hz is None or has_content_above(clean_spectrum, g.cutoff_hz))
                and (not g.needs_correlation or (corr is not None and abs(corr) >= 0.2))
            )
            values[g.name].append(det.value)
            if not det.flagged:
                reasons.setdefault(f"miss/{g.name}", []).append(f"{path.name}: {det.reason}")
        print(f"\r{i + 1}/{len(paths)} clips", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {
        "clips": len(paths),
        "clean_false_alarm": {k: float(np.mean(v)) for k, v in clean_flags.items()},
        "clean_values": clean_values,
        "detection": {
            g.name: {
                "detector": g.detector,
                "rate": float(np.mean(hits[g.name])),
                "eligible": int(np.sum(eligible[g.name])),
                "rate_eligible": float(np.mean(np.array(hits[g.name])[eligible[g.name]]))
                if any(eligible[g.name]) else None,
                "target": g.target,
            }
            for g in DEGRADATIONS
        },
        "values": values,
        "reasons": reasons if detail else {},
    }


def table(result: dict) -> str:
    n = result["clips"]
    lines = [f"clean clips: {n}", "",
             f"{'degradation':<26}{'detector':<13}{'all clips':>10}{'detectable':>17}  target"]
    for name, row in result["detection"].items():
        rate = row["rate_eligible"] if row["rate_eligible"] is not None else row["rate"]
        mark = ("ok" if rate >= 0.95 else "MISSED") if row["target"] else "(info)"
        det = f"{rate:.0%} of {row['eligible']:>2}" if row["eligible"] < n else "same"
        lines.append(f"{name:<26}{row['detector']:<13}{row['rate']:>9.0%} {det:>16}  {mark}")
    lines.append("(detectable: band-limiting - the clean clip has content 30 dB over the 16-bit"
                 " floor above the cut-off; inversion - its channels correlate, |r| >= 0.2)")
    lines += ["", f"{'detector':<16}{'false alarms on clean':>22}  target"]
    for name, rate in result["clean_false_alarm"].items():
        lines.append(f"{name:<16}{rate:>22.1%}  {'ok' if rate <= 0.02 else 'OVER'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60, help="rendered clean clips (default 60)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each rendered clip")
    ap.add_argument("--clips", type=Path, help="use the WAV/FLAC files of this folder instead")
    ap.add_argument("--json", type=Path, help="write the full result (values, misses) here")
    ap.add_argument("--detail", action="store_true", help="print every miss and false alarm")
    args = ap.parse_args(argv)
    if args.clips:
        paths = sorted(p for p in args.clips.iterdir() if p.suffix.lower() in (".wav", ".flac"))
    else:
        paths = render_clean(args.n, args.seconds, DATA)
    t0 = time.perf_counter()
    result = run(paths, detail=True)
    result["lossy_clipping"] = run_lossy_clipping(paths)
    result["elapsed_s"] = round(time.perf_counter() - t0, 1)
    print(table(result))
    print(lossy_table(result["lossy_clipping"]))
    if args.detail:
        for key, items in result["reasons"].items():
            print(f"\n{key}:")
            for line in items:
                print("  " + line)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    if args.clips or (args.n, args.seconds) != (60, 20.0):
        return 0  # not the recorded set
    return check("quality", recorded_figures(result))


def recorded_figures(result: dict) -> dict[str, float]:
    """The worst detection rate at the stated severities and the worst false-alarm rate, in
    %, as bench/results/recorded.json names them."""
    rates = [
        row["rate_eligible"] if row["rate_eligible"] is not None else row["rate"]
        for row in result["detection"].values()
        if row["target"]
    ]
    return {
        "worst_detection_pct": 100.0 * min(rates),
        "worst_false_alarm_pct": 100.0 * max(result["clean_false_alarm"].values()),
    }


if __name__ == "__main__":
    raise SystemExit(main())
