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
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from childproc import (  # bench/ is on sys.path when run as a script
    THREAD_VARS,
    Unavailable,
    add_child_options,
    child_env,
    command_line,
    cpu_model,
    essentia_standard,
    need,
    pin_child,
)
from recorded import check
from speed_audio import (
    LONG_MINUTES,
    TRACK_SECONDS,
    TRACKS,
    WARMUP_SECONDS,
    ensure_long,
    ensure_tracks,
    ensure_warmup,
)

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("linernotes", "librosa", "essentia")
MEMORY_TARGET_MB = 600.0
SPEED_TARGET_XRT = 50.0


# --------------------------------------------------------------------------------------------
# Child process: one tool, pinned to one core
# --------------------------------------------------------------------------------------------


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
        import numpy as np

        librosa = need("librosa")
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
        extractor = essentia_standard().MusicExtractor()

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
    cmd = command_line("bench/speed.py")
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
        f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  {platform.node()}  {cpu_model()}, "
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
    add_child_options(ap)
    args = ap.parse_args(argv)

    if args.child:
        pin_child()
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
