"""Out-of-generator check: real tunes and chorales from music21's corpus, rendered as written.

Every fitted rule of the rhythm analysis (octave check, bar of three, compound beat, 6/8 or
12/8) was fitted on songs from ``scripts/midi_songs.py``, the same generator as the accuracy
benchmark. This bench asks whether they hold on music nobody generated for them: fiddle tunes
from *Ryan's Mammoth Collection* (1883: reels, hornpipes, jigs, slip jigs, clogs and
strathspeys, one melody line each) and Bach's four-part chorales, both shipped with music21
(BSD licence; the tunes and chorales are public domain). Each piece is played exactly as
notated, one General MIDI instrument, no accents, no drums, at a tempo drawn for its metre,
repeated whole to 30-60 s and rendered with fluidsynth; the truth is the score's own beat and
bar grid. Pieces whose bars do not tile (a pickup not completed by the last bar, partial bars
inside, a change of metre) are left out, and so is cut time (2/2), whose beat convention no
tool here shares.

It prints, per metre and per collection, tempo Acc1/Acc2, beat and downbeat F (the accuracy
benchmark's scoring, ``bench/accuracy_scores.score_clip``) and the metre numerator, for linernotes
and in the same run librosa and essentia where installed. Ryan's notates most reels and
hornpipes in 2/4 with sixteenth notes, where other collections write the same tunes in 4/4 or
2/2 with eighths: the numerator of a melody like these is a convention of the edition, which
this table makes visible.

Usage::

    bench/corpus_tunes [--per-meter 16] [--tools linernotes,librosa,essentia,madmom] [--jobs 2]

Needs ``pip install -e '.[bench,bench-corpus]'`` (music21). Audio and ``manifest.json`` are
written to gitignored ``bench/data/corpus_v1/`` (the corpus parse is cached there too, and
the other tools' estimates in ``cache/``: madmom takes about half an hour here the first
time); every clip's estimates and scores go to ``results.json`` beside them. ``--markdown`` writes
the table (``bench/results/corpus_tunes.md``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_jobs  # noqa: E402
import accuracy_scores  # noqa: E402
import accuracy_set  # noqa: E402
import accuracy_tools  # noqa: E402

from linernotes.fileio import content_hash  # noqa: E402

SET_VERSION = "corpus_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
SEED = 20_261_121
#: Metres kept, and the tempo range of their beat (dotted quarter in 6/8 and 9/8) drawn
#: log-uniformly per piece: where such dances and chorales are played.
TEMPO_RANGES: dict[str, tuple[float, float]] = {
    "2/4": (70.0, 120.0), "3/4": (70.0, 150.0), "4/4": (60.0, 130.0),
    "6/8": (60.0, 120.0), "9/8": (60.0, 110.0),
}
#: General MIDI programs: fiddle tunes on violin, flute, accordion or piano; chorales on
#: string ensemble, church organ, choir or piano.
PROGRAMS = {"ryans": (40, 73, 21, 0), "chorales": (48, 19, 52, 0)}
MIN_S, MAX_S = 30.0, 60.0
LEAD_IN_S = 0.5
CAPS = {tool: caps - {"key"} for tool, caps in accuracy_scores.CAPS.items()}


def _candidates() -> list[tuple[str, str]]:
    """(collection, corpus path) of every piece considered, in a fixed order."""
    from music21 import corpus

    ryans = sorted(str(p) for p in corpus.getPaths() if "ryansMammoth" in str(p))
    chorales = list(corpus.chorales.Iterator(numberingSystem="riemenschneider",
                                             returnType="filename"))
    return [("ryans", p) for p in ryans] + [("chorales", p) for p in chorales]


def read_piece(collection: str, path: str) -> dict[str, Any] | None:
    """Notes (offset, length in quarters, MIDI pitch) and bar grid of a piece, or ``None``
    when it does not fit the set (see the module docstring)."""
    from music21 import corpus, harmony

    try:
        score = corpus.parse(path).stripTies()
    except Exception:  # a corpus file music21 cannot read is left out
        return None
    found = list(score.recurse().getElementsByClass("TimeSignature"))
    signatures = {ts.ratioString for ts in found}
    if len(signatures) != 1 or (meter := signatures.pop()) not in TEMPO_RANGES:
        return None
    ts = found[0]
    bar_ql, beat_ql = float(ts.barDuration.quarterLength), float(ts.beatDuration.quarterLength)
    measures = list(score.parts[0].getElementsByClass("Measure"))
    lengths = [float(m.duration.quarterLength) for m in measures]
    if len(measures) < 4 or any(abs(x - bar_ql) > 1e-6 for x in lengths[1:-1]):
        return None
    total = float(sum(lengths))
    pickup = lengths[0] if lengths[0] < bar_ql - 1e-6 else 0.0
    if abs(total / bar_ql - round(total / bar_ql)) > 1e-6:
        return None  # the last bar does not complete the pickup
    notes = [(float(n.getOffsetInHierarchy(score)), float(n.quarterLength), int(p.midi))
             for n in score.recurse().notes if not isinstance(n, harmony.ChordSymbol)
             and n.quarterLength > 0 for p in n.pitches]
    if not notes:
        return None
    return {"collection": collection, "path": path, "meter": meter, "bar_ql": bar_ql,
            "beat_ql": beat_ql, "pickup_ql": pickup, "total_ql": total, "notes": notes}


def _read_all(cands: list[tuple[str, str]]) -> dict[str, dict[str, Any] | None]:
    """:func:`read_piece` of every candidate, cached in ``pieces.json`` (parsing the corpus
    takes minutes) per music21 version."""
    import music21

    cache = DATA / "pieces.json"
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("music21") == music21.__version__ and \
                set(stored["pieces"]) == {path for _, path in cands}:
            return stored["pieces"]
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1)) as ex:
        read = list(ex.map(read_piece, *zip(*cands, strict=True), chunksize=16))
    pieces = {path: piece for (_, path), piece in zip(cands, read, strict=True)}
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps({"music21": music21.__version__, "pieces": pieces}))
    tmp.replace(cache)
    return pieces


def _tempo(meter: str, rng: np.random.Generator) -> float:
    lo, hi = TEMPO_RANGES[meter]
    return round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 1)


def define_set(per_meter: int) -> list[dict[str, Any]]:
    """Up to ``per_meter`` pieces per metre and collection, drawn with :data:`SEED`, each with
    its tempo and instrument."""
    rng = np.random.default_rng(SEED)
    cands = _candidates()
    order = rng.permutation(len(cands))
    read = _read_all(cands)
    pieces = [read[cands[i][1]] for i in order]
    chosen, counts = [], defaultdict(int)
    for piece in pieces:
        if piece is None or counts[(piece["collection"], piece["meter"])] >= per_meter:
            continue
        counts[(piece["collection"], piece["meter"])] += 1
        bpm = _tempo(piece["meter"], rng)
        program = int(rng.choice(PROGRAMS[piece["collection"]]))
        name = f"{len(chosen):03d}_{Path(piece['path']).stem}_{piece['meter'].replace('/', '-')}"
        chosen.append({**piece, "name": name, "bpm": bpm, "program": program})
    return chosen


def truth_and_midi(piece: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The piece repeated whole to :data:`MIN_S` (cut at :data:`MAX_S`) as MIDI, and its beat
    and bar grid in seconds."""
    import pretty_midi

    sec_per_ql = 60.0 / (piece["bpm"] * piece["beat_ql"])
    pass_s = piece["total_ql"] * sec_per_ql
    passes = max(1, math.ceil(MIN_S / pass_s))
    end_s = min(LEAD_IN_S + passes * pass_s, MAX_S)
    pm = pretty_midi.PrettyMIDI(initial_tempo=60.0 / sec_per_ql)
    inst = pretty_midi.Instrument(program=piece["program"])
    for k in range(passes):
        for offset, length, pitch in piece["notes"]:
            start = LEAD_IN_S + (k * piece["total_ql"] + offset) * sec_per_ql
            if start < end_s - 0.05:
                stop = min(start + 0.98 * length * sec_per_ql, end_s)
                inst.notes.append(pretty_midi.Note(80, pitch, start, stop))
    pm.instruments.append(inst)
    first_bar = piece["pickup_ql"]
    span = passes * piece["total_ql"]
    grid_ql = np.arange(first_bar % piece["beat_ql"], span, piece["beat_ql"])
    beats = LEAD_IN_S + grid_ql * sec_per_ql
    in_bar = ((grid_ql - first_bar) / piece["bar_ql"]) % 1.0
    on_bar = np.minimum(in_bar, 1.0 - in_bar) <= 1e-6
    keep = beats < end_s - 0.05
    num, den = (int(x) for x in piece["meter"].split("/"))
    compound = num % 3 == 0 and num > 3 and den == 8
    truth = {
        "bpm": piece["bpm"], "beats": [round(float(t), 4) for t in beats[keep]],
        "downbeats": [round(float(t), 4) for t in beats[keep & on_bar]],
        "numerator": num, "compound": compound,
        "beats_per_bar": num // 3 if compound else num, "duration_s": end_s + 1.0,
    }
    return pm, truth


