"""An independent development and test set: music none of us wrote, rendered several ways.

Sources (nothing of them is committed; the list of pieces and the split are):

* **music21's corpus** (BSD; the pieces are public domain): fiddle tunes (Ryan's Mammoth
  Collection, O'Neill's 1850), German folk songs (Essen), Bach's chorales, string quartets
  (Haydn, Mozart, Beethoven), Renaissance polyphony (Monteverdi's madrigals, Palestrina,
  Josquin) and piano music (Joplin, Schumann, Chopin...). Played from the score in 2/4 ...
  12/8 and 2/2, transposed, with expressive timing (rubato, swing) that the truth follows,
  varied instruments and dynamics, with or without a drum part.
* **Game music shipped as MIDI by Debian** (human-composed, tempo and metre from the
  composers' own files): ``openttd-openmsx`` (GPL-2) and ``planetblupi-music-midi`` (GPL-3),
  benchmark use only. Excerpts of 40 s, played as written (their own drums and instruments).

**The split is by collection, fixed before any result was looked at** (:data:`SPLIT`): the
development split holds Ryan's tunes, the Essen folk songs, the chorales, Haydn, Monteverdi and
OpenTTD; the test split O'Neill's tunes, Mozart and Beethoven, Palestrina and Josquin, the
piano pieces and Planet Blupi. The soundfonts are split too: development clips use FluidR3 and
TimGM6mb, test clips MuseScore General. Rules, thresholds and weights are chosen on ``dev``
only; figures are reported on ``test``. Every clip carries its split, collection, texture,
drums, timing, soundfont and degradation in ``manifest.json``;
``bench/results/corpus_set_split.json`` lists the piece ids of each split (committed: the split
definition, not audio).

Truth: beats on the score's beat (dotted quarter in 6/8, 9/8 and 12/8; half note in 2/2 and
3/2) moved through the same time map as the notes, downbeats on the bar lines, ``bpm`` = 60 /
median inter-beat interval, the numerator and beats per bar of the signature; the key is
music21's analysis of the score (a symbolic estimate, transposed with the piece; none for
game music).

Usage::

    bench/corpus_set                 # render (cached) and print the set's make-up
    bench/corpus_set --split test    # only one split

Audio goes to gitignored ``bench/data/corpus_set_v1/``. Needs ``.[bench,bench-corpus]``,
fluidsynth, the three soundfonts and the two game-music packages (apt).
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_set  # noqa: E402

from linernotes.fileio import content_hash  # noqa: E402

SET_VERSION = "corpus_set_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
SPLIT_FILE = ROOT / "bench" / "results" / "corpus_set_split.json"
SEED = 24_2024
SR = accuracy_set.SAMPLE_RATE

#: Collection -> (split, texture, corpus path prefixes or game-music glob, clips).
SPLIT: dict[str, tuple[str, str, tuple[str, ...], int]] = {
    "ryans": ("dev", "tune", ("ryansMammoth",), 24),
    "chorales": ("dev", "chorale", ("bach/bwv",), 20),
    "essen": ("dev", "tune", ("essenFolksong",), 12),
    "haydn": ("dev", "quartet", ("haydn",), 10),
    "monteverdi": ("dev", "polyphony", ("monteverdi",), 12),
    "openttd": ("dev", "game", ("/usr/share/games/openttd/baseset/openmsx/*.mid",), 26),
    "oneills": ("test", "tune", ("oneills1850",), 24),
    "quartets": ("test", "quartet", ("mozart", "beethoven"), 14),
    "polyphony": ("test", "polyphony", ("palestrina", "josquin"), 14),
    "piano": ("test", "piano", ("joplin", "schumann", "chopin", "schubert", "beach",
                                "johnson_j_r", "liliuokalani", "cpebach"), 8),
    "blupi": ("test", "game", ("/usr/share/planetblupi/music/*.mid",), 20),
}
SOUNDFONTS = {
    "dev": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2"),
    "test": ("/usr/share/sounds/sf3/MuseScore_General.sf3",),
}
#: Metres kept and the tempo range of their beat (beats a minute), drawn log-uniformly.
TEMPO_RANGES: dict[str, tuple[float, float]] = {
    "2/4": (60.0, 120.0), "3/4": (70.0, 160.0), "4/4": (60.0, 140.0), "2/2": (50.0, 100.0),
    "3/2": (40.0, 80.0), "6/8": (50.0, 120.0), "9/8": (50.0, 110.0), "12/8": (45.0, 100.0),
}
#: General MIDI programs per texture (one per part, cycled).
PROGRAMS: dict[str, tuple[tuple[int, ...], ...]] = {
    "tune": ((40,), (73,), (21,), (0,), (22,), (105,)),
    "chorale": ((48,), (19,), (52,), (0,), (61,)),
    "quartet": ((40, 40, 41, 42), (0,), (48,)),
    "polyphony": ((52,), (19,), (48,), (71, 68, 70, 57)),
    "piano": ((0,), (1,), (4,)),
}
CLIP_S, GAME_CLIP_S, LEAD_IN_S = 30.0, 40.0, 0.5
DEGRADATIONS = ("none", "none", "none", "mp3", "lowpass", "noise", "reverb")


def _corpus_paths(prefixes: tuple[str, ...]) -> list[str]:
    from music21 import corpus

    paths = sorted(str(p) for p in corpus.getPaths())
    return [p for p in paths if any(f"/corpus/{pre}" in p for pre in prefixes)]


def read_scores(path: str) -> list[dict[str, Any]]:
    """:func:`read_score` of every score in a corpus file (an ABC tune book holds many)."""
    from music21 import corpus

    try:
        parsed = corpus.parse(path)
    except Exception:  # a file music21 cannot read is left out
        return []
    scores = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
    name = path.split("/corpus/")[-1]
    found = [read_score(s, f"{name}#{i}" if len(scores) > 1 else name)
             for i, s in enumerate(scores)]
    return [p for p in found if p is not None]


def read_score(score: Any, name: str) -> dict[str, Any] | None:
    """Notes per part, the bars (offset and length of each, as written) and the key of a corpus
    score, or ``None`` when it does not fit (several signatures, over a tenth of its bars of
    another length, a metre outside :data:`TEMPO_RANGES`)."""
    from music21 import harmony

    try:
        score = score.stripTies()
        found = list(score.recurse().getElementsByClass("TimeSignature"))
        if len({ts.ratioString for ts in found}) != 1 or found[0].ratioString not in TEMPO_RANGES:
            return None
        ts = found[0]
        bar_ql, beat_ql = float(ts.barDuration.quarterLength), float(ts.beatDuration.quarterLength)
        bars = [(float(m.offset), float(m.duration.quarterLength))
                for m in score.parts[0].getElementsByClass("Measure")]
        odd = sum(abs(length - bar_ql) > 1e-6 for _, length in bars[1:-1])
        if len(bars) < 4 or odd > 0.1 * len(bars):
            return None
        notes = []
        for k, part in enumerate(score.parts):
            for n in part.recurse().notes:
                if isinstance(n, harmony.ChordSymbol) or n.quarterLength <= 0:
                    continue
                notes += [(float(n.getOffsetInHierarchy(score)), float(n.quarterLength),
                           int(p.midi), k) for p in n.pitches]
        if not notes:
            return None
        key = score.analyze("key")
        return {"path": name, "meter": ts.ratioString, "bar_ql": bar_ql, "beat_ql": beat_ql,
                "bars": bars, "total_ql": bars[-1][0] + bars[-1][1],
                "notes": notes, "parts": len(score.parts),
                "tonic": int(key.tonic.pitchClass), "mode": str(key.mode)}
    except Exception:  # a file music21 cannot read or analyse is left out
        return None


def _read_collection(name: str) -> list[dict[str, Any]]:
    """Readable pieces of a corpus collection (cached per music21 version)."""
    import music21

    cache = DATA / "scores" / f"{name}.json"
    if cache.exists():
        stored = json.loads(cache.read_text())
        if stored.get("music21") == music21.__version__:
            return stored["pieces"]
    paths = _corpus_paths(SPLIT[name][2])
    # Parsing is slow (seconds a piece): a fixed random sample of four times what is needed
    # (tune books hold dozens of tunes a file: two files of them).
    rng = np.random.default_rng([SEED, len(name)])
    want = {"oneills": 10, "essen": 2, "quartets": 20}.get(name, 4 * SPLIT[name][3])
    paths = sorted(rng.permutation(paths)[:want].tolist())
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1)) as ex:
        pieces = [p for found in ex.map(read_scores, paths, chunksize=4) for p in found]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"music21": music21.__version__, "pieces": pieces}))
    return pieces


def time_map(total_beats: float, rng: np.random.Generator, rubato: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Beat positions (in beats) and their relative durations: 1 everywhere, or a smooth
    random tempo curve of about ``rubato`` (relative spread) when it is above 0."""
    n = math.ceil(total_beats) + 2
    if rubato <= 0:
        return np.arange(n + 1, dtype=float), np.ones(n)
    walk = np.cumsum(rng.normal(0.0, 1.0, n))
    kernel = np.hanning(9) / np.hanning(9).sum()
    smooth = np.convolve(walk - walk.mean(), kernel, mode="same")
    smooth = smooth / max(float(np.std(smooth)), 1e-9) * rubato
    return np.arange(n + 1, dtype=float), np.exp(smooth)


