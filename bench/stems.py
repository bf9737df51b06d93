"""Separation benchmark: SDR per stem on rendered multitracks, separation speed, peak memory
on long tracks, and whether the drum stem helps the beat tracker.

Run by hand (not part of the test suite)::

    bench/stems --beats            # beat F on the mix vs on the true drum stem (~40 songs)
    bench/stems --sdr              # SDR per stem, full-size htdemucs (random weights here)
    bench/stems --speed            # x real time on the CPU vs demucs' own apply_model
    bench/stems --memory 1,10,60   # peak RSS by track length (minutes), streaming vs demucs
    bench/stems --sdr --model-dir ~/demucs-models   # real weights where a machine has them

Multitracks are rendered from :mod:`scripts/midi_songs.py` songs (seeds from
:data:`SEED_BASE`, disjoint from every other benchmark's), one part at a time with the
fluidsynth command line and summed, so each stem's truth is exact: drums, bass, "other"
(harmony + melody) and, with ``--voice``, a spoken voice by espeak-ng in the second half as
vocals. Everything is cached under ``bench/.cache/stems`` (gitignored).

Without real weights (no internet here) the models are the full-size HTDemucs architecture
with random weights, stored and loaded exactly as Demucs' pretrained ones: the speed and
memory are the real ones, the SDR is meaningless (a pipeline check only).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "stems"
SEED_BASE = 1_300_000
SR = 44100
SOURCES = ["drums", "bass", "other", "vocals"]
sys.path.insert(0, str(ROOT / "bench"))


# -- models ---------------------------------------------------------------------------------


def full_size_htdemucs(seed: int = 0) -> Any:
    """The released htdemucs architecture (dconv_mode 3, 5 transformer layers, 7.8 s
    segments) with random weights."""
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(sources=SOURCES, dconv_mode=3, t_layers=5, segment=Fraction(39, 5))


def small_htdemucs(seed: int = 0) -> Any:
    """HTDemucs at 44.1 kHz with 7.8 s segments but 8 channels and one transformer layer:
    the streaming path of a long track without hours of compute."""
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(sources=SOURCES, channels=8, t_layers=1, segment=Fraction(39, 5))


def model_repo(kind: str) -> Path:
    """A local Demucs repo folder holding ``htdemucs`` as the ``kind`` random model."""
    from linernotes.separate.model import save_to_repo

    folder = CACHE / "models" / kind
    if not (folder / "htdemucs.yaml").is_file():
        model = full_size_htdemucs() if kind == "full" else small_htdemucs()
        save_to_repo(folder, "htdemucs", [(f"{kind:0>8}"[:8], model)])
    return folder


# -- rendered multitracks ----------------------------------------------------------------------


def _render_part(pm: Any, seconds: float) -> np.ndarray:
    """One part through fluidsynth at :data:`SR`, stereo float, not normalised."""
    import scipy.io.wavfile
    from midi_songs import default_soundfont  # type: ignore[import-not-found]

    with tempfile.TemporaryDirectory() as tmp:
        mid, raw = Path(tmp) / "part.mid", Path(tmp) / "part.wav"
        pm.write(str(mid))
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.6", "-O", "float", "-F", str(raw),
                        "-r", str(SR), default_soundfont(), str(mid)], check=True,
                       capture_output=True)  # fmt: skip
        with warnings.catch_warnings():  # fluidsynth adds a chunk scipy does not parse
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
            _, audio = scipy.io.wavfile.read(raw)
    audio = np.asarray(audio, np.float32).T
    n = round(seconds * SR)
    out = np.zeros((2, n), np.float32)
    out[:, : min(n, audio.shape[1])] = audio[:, :n]
    return out


def _voice(seconds: float, seed: int) -> np.ndarray:
    """A spoken line by espeak-ng in the second half (vocals), stereo at :data:`SR`."""
    from linernotes.separate.resample import StreamResampler

    words = "the night is long and the river sings under the old bridge of light"
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "v.wav"
        subprocess.run(["espeak-ng", "-s", "140", "-p", str(30 + seed % 40), "-w", str(wav),
                        words], check=True, capture_output=True)  # fmt: skip
        y, rate = soundfile.read(wav, dtype="float32", always_2d=True)
    r = StreamResampler(rate, SR, channels=1)
    y = np.concatenate([r.push(y.T), r.flush()], axis=1)[0]
    out = np.zeros((2, round(seconds * SR)), np.float32)
    start = out.shape[1] // 2
    y = y[: out.shape[1] - start]
    out[:, start : start + y.size] = 0.5 * y / max(1e-6, float(np.abs(y).max()))
    return out


def multitrack(i: int, *, seconds: float = 30.0, voice: bool = False) -> tuple[dict, dict]:
    """Song ``i``: its stems (drums, bass, other, vocals) and truth, rendered once."""
    import accuracy_set  # type: ignore[import-not-found]

    folder = CACHE / "songs" / f"{i:03d}{'v' if voice else ''}_{seconds:g}s"
    meta_path = folder / "truth.json"
    if not meta_path.is_file():
        songs = accuracy_set.song_module()
        rng = np.random.default_rng(SEED_BASE + i)
        meters = [m for m, k in accuracy_set.METER_PLAN.items() for _ in range(k)]
        meter = meters[int(rng.integers(len(meters)))]
        lo, hi = accuracy_set.TEMPO_RANGES[meter]
        num, den = (int(x) for x in meter.split("/"))
        tonic, mode = accuracy_set.KEYS[int(rng.integers(len(accuracy_set.KEYS)))]
        spec = songs.SongSpec(
            tempo_bpm=round(float(math.exp(rng.uniform(math.log(lo), math.log(hi)))), 1),
            tonic=tonic, mode=mode, numerator=num, denominator=den,
            style=("band", "electronic")[i % 2], drums=True, duration_s=seconds,
            seed=SEED_BASE + i,
        )  # fmt: skip
        pm, truth = songs.make_song(spec)
        parts: dict[str, np.ndarray] = {}
        for inst in pm.instruments:
            name = inst.name if inst.name in ("drums", "bass") else "other"
            keep = pm.instruments
            pm.instruments = [inst]
            audio = _render_part(pm, seconds)
            pm.instruments = keep
            parts[name] = parts.get(name, 0) + audio
        parts["vocals"] = _voice(seconds, i) if voice else np.zeros((2, round(seconds * SR)),
                                                                     np.float32)  # fmt: skip
        peak = float(np.abs(sum(parts.values())).max())
        folder.mkdir(parents=True, exist_ok=True)
        for name, audio in parts.items():
            soundfile.write(folder / f"{name}.flac", (audio * 0.9 / peak).T, SR, subtype="PCM_24")
        mix = sum(soundfile.read(folder / f"{n}.flac", dtype="float32")[0] for n in SOURCES)
        soundfile.write(folder / "mix.flac", np.clip(mix, -1, 1), SR, subtype="PCM_24")
        meta_path.write_text(json.dumps(truth.to_dict()))
    stems = {n: folder / f"{n}.flac" for n in [*SOURCES, "mix"]}
    return stems, json.loads(meta_path.read_text())


# -- measures --------------------------------------------------------------------------------


def sdr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Signal-to-distortion ratio in dB over the whole track (the "new SDR" of the Music
    Demixing challenge that Demucs reports): ``10 log10(|s|^2 / |s - s_hat|^2)``."""
    num = float(np.square(reference).sum()) + 1e-8
    den = float(np.square(reference - estimate).sum()) + 1e-8
    return 10.0 * math.log10(num / den)


