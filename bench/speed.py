"""Speed and memory benchmark: linernotes against librosa and essentia, one core each.

Run by hand (not part of the test suite)::

    bench/speed                 # ~4 three-minute tracks, every tool, table of x real time
    bench/speed --memory        # peak RSS of analyze_file on a 60-minute 44.1 kHz stereo file
    bench/speed --tools linernotes,librosa --tracks 2

Test audio is rendered once from :mod:`scripts/midi_songs.py` and cached in ``bench/data/``
(gitignored). Every tool runs in its own child process pinned to one CPU with the BLAS/OpenMP/
numba thread pools set to one thread before numpy is imported, imports its library, warms up on
a short clip (so numba JIT and model loading are reported apart), then analyses each file from
its path, decoding included. Speed is reported as **x real time per core** = audio seconds /
CPU seconds of the child (user + system), with wall time alongside. Ratios compare tools timed
in the same run.

What each row measures:

* ``linernotes``: ``linernotes.pipeline.analyze_file(path)`` - the full measured analysis
  (decode, feature front end, tempo, beats, downbeats, meter, key, loudness, timbre, record).
* ``librosa``: ``librosa.load(path, sr=22050)`` + ``beat_track`` + ``chroma_stft`` with a
  Krumhansl-Schmuckler key profile: the usual do-it-yourself baseline (tempo, beats, key only).
* ``essentia``: ``essentia.standard.MusicExtractor()(path)`` with default settings, when the
  optional AGPL ``essentia`` package is installed (benchmark only; linernotes never imports it).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from childproc import THREAD_VARS, child_env  # bench/ is on sys.path when run as a script
from recorded import check

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
TOOLS = ("linernotes", "librosa", "essentia")
MEMORY_TARGET_MB = 600.0
SPEED_TARGET_XRT = 50.0
#: Bumped whenever the benchmark audio changes, so stale caches are not reused.
DATA_VERSION = "v1"


# --------------------------------------------------------------------------------------------
# Test audio
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Track:
    """A benchmark track: generator settings and the container to encode to."""

    name: str
    key: str
    meter: str
    bpm: float
    style: str
    fmt: str
    drums: bool = True
    drift: float = 0.0
    seed: int = 0


TRACKS = (
    Track("band_120bpm_4-4_A-minor", "A minor", "4/4", 120, "band", "mp3", seed=101),
    Track("electronic_128bpm_4-4_F-minor", "F minor", "4/4", 128, "electronic", "flac", seed=102),
    Track("strings_96bpm_3-4_Eb-major_drift", "Eb major", "3/4", 96, "strings", "mp3",
          drift=0.04, seed=103),
    Track("piano_70bpm_6-8_F#-minor", "F# minor", "6/8", 70, "piano", "flac", drums=False,
          seed=104),
)
TRACK_SECONDS = 180.0
WARMUP_SECONDS = 10.0
LONG_MINUTES = 60


def _song_tools() -> Any:
    """Import the song generator and encoder from scripts/ (not an installed package)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import midi_songs
    import render_examples

    return midi_songs, render_examples


def _render_track(track: Track, seconds: float, path: Path) -> dict[str, Any]:
    """Compose, synthesise and encode one track (44.1 kHz stereo); return its truth."""
    midi_songs, render_examples = _song_tools()
    spec = midi_songs.SongSpec.from_strings(
        track.key, track.meter, tempo_bpm=track.bpm, style=track.style, drums=track.drums,
        duration_s=seconds, tempo_drift=track.drift, seed=track.seed,
    )
    pm, truth = midi_songs.make_song(spec)
    with tempfile.TemporaryDirectory() as tmp:
        audio = midi_songs.render_midi(pm, Path(tmp) / "t.wav", sr=44100, duration_s=seconds)
    codec = {"mp3": "libmp3lame", "flac": "flac"}[path.suffix[1:]]
    bit_rate = 192_000 if codec == "libmp3lame" else None
    tmp_path = path.with_suffix(".part" + path.suffix)
    render_examples.encode_audio(audio, 44100, tmp_path, codec, bit_rate)
    tmp_path.replace(path)
    return truth.to_dict(times=False)