def render(piece: dict[str, Any]) -> dict[str, Any]:
    """Render one piece (unless its audio is there) and return its manifest entry."""
    midi_songs = accuracy_set.song_module()
    pm, truth = truth_and_midi(piece)
    wav = DATA / "clips" / f"{piece['name']}.wav"
    if not wav.exists():
        wav.parent.mkdir(parents=True, exist_ok=True)
        tmp = wav.with_suffix(".tmp.wav")
        midi_songs.render_midi(pm, tmp, sr=accuracy_set.SAMPLE_RATE, duration_s=truth["duration_s"])
        tmp.replace(wav)
    return {"name": piece["name"], "file": str(wav.relative_to(DATA)),
            "sha256": content_hash(wav),
            "collection": piece["collection"], "meter": piece["meter"],
            "source": piece["path"].split("/corpus/")[-1], "program": piece["program"],
            "truth": truth}


def _analyse(item: tuple[str, str]) -> tuple[str, str, dict[str, Any] | None]:
    tool, path = item
    try:
        return tool, path, accuracy_tools.cached_tool(tool)(path)
    except Exception as exc:  # a tool failing on a clip scores zero there
        print(f"# {tool} failed on {Path(path).name}: {exc!r}", file=sys.stderr)
        return tool, path, None


def installed_tools(names: list[str]) -> list[str]:
    """The tools of ``names`` that can run here (the others are named on stderr)."""
    tools = []
    for tool in names:
        try:
            accuracy_tools.load_tool(tool)
            tools.append(tool)
        except accuracy_tools.Unavailable as exc:
            print(f"# {tool} skipped: {exc}", file=sys.stderr)
    return tools