def run_sdr(args: argparse.Namespace) -> None:
    from linernotes.separate.model import load_separator
    from linernotes.separate.track import separate_file

    repo = args.model_dir or model_repo("full")
    separator = load_separator(args.model, model_dir=repo, device=args.device)
    real = args.model_dir is not None
    print(f"# SDR per stem (dB), {args.songs} rendered multitracks of {args.seconds:g} s,"
          f" model {args.model} {separator.version} from {repo}"
          + ("" if real else " - RANDOM WEIGHTS: a pipeline check, the figures mean nothing"))
    rows = []
    for i in range(args.songs):
        stems, _ = multitrack(i, seconds=args.seconds, voice=True)
        out = Path(tempfile.mkdtemp(prefix="sdr", dir=CACHE))
        start = time.monotonic()
        result = separate_file(stems["mix"], separator, out)
        wall = time.monotonic() - start
        row = {}
        for name in SOURCES:
            ref = soundfile.read(stems[name], dtype="float32")[0]
            est = soundfile.read(result.stems[name], dtype="float32")[0]
            row[name] = sdr_db(ref, est)
        rows.append(row)
        print(f"song {i}: " + "  ".join(f"{n} {v:6.2f}" for n, v in row.items())
              + f"  ({wall:.0f} s)", flush=True)  # fmt: skip
        shutil.rmtree(out)
    print("median: " + "  ".join(f"{n} {np.median([r[n] for r in rows]):6.2f}" for n in SOURCES))