def ensure_tracks(n: int, log: Any = print) -> list[tuple[Path, float, dict[str, Any]]]:
    """Render (or reuse from bench/data) the first ``n`` three-minute tracks."""
    DATA.mkdir(parents=True, exist_ok=True)
    manifest_path = DATA / f"speed_{DATA_VERSION}.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    out = []
    for track in TRACKS[:n]:
        path = DATA / f"speed_{DATA_VERSION}_{track.name}.{track.fmt}"
        if not path.exists() or path.name not in manifest:
            log(f"# rendering {path.relative_to(ROOT)} ({TRACK_SECONDS:.0f} s) ...")
            manifest[path.name] = _render_track(track, TRACK_SECONDS, path)
            manifest_path.write_text(json.dumps(manifest, indent=1))
        out.append((path, TRACK_SECONDS, manifest[path.name]))
    return out


def ensure_warmup() -> Path:
    """A short clip each child analyses once before timing (JIT, model and cache warm-up)."""
    path = DATA / f"warmup_{DATA_VERSION}.flac"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        track = Track("warmup", "C major", "4/4", 100, "band", "flac", seed=7)
        _render_track(track, WARMUP_SECONDS, path)
    return path


def _decode_chunks(path: Path) -> Any:
    """Yield (samples x 2) float32 blocks of a file, decoded with PyAV at its own rate."""
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44100)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield np.ascontiguousarray(out.to_ndarray().T)
        for out in resampler.resample(None):
            yield np.ascontiguousarray(out.to_ndarray().T)


def ensure_long(fmt: str, tracks: list[tuple[Path, float, dict[str, Any]]], log: Any = print
                ) -> Path:
    """A 60-minute 44.1 kHz stereo file: the benchmark tracks looped, streamed to the encoder."""
    path = DATA / f"long_{DATA_VERSION}_{LONG_MINUTES}min.{fmt}"
    if path.exists():
        return path
    import av
    import numpy as np

    log(f"# building {path.relative_to(ROOT)} ({LONG_MINUTES} min, 44.1 kHz stereo) ...")
    codec = {"mp3": "libmp3lame", "flac": "flac"}[fmt]
    total = LONG_MINUTES * 60 * 44100
    tmp_path = path.with_suffix(".part." + fmt)
    with av.open(str(tmp_path), "w") as container:
        stream = container.add_stream(codec, rate=44100)
        stream.layout = "stereo"
        if codec == "libmp3lame":
            stream.bit_rate = 192_000
        resampler = av.AudioResampler(format=stream.format.name, layout="stereo", rate=44100)
        written, i = 0, 0
        while written < total:
            src = tracks[i % len(tracks)][0]
            i += 1
            for block in _decode_chunks(src):
                block = block[: total - written]
                if not len(block):
                    break
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(block.T), format="fltp", layout="stereo"
                )
                frame.sample_rate = 44100
                frame.pts = written
                written += len(block)
                for out in resampler.resample(frame):
                    container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    tmp_path.replace(path)
    return path


# --------------------------------------------------------------------------------------------
# Child process: one tool, pinned to one core
# --------------------------------------------------------------------------------------------


class Unavailable(Exception):
    """The tool cannot be imported (not installed, or not written yet)."""