def _swing(q: np.ndarray, ratio: float) -> np.ndarray:
    """Quarter-note offsets with swung eighths: the off-beat eighth moves to ``ratio`` of
    the beat (0.5 = straight)."""
    whole = np.floor(q)
    frac = q - whole
    late = ratio + (frac - 0.5) * (1 - ratio) / 0.5
    return whole + np.where(frac < 0.5, frac * ratio / 0.5, late)


def score_clip_midi(piece: dict[str, Any], plan: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The piece as MIDI under ``plan`` (tempo, timing, programs, dynamics, drums), cut to
    :data:`CLIP_S`, and its truth."""
    import pretty_midi

    rng = np.random.default_rng(plan["seed"])
    beat_ql, bar_ql = piece["beat_ql"], piece["bar_ql"]
    sec_per_beat = 60.0 / plan["bpm"]
    span_ql = piece["total_ql"]
    passes = max(1, math.ceil((CLIP_S + 2) / (span_ql / beat_ql * sec_per_beat * 0.85)))
    total_beats = passes * span_ql / beat_ql
    _, dur = time_map(total_beats, rng, plan["rubato"])
    beat_starts = LEAD_IN_S + np.concatenate([[0.0], np.cumsum(dur * sec_per_beat)])

    def seconds(q: np.ndarray) -> np.ndarray:
        qq = np.asarray(q, float)
        qq = _swing(qq, plan["swing"]) if plan["swing"] else qq
        return np.interp(qq / beat_ql, np.arange(beat_starts.size), beat_starts)

    end_s = LEAD_IN_S + CLIP_S
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    programs = plan["programs"]
    insts = {}
    phrase = rng.uniform(0, 2 * np.pi)
    for k in range(passes):
        for offset, length, pitch, part in piece["notes"]:
            q0 = k * span_ql + offset
            t0, t1 = seconds(np.array([q0, q0 + 0.97 * length]))
            if t0 >= end_s - 0.05:
                continue
            prog = programs[part % len(programs)]
            inst = insts.setdefault(prog, pretty_midi.Instrument(program=prog))
            swell = 12 * math.sin(2 * np.pi * q0 / (8 * bar_ql) + phrase)
            vel = int(np.clip(plan["velocity"] + swell + rng.normal(0, 6), 25, 127))
            inst.notes.append(pretty_midi.Note(vel, pitch + plan["transpose"], float(t0),
                                               float(min(t1, end_s + 1.0))))
    pm.instruments.extend(insts.values())
    q_beats, down = bar_grid(piece["bars"], bar_ql, beat_ql, span_ql, passes)
    beats = seconds(q_beats)
    keep = beats < end_s - 0.05
    num = int(piece["meter"].split("/")[0])
    compound = piece["meter"] in ("6/8", "9/8", "12/8")
    if plan["drums"]:
        pm.instruments.append(_drum_part(beats[keep], down[keep], piece["meter"], rng))
    b = beats[keep]
    truth = {"bpm": round(60.0 / float(np.median(np.diff(b))), 3),
             "beats": [round(float(t), 4) for t in b],
             "downbeats": [round(float(t), 4) for t in b[down[keep]]],
             "numerator": num, "compound": compound,
             "beats_per_bar": num // 3 if compound else num,
             "tonic": (piece["tonic"] + plan["transpose"]) % 12, "mode": piece["mode"],
             "duration_s": end_s + 1.0}
    return pm, truth


def bar_grid(bars: list[tuple[float, float]], bar_ql: float, beat_ql: float, span_ql: float,
             passes: int) -> tuple[np.ndarray, np.ndarray]:
    """Beat positions (quarter notes) and which of them start a bar, over ``passes`` plays of
    a piece of ``span_ql``: every bar's beats from its bar line, a short first bar (a pickup)
    counted back from its end."""
    beats, down = [], []
    for k in range(passes):
        for i, (offset, length) in enumerate(bars):
            base = k * span_ql + offset
            if i == 0 and length < bar_ql - 1e-6:  # a pickup: its beats lead to the next bar
                n = int(length / beat_ql + 1e-6)
                grid = [base + length - j * beat_ql for j in range(n, 0, -1)]
                beats += grid
                down += [False] * len(grid)
                continue
            n = max(1, round(length / beat_ql))
            beats += [base + j * beat_ql for j in range(n)]
            down += [True] + [False] * (n - 1)
    q, d = np.array(beats), np.array(down, dtype=bool)
    # A bar longer or shorter than its signature (a cadenza, a fermata bar) can put a beat
    # on or past the next bar line: keep the grid increasing, by at least half a beat.
    keep = np.ones(q.size, dtype=bool)
    last = -np.inf
    for i, v in enumerate(q):
        keep[i] = v >= last + 0.5 * beat_ql
        last = v if keep[i] else last
    return q[keep], d[keep]


def _drum_part(beats: np.ndarray, down: np.ndarray, meter: str, rng: np.random.Generator) -> Any:
    """A plain kit following the truth beats: kick on the downbeat (and the middle of a bar of
    four), snare on the other beats of duple bars (beats 2 and 3 of a bar of three), closed
    hi-hat on every eighth (every third of a compound beat)."""
    import pretty_midi

    kit = pretty_midi.Instrument(program=0, is_drum=True)
    subdiv = 3 if meter in ("6/8", "9/8", "12/8") else 2
    j = 0
    for i, t in enumerate(beats):
        step = (beats[i + 1] - t) if i + 1 < beats.size else (t - beats[i - 1])
        j = 0 if down[i] else j + 1
        vel = int(np.clip(rng.normal(95, 6), 60, 127))
        kick = j == 0 or (j == 2 and meter in ("4/4", "12/8"))
        kit.notes.append(pretty_midi.Note(vel - 10 * (not kick), 36 if kick else 38, t, t + 0.1))
        for s in range(subdiv):
            u = t + s * step / subdiv
            kit.notes.append(pretty_midi.Note(vel - 25 - 10 * (s > 0), 42, u, u + 0.05))
    return kit


def game_clip_midi(path: str, plan: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A :data:`GAME_CLIP_S` excerpt of a game-music MIDI file, its beats from the file's own
    tempo map and time signatures."""
    import pretty_midi

    src = pretty_midi.PrettyMIDI(path)
    start = plan["start_s"]
    stop = start + GAME_CLIP_S
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    for inst in src.instruments:
        out = pretty_midi.Instrument(program=inst.program, is_drum=inst.is_drum)
        out.notes = [pretty_midi.Note(n.velocity, n.pitch, n.start - start + LEAD_IN_S,
                                      min(n.end, stop + 1.0) - start + LEAD_IN_S)
                     for n in inst.notes if start <= n.start < stop]
        out.control_changes = [pretty_midi.ControlChange(c.number, c.value,
                                                         max(c.time - start, 0.0) + LEAD_IN_S)
                               for c in inst.control_changes if c.time < stop]
        if out.notes:
            pm.instruments.append(out)
    beats = np.array(src.get_beats())
    downs = set(np.round(src.get_downbeats(), 6))
    sel = (beats >= start) & (beats < stop - 0.05)
    b = beats[sel] - start + LEAD_IN_S
    ts = [t for t in src.time_signature_changes if t.time <= start] or src.time_signature_changes
    num, den = (ts[-1].numerator, ts[-1].denominator) if ts else (4, 4)
    compound = den == 8 and num % 3 == 0 and num > 3
    truth = {"bpm": round(60.0 / float(np.median(np.diff(b))), 3),
             "beats": [round(float(t), 4) for t in b],
             "downbeats": [round(float(t), 4) for t, s in zip(b, beats[sel], strict=True)
                           if round(float(s), 6) in downs],
             "numerator": num, "compound": compound,
             "beats_per_bar": num // 3 if compound else num, "tonic": None, "mode": None,
             "duration_s": LEAD_IN_S + GAME_CLIP_S + 1.0}
    return pm, truth


def _game_windows(path: str, count: int, rng: np.random.Generator) -> list[float]:
    """Start times of ``count`` excerpts spread over where the file has notes."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(path)
    onsets = np.sort(np.concatenate([[n.start for n in i.notes] for i in pm.instruments]))
    lo, hi = float(onsets[0]), float(onsets[-1]) - GAME_CLIP_S
    if hi <= lo:
        return [lo][:count]
    return sorted(round(float(rng.uniform(lo, hi)), 2) for _ in range(count))


def define_set() -> list[dict[str, Any]]:
    """Every clip's plan, drawn with :data:`SEED` (the split is :data:`SPLIT`'s)."""
    rng = np.random.default_rng(SEED)
    plans: list[dict[str, Any]] = []
    for name, (split, texture, sources, count) in SPLIT.items():
        sf = SOUNDFONTS[split]
        if texture == "game":
            files = sorted(f for pattern in sources for f in glob.glob(pattern))
            per = [count // len(files) + (i < count % len(files)) for i in range(len(files))]
            for f, k in zip(files, per, strict=True):
                for start in _game_windows(f, k, rng):
                    plans.append({"collection": name, "split": split, "texture": texture,
                                  "source": f, "start_s": start, "drums": True,
                                  "soundfont": sf[int(rng.integers(len(sf)))]})
            continue
        pieces = _read_collection(name)
        order = rng.permutation(len(pieces))
        for i in order[:count]:
            piece = pieces[int(i)]
            meter = piece["meter"]
            lo, hi = TEMPO_RANGES[meter]
            duple = meter in ("2/4", "4/4") and texture in ("tune", "piano")
            plans.append({
                "collection": name, "split": split, "texture": texture, "source": piece["path"],
                "meter": meter, "bpm": round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 1),
                "transpose": int(rng.integers(-5, 7)), "velocity": int(rng.integers(60, 105)),
                "programs": list(PROGRAMS[texture][int(rng.integers(len(PROGRAMS[texture])))]),
                "rubato": float(rng.choice([0.0, 0.0, 0.03, 0.06])),
                "swing": float(rng.choice([0.62, 0.66])) if duple and rng.random() < 0.3 else 0.0,
                "drums": bool(rng.random() < 0.4), "soundfont": sf[int(rng.integers(len(sf)))],
                "seed": int(rng.integers(1 << 31)),
            })
    for i, p in enumerate(plans):
        p["degradation"] = DEGRADATIONS[int(rng.integers(len(DEGRADATIONS)))]
        p["param"] = (accuracy_set.draw_degradation_param(p["degradation"], rng)
                      if p["degradation"] in accuracy_set.DEGRADATIONS else None)
        stem = Path(p["source"]).stem.replace(".", "_")
        p["name"] = f"{p['split']}_{i:03d}_{p['collection']}_{stem}"
    return plans


def render(plan: dict[str, Any]) -> dict[str, Any]:
    """Render one clip (unless its audio is there) and return its manifest entry."""
    wav = DATA / "clips" / f"{plan['name']}.wav"
    if plan["texture"] == "game":
        pm, truth = game_clip_midi(plan["source"], plan)
    else:
        piece = next(p for p in _read_collection(plan["collection"])
                     if p["path"] == plan["source"])
        pm, truth = score_clip_midi(piece, plan)
    if not wav.exists():
        wav.parent.mkdir(parents=True, exist_ok=True)
        midi_songs = accuracy_set.song_module()
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw.wav"
            audio = midi_songs.render_midi(pm, raw, sr=SR, soundfont=plan["soundfont"],
                                           duration_s=truth["duration_s"])
            kind = plan["degradation"]
            if kind == "reverb":
                wet = Path(tmp) / "wet.wav"
                subprocess.run(["sox", str(raw), str(wet), "reverb", "60", "50", "80",
                                "trim", "0", str(truth["duration_s"])], check=True)
                audio = soundfile.read(wet, dtype="float32", always_2d=True)[0]
            elif kind != "none":
                audio = accuracy_set.apply_degradation(audio, kind, plan["param"], tmp=Path(tmp),
                                                       seed=(SEED, len(plan["name"])))
            accuracy_set._write_wav(audio, wav)
    return {**{k: v for k, v in plan.items() if k != "programs"},
            "programs": plan.get("programs"), "file": str(wav.relative_to(DATA)),
            "sha256": content_hash(wav), "truth": truth}


def ensure_set(jobs: int, split: str | None = None) -> list[dict[str, Any]]:
    """Render what is missing and return the manifest's clips (of ``split`` if given)."""
    plans = [p for p in define_set() if split in (None, p["split"])]
    with ProcessPoolExecutor(jobs) as ex:
        clips = list(ex.map(render, plans, chunksize=1))
    if split is None:
        (DATA / "manifest.json").write_text(json.dumps({"clips": clips}, indent=1))
        SPLIT_FILE.write_text(json.dumps(
            {s: sorted(f"{c['collection']}:{c['source'].split('/')[-1]}"
                       + (f"@{c['start_s']}" if c.get("start_s") is not None else "")
                       for c in clips if c["split"] == s) for s in ("dev", "test")}, indent=1)
            + "\n")
    return clips