def run_speed(args: argparse.Namespace) -> None:
    """x real time of ``separate_file`` (decode, resample, segments, FLAC) against demucs'
    ``apply_model(split=True)`` on the same audio already in memory, same model, same run."""
    import torch
    from demucs.apply import apply_model

    from linernotes.separate.model import load_separator
    from linernotes.separate.track import separate_file

    repo = args.model_dir or model_repo("full")
    separator = load_separator(args.model, model_dir=repo, device=args.device)
    stems, _ = multitrack(0, seconds=args.seconds)
    audio = soundfile.read(stems["mix"], dtype="float32")[0].T
    seconds = audio.shape[1] / SR
    out = Path(tempfile.mkdtemp(prefix="speed", dir=CACHE))
    cpu0, t0 = time.process_time(), time.monotonic()
    separate_file(stems["mix"], separator, out, batch=args.batch)
    ours, ours_cpu = time.monotonic() - t0, time.process_time() - cpu0
    shutil.rmtree(out)
    cpu0, t0 = time.process_time(), time.monotonic()
    with torch.no_grad():
        apply_model(separator.model, torch.from_numpy(audio)[None], shifts=0, split=True,
                    overlap=0.25, device=separator.device)  # fmt: skip
    theirs, theirs_cpu = time.monotonic() - t0, time.process_time() - cpu0
    print(f"# speed, {seconds:g} s of 44.1 kHz stereo, {args.model} full-size architecture"
          f" ({'weights from ' + str(args.model_dir) if args.model_dir else 'random weights'}),"
          f" device {separator.device}, {torch.get_num_threads()} torch threads")
    print(f"linernotes separate_file: {ours:.1f} s wall = {seconds / ours:.3f}x real time;"
          f" {60 * ours_cpu / seconds:.0f} CPU s per minute of audio")
    print(f"demucs apply_model(split=True), in memory: {theirs:.1f} s wall ="
          f" {seconds / theirs:.3f}x real time; {60 * theirs_cpu / seconds:.0f} CPU s per"
          f" minute; ratio linernotes/demucs CPU time {ours_cpu / theirs_cpu:.2f}")
    print("(wall time depends on what else the machine runs; CPU time much less)")


def _long_track(minutes: float) -> Path:
    """A ``minutes``-long 44.1 kHz stereo FLAC (a rendered song looped), written streaming."""
    path = CACHE / "long" / f"{minutes:g}min.flac"
    if not path.is_file():
        stems, _ = multitrack(0, seconds=30.0)
        loop = soundfile.read(stems["mix"], dtype="float32")[0]
        path.parent.mkdir(parents=True, exist_ok=True)
        n = round(minutes * 60 * SR)
        with soundfile.SoundFile(path.with_suffix(".tmp"), "w", SR, 2, "PCM_16",
                                 format="FLAC") as f:  # fmt: skip
            for start in range(0, n, loop.shape[0]):
                f.write(loop[: min(loop.shape[0], n - start)])
        os.replace(path.with_suffix(".tmp"), path)
    return path


def run_memory(args: argparse.Namespace) -> None:
    kind = args.memory_model
    what = "no model (the pipeline alone)" if kind == "none" else (
        f"{kind} htdemucs architecture (random weights)")
    print(f"# peak RSS (MB) by track length, {what}, 44.1 kHz stereo; each run a fresh process")
    for minutes in [float(m) for m in args.memory.split(",")]:
        track = _long_track(minutes)
        for mode in args.memory_modes.split(","):
            cmd = [sys.executable, __file__, "--child-memory", str(track), "--child-mode", mode,
                   "--memory-model", kind, "--device", args.device]  # fmt: skip
            start = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.monotonic() - start
            if proc.returncode != 0:
                print(f"{minutes:g} min {mode}: failed: {proc.stderr[-500:]}")
                continue
            peak = json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"]
            print(f"{minutes:6g} min  {mode:9s}  peak {peak:8.0f} MB  ({wall:.0f} s)", flush=True)