KS_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KS_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
PC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def _load_tool(tool: str) -> Any:
    """Import ``tool`` and return ``analyze(path) -> dict`` of a few headline estimates."""
    if tool == "linernotes":
        sys.path.insert(0, str(ROOT))
        try:
            from linernotes.pipeline import analyze_file
        except ImportError as exc:
            raise Unavailable(
                f"linernotes.pipeline.analyze_file is not available yet ({exc!r}); "
                "the baselines below still ran"
            ) from exc

        def analyze(path: str) -> dict[str, Any]:
            rec = analyze_file(path)
            s = getattr(rec, "summary", None)
            return {k: getattr(s, k, None) for k in ("bpm", "key", "time_signature")}

        return analyze

    if tool == "librosa":
        try:
            import librosa
            import numpy as np
        except ImportError as exc:
            raise Unavailable(f"not installed ({exc!r})") from exc
        profiles = [np.roll(np.array(p), k) for p in (KS_MAJOR, KS_MINOR) for k in range(12)]
        names = [f"{PC_NAMES[k]} {m}" for m in ("major", "minor") for k in range(12)]

        def analyze(path: str) -> dict[str, Any]:
            y, sr = librosa.load(path, sr=22050, mono=True)
            tempo, _beats = librosa.beat.beat_track(y=y, sr=sr)
            chroma = librosa.feature.chroma_stft(y=y, sr=sr).mean(axis=1)
            scores = [np.corrcoef(chroma, p)[0, 1] for p in profiles]
            return {"bpm": float(np.atleast_1d(tempo)[0]), "key": names[int(np.argmax(scores))]}

        return analyze

    if tool == "essentia":
        try:
            import essentia
            import essentia.standard as es
        except ImportError as exc:
            raise Unavailable("not installed (pip install essentia; AGPL, bench only)") from exc
        essentia.log.infoActive = False
        essentia.log.warningActive = False
        extractor = es.MusicExtractor()

        def analyze(path: str) -> dict[str, Any]:
            features, _frames = extractor(path)
            return {
                "bpm": float(features["rhythm.bpm"]),
                "key": f"{features['tonal.key_edma.key']} {features['tonal.key_edma.scale']}",
            }

        return analyze

    raise ValueError(f"unknown tool {tool!r}")


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def child_main(tool: str, result_path: Path, warmup: str | None, files: list[str]) -> int:
    """Time one tool on ``files``; write JSON results to ``result_path``."""
    out: dict[str, Any] = {"tool": tool, "files": []}

    def save() -> None:
        out["peak_rss_mb"] = _rss_mb()
        result_path.write_text(json.dumps(out))

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        analyze = _load_tool(tool)
    except Unavailable as exc:
        out["error"] = str(exc)
        save()
        return 0
    out["import_s"] = time.perf_counter() - t0
    out["rss_after_import_mb"] = _current_rss_mb()
    current = warmup
    try:
        if warmup:
            t1 = time.perf_counter()
            analyze(warmup)
            out["warmup_s"] = time.perf_counter() - t1
        out["startup_cpu_s"] = time.process_time() - c0
        save()
        for path in files:
            current = path
            t1, c1 = time.perf_counter(), time.process_time()
            est = analyze(path)
            wall, cpu = time.perf_counter() - t1, time.process_time() - c1
            out["files"].append({"path": path, "wall_s": wall, "cpu_s": cpu, "estimate": est})
            save()
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        out["error"] = (
            f"failed on {Path(str(current)).name}: {type(exc).__name__}: {exc} "
            f"[{Path(frame.filename).name}:{frame.lineno}]"
        )
        traceback.print_exc()
        save()
        return 1
    return 0


# --------------------------------------------------------------------------------------------
# Parent: run children, print tables
# --------------------------------------------------------------------------------------------