def dev_fit_arguments(doc: str, argv: list[str] | None,
                      parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Arguments of a script that fits weights on the dev split: ``--jobs`` and ``--write``
    (into ``linernotes/analyzers/fitted_weights.json``), added to ``parser`` (which holds the
    script's own) or to a new one; ``doc`` is the script's docstring."""
    ap = parser or argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--write", action="store_true",
                    help="write the fitted weights into linernotes/analyzers/fitted_weights.json")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("dev", "test"), default=None)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    clips = ensure_set(args.jobs, args.split)
    for split in ("dev", "test"):
        mine = [c for c in clips if c["split"] == split]
        if not mine:
            continue
        print(f"{split}: {len(mine)} clips, {sum(c['truth']['duration_s'] for c in mine) / 60:.0f}"
              " min")
        for field in ("collection", "texture", "drums", "degradation", "soundfont"):
            counts = Counter(str(c.get(field)) for c in mine)
            print(f"  {field:12s} " + ", ".join(f"{k.split('/')[-1]} {v}"
                                               for k, v in sorted(counts.items())))
        meters = Counter(f"{c['truth']['numerator']}{'c' if c['truth']['compound'] else ''}"
                         for c in mine)
        print("  numerator    " + ", ".join(f"{k} {v}" for k, v in sorted(meters.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