class _NoModel:
    """Stands in for a model in ``--memory-model none``: every source a quarter of the mix.
    What is left is the length-dependent part of the pipeline (decoding, both resamplings,
    segment blending, FLAC writing); a model adds its per-segment activations on top."""

    name, version, samplerate, channels, segment_s = "none", "none", SR, 2, 7.8
    sources = SOURCES

    def __call__(self, segments: np.ndarray) -> np.ndarray:
        return np.repeat(segments[:, None] * 0.25, len(SOURCES), axis=1)


def child_memory(path: Path, mode: str, kind: str, device: str) -> None:
    """One measured run: ``stream`` = linernotes' separate_file; ``demucs`` = the whole track
    decoded into memory and ``apply_model(split=True)``, as the ``demucs`` command does."""
    import torch

    from linernotes.separate.model import load_separator

    separator: Any = (
        _NoModel() if kind == "none"
        else load_separator("htdemucs", model_dir=model_repo(kind), device=device)
    )  # fmt: skip
    if mode == "stream":
        from linernotes.separate.track import separate_file

        out = Path(tempfile.mkdtemp(prefix="mem", dir=CACHE))
        separate_file(path, separator, out)
        shutil.rmtree(out)
    else:
        from demucs.apply import apply_model

        audio = torch.from_numpy(soundfile.read(path, dtype="float32")[0].T.copy())
        with torch.no_grad():
            stems = apply_model(separator.model, audio[None], shifts=0, split=True, overlap=0.25)
        del stems
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mb": peak_kb / 1024}))


def run_beats(args: argparse.Namespace) -> None:
    """Beat F-measure (mir_eval, 70 ms) of linernotes' tracker on the mix and on the true
    drum stem (what a perfect separation would give) of the same songs."""
    import mir_eval

    from linernotes.pipeline import analyze_file

    rows = []
    for i in range(args.songs):
        stems, truth = multitrack(i, seconds=args.seconds)
        ref = np.asarray(truth["beats"])
        row = {"meter": truth["time_signature"], "bpm": truth["bpm"]}
        for source in ("mix", "drums"):
            est = np.asarray(analyze_file(stems[source]).summary.beats)
            row[source] = float(mir_eval.beat.f_measure(ref, est))
        rows.append(row)
        print(f"song {i:3d} {row['meter']:5s} {row['bpm']:6.1f} bpm  beat F mix {row['mix']:.3f}"
              f"  drums {row['drums']:.3f}", flush=True)  # fmt: skip
    mix, drums = (np.array([r[k] for r in rows]) for k in ("mix", "drums"))
    print(f"# {len(rows)} songs (seeds {SEED_BASE}+): mean beat F mix {mix.mean():.3f},"
          f" true drum stem {drums.mean():.3f}; drums better on {(drums > mix + 0.01).sum()},"
          f" worse on {(drums < mix - 0.01).sum()}")
    for meter in sorted({r["meter"] for r in rows}):
        sel = [r for r in rows if r["meter"] == meter]
        print(f"  {meter:5s} n={len(sel):2d}  mix {np.mean([r['mix'] for r in sel]):.3f}"
              f"  drums {np.mean([r['drums'] for r in sel]):.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sdr", action="store_true")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--memory", help="comma-separated track lengths in minutes")
    ap.add_argument("--memory-modes", default="stream", help="stream,demucs")
    ap.add_argument("--memory-model", default="full", choices=("full", "small", "none"))
    ap.add_argument("--beats", action="store_true")
    ap.add_argument("--songs", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--model", default="htdemucs")
    ap.add_argument("--model-dir", type=Path, help="real Demucs weights (its --repo layout)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--child-memory", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-mode", default="stream", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "scripts"))
    if args.child_memory:
        child_memory(args.child_memory, args.child_mode, args.memory_model, args.device)
        return 0
    CACHE.mkdir(parents=True, exist_ok=True)
    if args.beats:
        run_beats(args)
    if args.sdr:
        run_sdr(args)
    if args.speed:
        run_speed(args)
    if args.memory:
        run_memory(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