def write_markdown(path: Path, title: str, bench: str, lines: list[str]) -> None:
    """A bench's printed table as a markdown page of ``bench/results/``."""
    path.write_text(f"# {title}\n\nGenerated by `bench/{bench}` (see `bench/{bench}.py`)."
                    "\n\n```text\n" + "\n".join(lines) + "\n```\n")


def analyse_all(tools: list[str], clips: list[dict[str, Any]], jobs: int, *,
                data: Path = DATA, analyse: Any = _analyse
                ) -> dict[tuple[str, str], dict[str, Any] | None]:
    """Every tool's estimate on every clip: from the cache where it holds one, else run (in
    ``jobs`` workers) and appended to the cache as each finishes, so an interrupted run keeps
    what it did.

    The other tools' estimates are kept in ``cache/<tool>.jsonl`` as ``bench/accuracy`` keeps
    its own (:func:`accuracy_jobs.load_cache`: tool version, adapter and settings, and each file's
    SHA-256): madmom takes about half an hour on this set. linernotes is always run afresh
    (its code is what changes). ``data`` is the set's folder (clips and ``cache/``),
    ``analyse`` the worker (``(tool, path) -> (tool, path, estimate)``); progress with an
    ETA goes to stderr.
    """
    cache_dir = data / "cache"
    estimates: dict[tuple[str, str], dict[str, Any] | None] = {}
    by_path = {str(data / c["file"]): c for c in clips}
    todo = []
    for tool in tools:
        hits = {} if tool == "linernotes" else accuracy_jobs.load_cache(tool, cache_dir)
        for path, c in by_path.items():
            hit = hits.get((c["name"], c["sha256"]))
            if hit is None:
                todo.append((tool, path))
            else:
                estimates[(tool, path)] = hit["estimate"]
    done, started = 0, time.monotonic()
    with ProcessPoolExecutor(jobs) as ex:
        for tool, path, estimate in ex.map(analyse, todo, chunksize=1):
            estimates[(tool, path)] = estimate
            done += 1
            if done % 20 == 0:
                rate = done / (time.monotonic() - started)
                print(f"#   {done}/{len(todo)} analyses, ETA {(len(todo) - done) / rate:.0f} s",
                      file=sys.stderr)
            if tool != "linernotes" and estimate is not None:
                c = by_path[path]
                accuracy_jobs.append_cache(tool, [{"clip": c["name"], "sha256": c["sha256"],
                                              "estimate": estimate}], cache_dir)
    return estimates