def run_child(tool: str, files: list[Path], warmup: Path | None, cpu: int | None,
              timeout: float) -> dict[str, Any]:
    """Run one tool in a fresh, single-core child; return its results plus wait4 rusage."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        log = Path(tmp) / "log.txt"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", tool,
               "--result", str(result)]
        if warmup is not None:
            cmd += ["--warmup", str(warmup)]
        cmd += [str(f) for f in files]
        t0 = time.perf_counter()
        with open(log, "w") as logf:
            proc = subprocess.Popen(cmd, env=child_env(cpu), stdout=logf, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
        data: dict[str, Any] = json.loads(result.read_text()) if result.exists() else {}
        data["returncode"] = proc.returncode
        data["child_wall_s"] = time.perf_counter() - t0
        data["child_maxrss_mb"] = usage.ru_maxrss / 1024.0
        data["child_cpu_s"] = usage.ru_utime + usage.ru_stime
        if proc.returncode != 0 and "error" not in data:
            tail = log.read_text(errors="replace").strip().splitlines()[-15:]
            data["error"] = f"exit status {proc.returncode}:\n    " + "\n    ".join(tail)
    return data


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def header(args: argparse.Namespace) -> list[str]:
    """Reproducibility header: the exact command, machine and library versions."""
    argv0 = os.environ.get("LINERNOTES_BENCH_ARGV0")
    argv0 = argv0 or f"{Path(sys.executable).name} bench/speed.py"
    cmd = " ".join([argv0, *(shlex.quote(a) for a in sys.argv[1:])])
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for dist in ("numpy", "scipy", "av", "librosa", "essentia"):
        try:  # metadata only: importing essentia here would print its banner
            versions.append(f"{dist} {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{dist} not installed")
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip() or "no commit"
    except OSError:
        rev = "unknown"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"$ {cmd}",
        f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  {platform.node()}  {cpu_model}, "
        f"{os.cpu_count()} logical CPUs; each tool in a child pinned to 1 CPU, "
        f"{'/'.join(v.split('_')[0] for v in THREAD_VARS[:3])}=1",
        f"# python {platform.python_version()}; {', '.join(versions)}; linernotes @ {rev}",
        f"# load average at start {load}: wall times inflate when other work shares the CPUs; "
        "x real time uses CPU time",
    ]


def speed(args: argparse.Namespace) -> int:
    tracks = ensure_tracks(args.tracks)
    warmup = ensure_warmup()
    files = [p for p, _, _ in tracks]
    audio_s = sum(d for _, d, _ in tracks)
    lines = header(args)
    print("\n".join(lines))
    print(f"# {len(files)} tracks x {TRACK_SECONDS:.0f} s = {audio_s:.0f} s of 44.1 kHz stereo "
          f"({', '.join(sorted({p.suffix[1:] for p in files}))}); warm-up on a "
          f"{WARMUP_SECONDS:.0f} s clip excluded from timing")
    results: dict[str, dict[str, Any]] = {}
    for tool in args.tools:
        print(f"# running {tool} ...", file=sys.stderr, flush=True)
        results[tool] = run_child(tool, files, warmup, args.cpu, args.timeout)

    print()
    print("Per track (seconds of CPU, x real time per core, headline estimates vs truth)")
    for i, (path, dur, truth) in enumerate(tracks):
        print(f"  {path.name}  [truth {truth['bpm']:g} bpm, {truth['key']}, "
              f"{truth['time_signature']}]")
        for tool, res in results.items():
            if "error" in res or i >= len(res.get("files", [])):
                continue
            f = res["files"][i]
            est = f["estimate"]
            est_s = ", ".join(
                f"{v:.1f}" if isinstance(v, float) else str(v)
                for v in est.values() if v is not None
            )
            print(f"    {tool:11s} {f['cpu_s']:7.2f} s cpu  {dur / f['cpu_s']:7.1f}x RT   "
                  f"[{est_s}]")

    print()
    cols = (f"{'tool':11s} {'import s':>8s} {'warm-up s':>9s} {'wall s':>8s} {'cpu s':>8s} "
            f"{'xRT/core':>9s} {'xRT wall':>9s} {'peak RSS MB':>11s}  vs linernotes")
    print(cols)
    print("-" * len(cols))
    ln = results.get("linernotes", {})
    ln_cpu = sum(f["cpu_s"] for f in ln.get("files", [])) if "error" not in ln else None
    if ln_cpu is not None and len(ln.get("files", [])) != len(files):
        ln_cpu = None
    summary: dict[str, Any] = {}
    for tool, res in results.items():
        if "error" in res:
            print(f"{tool:11s} {res['error']}")
            summary[tool] = {"error": res["error"]}
            continue
        fs = res.get("files", [])
        if len(fs) != len(files):
            print(f"{tool:11s} incomplete: {len(fs)}/{len(files)} files")
            continue
        wall = sum(f["wall_s"] for f in fs)
        cpu = sum(f["cpu_s"] for f in fs)
        xrt, xrt_wall = audio_s / cpu, audio_s / wall
        ratio = ""
        if ln_cpu is not None and tool != "linernotes":
            ratio = f"linernotes {cpu / ln_cpu:.1f}x faster"
            if cpu < ln_cpu:
                ratio = f"linernotes {ln_cpu / cpu:.1f}x slower"
        print(f"{tool:11s} {res.get('import_s', 0):8.2f} {res.get('warmup_s', 0):9.2f} "
              f"{wall:8.2f} {cpu:8.2f} {xrt:9.1f} {xrt_wall:9.1f} "
              f"{res['child_maxrss_mb']:11.0f}  {ratio}")
        summary[tool] = {"wall_s": wall, "cpu_s": cpu, "xrt_per_core": xrt,
                         "peak_rss_mb": res["child_maxrss_mb"]}
    print()
    print("xRT/core = audio seconds / CPU seconds (user+sys) of the pinned child, decode "
          "included; import and warm-up excluded.")
    print("librosa computes only tempo, beats and a chroma key; essentia MusicExtractor "
          "computes far more (hundreds of descriptors).")
    status = 0
    if "linernotes" in results:
        if "error" in ln:
            print(f"\nERROR: {ln['error']}", file=sys.stderr)
            status = 2
        elif ln_cpu is not None:
            xrt = audio_s / ln_cpu
            verdict = "meets" if xrt >= SPEED_TARGET_XRT else "MISSES"
            print(f"linernotes: {xrt:.1f}x real time per core - {verdict} the "
                  f">= {SPEED_TARGET_XRT:.0f}x target")
    if args.json:
        args.json.write_text(json.dumps({"header": lines, "results": results,
                                         "summary": summary}, indent=1))
    if status == 0 and ln_cpu is not None and args.tracks == len(TRACKS):
        status = check("speed", {"linernotes_x_real_time": audio_s / ln_cpu})
    return status


def memory(args: argparse.Namespace) -> int:
    tracks = ensure_tracks(len(TRACKS))
    long_path = ensure_long(args.memory_format, tracks)
    lines = header(args)
    print("\n".join(lines))
    size_mb = long_path.stat().st_size / 2**20
    print(f"# {long_path.relative_to(ROOT)}: {LONG_MINUTES} min 44.1 kHz stereo "
          f"{args.memory_format}, {size_mb:.0f} MB; peak RSS from wait4() of the child")
    tools = args.tools if args.tools_given else ["linernotes"]
    status = 0
    print()
    print(f"{'tool':11s} {'RSS after import MB':>19s} {'peak RSS MB':>11s} {'wall s':>8s} "
          f"{'xRT/core':>9s}  target")
    for tool in tools:
        print(f"# running {tool} on {LONG_MINUTES} min ...", file=sys.stderr, flush=True)
        res = run_child(tool, [long_path], None, args.cpu, args.timeout)
        if "error" in res or not res.get("files"):
            print(f"{tool:11s} {res.get('error', 'no result')}")
            if tool == "linernotes":
                status = 2
            continue
        f = res["files"][0]
        peak = res["child_maxrss_mb"]
        target = ""
        if tool == "linernotes":
            ok = peak < MEMORY_TARGET_MB
            target = f"{'meets' if ok else 'MISSES'} < {MEMORY_TARGET_MB:.0f} MB"
            status = status or (0 if ok else 1)
        print(f"{tool:11s} {res.get('rss_after_import_mb', float('nan')):19.0f} {peak:11.0f} "
              f"{f['wall_s']:8.1f} {LONG_MINUTES * 60 / f['cpu_s']:9.1f}  {target}")
        if tool == "linernotes" and args.memory_format == "mp3":
            status = status or check("memory", {"linernotes_peak_rss_mb": peak})
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Speed (x real time per core) and peak memory of linernotes vs baselines.",
    )
    ap.add_argument("--tools", default=None,
                    help=f"comma-separated subset of {','.join(TOOLS)} (default: all; "
                    "with --memory: linernotes)")
    ap.add_argument("--tracks", type=int, default=len(TRACKS), choices=range(1, len(TRACKS) + 1),
                    help="how many of the three-minute tracks to use")
    ap.add_argument("--memory", action="store_true",
                    help=f"peak RSS on a {LONG_MINUTES}-minute file (linernotes unless --tools)")
    ap.add_argument("--memory-format", choices=("mp3", "flac"), default="mp3")
    ap.add_argument("--cpu", type=int, default=None,
                    help="CPU to pin children to (default: the last one allowed)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="per-tool limit in seconds")
    ap.add_argument("--json", type=Path, default=None, help="also write raw results here")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", default=None, help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        cpu = os.environ.get("LINERNOTES_BENCH_CPU")
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {int(cpu)})
        return child_main(args.child, args.result, args.warmup, args.files)

    args.tools_given = args.tools is not None
    args.tools = [t.strip() for t in (args.tools or ",".join(TOOLS)).split(",") if t.strip()]
    for t in args.tools:
        if t not in TOOLS:
            ap.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    if args.cpu is None and hasattr(os, "sched_getaffinity"):
        args.cpu = max(os.sched_getaffinity(0))
    return memory(args) if args.memory else speed(args)


if __name__ == "__main__":
    raise SystemExit(main())