METRICS = (("acc1", "Acc1"), ("acc2", "Acc2"), ("beat_f", "beat F"),
           ("downbeat_f", "downbeat F"), ("numerator", "numerator"))


def subset_means(members: list[dict[str, Any]], scores: dict[str, dict[str, dict[str, Any]]],
                 tools: list[str], key: str) -> list[float | None]:
    """Each tool's mean of metric ``key`` over ``members`` (``None`` where it has none)."""
    out = []
    for tool in tools:
        got = [scores[tool][c["name"]].get(key) for c in members]
        got = [v for v in got if v is not None]
        out.append(float(np.mean(got)) if got else None)
    return out


def table(clips: list[dict[str, Any]], scores: dict[str, dict[str, dict[str, Any]]],
          tools: list[str]) -> list[str]:
    """Mean of each metric per subset and tool; ``—`` where a tool does not estimate it."""
    subsets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in sorted(clips, key=lambda c: (c["collection"], c["meter"])):
        for label in ("all", c["collection"], f"{c['collection']} {c['meter']}"):
            subsets[label].append(c)
    width = 11 * len(tools)
    groups = f"{'':23s} " + "".join(f"| {label:{width}s}" for _, label in METRICS)
    head = f"{'subset':18s} {'n':>4s} " + "".join(
        "| " + " ".join(f"{t[:10]:>10s}" for t in tools) + " " for _ in METRICS)
    lines = [groups, head, "-" * len(head)]
    for label, members in subsets.items():
        cells = []
        for key, _ in METRICS:
            vals = [f"{'—':>10s}" if v is None else f"{v:10.1f}"
                    for v in subset_means(members, scores, tools, key)]
            cells.append("| " + " ".join(vals) + " ")
        lines.append(f"{label:18s} {len(members):4d} " + "".join(cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-meter", type=int, default=16, help="pieces per metre and collection")
    ap.add_argument("--tools", default="linernotes,librosa,essentia")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--markdown", type=Path, default=None)
    args = ap.parse_args(argv)
    try:
        import music21  # noqa: F401
    except ImportError:
        print("music21 is not installed: pip install -e '.[bench,bench-corpus]'", file=sys.stderr)
        return 2

    DATA.mkdir(parents=True, exist_ok=True)
    pieces = define_set(args.per_meter)
    with ProcessPoolExecutor(args.jobs) as ex:
        clips = list(ex.map(render, pieces))
    (DATA / "manifest.json").write_text(json.dumps({"clips": clips}, indent=1))
    tools = installed_tools(args.tools.split(","))
    estimates = analyse_all(tools, clips, args.jobs)
    scores = {tool: {c["name"]: accuracy_scores.score_clip(
        c["truth"], estimates[(tool, str(DATA / c["file"]))], CAPS[tool]) for c in clips}
        for tool in tools}
    results = {c["name"]: {"truth": c["truth"], **{
        tool: {"estimate": estimates[(tool, str(DATA / c["file"]))],
               "score": scores[tool][c["name"]]} for tool in tools}} for c in clips}
    (DATA / "results.json").write_text(json.dumps(results, indent=1, default=float))
    meters = defaultdict(int)
    for c in clips:
        meters[f"{c['collection']} {c['meter']}"] += 1
    lines = [
        f"$ bench/corpus_tunes --per-meter {args.per_meter} --tools {','.join(tools)}",
        f"# {len(clips)} pieces: " + ", ".join(f"{k} {v}" for k, v in sorted(meters.items())),
        "# metrics in % (F-measures x100), mean over pieces",
        *table(clips, scores, tools),
    ]
    print("\n".join(lines))
    if args.markdown:
        write_markdown(args.markdown, "Corpus tunes: rhythm on music the generator did not make",
                       "corpus_tunes", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
