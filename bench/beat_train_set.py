"""Training material for the beat/downbeat activation: rendered music that is in neither split.

The activation network (:mod:`linernotes.analyzers.rhythm.activation`) is trained on clips
rendered here and nowhere else, so that ``bench/corpus_set``'s dev split stays a fair place to
choose how the activation is used and its test split stays unseen:

* **music21's corpus, collections outside the test split** (Ryan's tunes, Essen folk songs,
  Aird's airs, the Nottingham tunes, Bach's chorales, Haydn, Corelli, Handel, Monteverdi, the
  Trecento), pieces the dev split does not use, played as ``bench/corpus_set`` plays them
  (transposed, rubato, swing, drums on 40 %, any texture's instruments);
* **OpenTTD's game music** (dev collection), excerpts that do not overlap a dev excerpt;
* **the project's own generator** (``scripts/midi_songs.py``), which may make training data;
* **Freedoom's music**, only when asked for (``--include freedoom``; a third round,
  :data:`THIRD_ROUND_PER_FILE`): the MIDI songs in Debian's ``freedoom`` WAD files (BSD-3),
  human-composed game music with drums by other composers than either split's, excerpts
  played as written. Where a song states no time signature its bar lines are unknown, so
  its clips train the beat alone (their ``downbeats`` are ``null`` and
  :mod:`train_activation` masks that target). The shipped network was trained without it:
  a network trained with it did not read dev better (``rhythm_tuning_history.md``).

A collection with fewer pieces than its share is played again under other plans. A second
round (:data:`SECOND_ROUND`) reads more of each collection's files and plays them, and more
game excerpts, under plans of their own: more pieces for the downbeat to be learned from. The
soundfonts are the development split's (FluidR3, TimGM6mb) and two no split uses (csound's
GM bank, an OPL3 FM bank); the test split's MuseScore General never is. Each clip is stored
as the shared front end's log-mel spectrogram and pitch-class profiles
(:func:`linernotes.features.extract_features_from_array`, exactly what the analyzer sees)
with its beat and downbeat times, in gitignored ``bench/data/beat_train_v3/`` (v2 was the
first round alone).

Usage::

    bench/beat_train_set --jobs 2      # render what is missing (cached), print the make-up
    bench/beat_train_set --include freedoom   # ... with the Freedoom round

Needs fluidsynth and the soundfonts and ``openttd-openmsx`` (apt); ``--include freedoom``
also Debian's ``freedoom``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import struct
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_set  # noqa: E402
import corpus_set  # noqa: E402

from linernotes.fileio import write_atomic  # noqa: E402

SET_VERSION = "beat_train_v3"
DATA = ROOT / "bench" / "data" / SET_VERSION
SEED = 24_0777
#: The dev split's soundfonts and two more no split uses (csound's GM bank, an OPL3 FM bank);
#: never the test split's MuseScore General.
SOUNDFONTS = (*corpus_set.SOUNDFONTS["dev"], "/usr/share/sounds/sf2/sf_GMbank.sf2",
              "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2")

#: Collection -> (texture, corpus path prefixes, clips, corpus files sampled).
COLLECTIONS: dict[str, tuple[str, tuple[str, ...], int, int]] = {
    "ryans": ("tune", ("ryansMammoth",), 120, 150),
    "essen": ("tune", ("essenFolksong",), 60, 3),
    "airds": ("tune", ("airdsAirs",), 45, 2),
    "nottingham": ("tune", ("nottingham-dataset", "miscFolk"), 40, 3),
    "chorales": ("chorale", ("bach/bwv",), 110, 140),
    "baroque": ("quartet", ("haydn", "corelli", "handel"), 40, 11),
    "monteverdi": ("polyphony", ("monteverdi",), 60, 70),
    "trecento": ("polyphony", ("trecento", "luca", "ciconia"), 50, 60),
}
N_GAME, N_SONGS = 90, 170
#: The second round: collection -> (clips, corpus files sampled), and its game excerpts. Its
#: plans are drawn with their own seed, so the first round's clips stay as they were (v2).
SECOND_ROUND: dict[str, tuple[int, int]] = {
    "ryans": (150, 300), "essen": (80, 3), "airds": (50, 2), "nottingham": (60, 3),
    "chorales": (150, 320), "baroque": (50, 40), "monteverdi": (40, 70), "trecento": (40, 60),
}
N_GAME_SECOND = 90
#: The third round: Freedoom's songs (BSD-3), read out of these WAD files (Debian's
#: ``freedoom``), and excerpts per song (fewer for a song too short for them).
FREEDOOM_WADS = ("/usr/share/games/doom/freedoom1.wad", "/usr/share/games/doom/freedoom2.wad")
THIRD_ROUND_PER_FILE = 3
#: Collections defined but left out of the manifest unless asked for (``--include``).
OPTIONAL = ("freedoom",)
TEXTURES = tuple(corpus_set.PROGRAMS)


def _pieces(name: str, files: int) -> list[dict[str, Any]]:
    """Readable pieces of a training collection (cached), minus every dev and test source,
    from ``files`` of its corpus files."""
    cache = DATA / "scores" / f"{name}_{files}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    _, prefixes, _, _ = COLLECTIONS[name]
    paths = corpus_set._corpus_paths(prefixes)
    rng = np.random.default_rng([SEED, len(name), files])
    paths = sorted(rng.permutation(paths)[:files].tolist())
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1)) as ex:
        pieces = [p for found in ex.map(corpus_set.read_scores, paths, chunksize=2)
                  for p in found]
    held = _held_out_sources()
    pieces = [p for p in pieces if p["path"] not in held]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(pieces))
    return pieces


def _held_out_sources() -> set[str]:
    """Sources of the dev and test clips (pieces and game files with their windows)."""
    split = json.loads(corpus_set.SPLIT_FILE.read_text())
    return {entry.split(":", 1)[1] for s in ("dev", "test") for entry in split[s]}


def _dev_game_windows() -> dict[str, list[float]]:
    split = json.loads(corpus_set.SPLIT_FILE.read_text())
    out: dict[str, list[float]] = {}
    for entry in split["dev"]:
        if entry.startswith("openttd:"):
            name, start = entry.split(":", 1)[1].split("@")
            out.setdefault(name, []).append(float(start))
    return out


def define_set(freedoom: bool = False) -> list[dict[str, Any]]:
    """Every training clip's plan: the first round drawn with :data:`SEED`, the second
    (:data:`SECOND_ROUND`) with its own seed, and with ``freedoom`` the third (its own seed
    too, so the first two are the same either way)."""
    first = {name: (count, files) for name, (_, _, count, files) in COLLECTIONS.items()}
    plans = _round_plans(np.random.default_rng(SEED), first, N_GAME, N_SONGS, "train")
    plans += _round_plans(np.random.default_rng([SEED, 2]), SECOND_ROUND, N_GAME_SECOND, 0,
                          "train2")
    if freedoom:
        plans += _freedoom_plans(np.random.default_rng([SEED, 3]), "train3")
    return plans


def freedoom_songs(folder: Path) -> list[Path]:
    """The MIDI songs (``D_*`` lumps) of :data:`FREEDOOM_WADS`, written once into ``folder``
    as ``{wad}_{lump}.mid``; the WADs that are not installed give none."""
    paths: list[Path] = []
    for wad in FREEDOOM_WADS:
        if not os.path.exists(wad):
            continue
        data = Path(wad).read_bytes()
        _, n_lumps, table = struct.unpack("<4sii", data[:12])
        for i in range(n_lumps):
            pos, size, raw = struct.unpack("<ii8s", data[table + 16 * i: table + 16 * i + 16])
            lump = raw.rstrip(b"\0").decode("ascii", "replace")
            if not lump.startswith("D_") or data[pos:pos + 4] != b"MThd":
                continue
            out = folder / f"{Path(wad).stem}_{lump}.mid"
            if not out.exists():
                write_atomic(out, data[pos:pos + size])
            paths.append(out)
    return sorted(paths)


def freedoom_excerpt_songs(folder: Path) -> Iterator[tuple[Path, Any, dict[str, bool]]]:
    """Each Freedoom song (:func:`freedoom_songs`, written into ``folder``) long enough for
    a game excerpt: its path, its ``PrettyMIDI`` and what a plan records of it (whether it
    has drums, whether it states a time signature, without which its bar lines are
    unknown)."""
    import pretty_midi

    for path in freedoom_songs(folder):
        song = pretty_midi.PrettyMIDI(str(path))
        if not song.instruments or song.get_end_time() < corpus_set.GAME_CLIP_S + 5:
            continue
        yield path, song, {"drums": any(i.is_drum for i in song.instruments),
                           "downbeats_known": bool(song.time_signature_changes)}


def _freedoom_plans(rng: np.random.Generator, prefix: str) -> list[dict[str, Any]]:
    """The third round: :data:`THIRD_ROUND_PER_FILE` excerpts of each Freedoom song, drawn
    like the game excerpts of ``bench/corpus_set``."""
    plans: list[dict[str, Any]] = []
    for path, song, traits in freedoom_excerpt_songs(DATA / "freedoom"):
        span = song.get_end_time() - corpus_set.GAME_CLIP_S
        count = int(np.clip(span // corpus_set.GAME_CLIP_S, 1, THIRD_ROUND_PER_FILE))
        for start in corpus_set._game_windows(str(path), count, rng):
            plans.append({"kind": "game", "collection": "freedoom", "texture": "game",
                          "source": str(path), "start_s": start, **traits})
    return _finish_plans(plans, rng, prefix)


def _round_plans(rng: np.random.Generator, collections: dict[str, tuple[int, int]],
                 n_game: int, n_songs: int, prefix: str) -> list[dict[str, Any]]:
    """One round's plans: ``collections`` (name -> clips, corpus files sampled), ``n_game``
    game excerpts and ``n_songs`` generator songs, named ``{prefix}_{i:04d}_{collection}``."""
    plans: list[dict[str, Any]] = []
    for name, (count, files) in collections.items():
        texture = COLLECTIONS[name][0]
        pieces = _pieces(name, files)
        # every piece once, then again with other plans while the collection is short
        order = rng.permutation(len(pieces))
        picks = np.concatenate([order, rng.integers(0, len(pieces), max(count - len(pieces), 0))])
        for i in picks[:count]:
            piece = pieces[int(i)]
            meter = piece["meter"]
            lo, hi = corpus_set.TEMPO_RANGES[meter]
            # any texture's instruments: chorales on a piano, tunes on strings
            played = texture if rng.random() < 0.6 else TEXTURES[int(rng.integers(len(TEXTURES)))]
            duple = meter in ("2/4", "4/4") and texture == "tune"
            progs = corpus_set.PROGRAMS[played]
            plans.append({
                "kind": "score", "collection": name, "files": files, "texture": texture,
                "source": piece["path"], "meter": meter,
                "bpm": round(float(np.exp(rng.uniform(np.log(lo * 0.9), np.log(hi * 1.1)))), 1),
                "transpose": int(rng.integers(-5, 7)), "velocity": int(rng.integers(55, 110)),
                "programs": list(progs[int(rng.integers(len(progs)))]),
                "rubato": float(rng.choice([0.0, 0.0, 0.03, 0.06])),
                "swing": float(rng.choice([0.62, 0.66])) if duple and rng.random() < 0.3 else 0.0,
                "drums": bool(rng.random() < 0.4), "seed": int(rng.integers(1 << 31)),
            })
    dev_windows = _dev_game_windows()
    game_files = sorted(glob.glob(corpus_set.SPLIT["openttd"][2][0]))
    while sum(p["kind"] == "game" for p in plans) < n_game:
        f = game_files[int(rng.integers(len(game_files)))]
        (start,) = corpus_set._game_windows(f, 1, rng)
        taken = dev_windows.get(Path(f).name, [])
        if any(abs(start - s) < corpus_set.GAME_CLIP_S for s in taken):
            continue
        plans.append({"kind": "game", "collection": "openttd", "texture": "game", "source": f,
                      "start_s": start, "drums": True})
    meters = ((2, 4), (3, 4), (4, 4), (4, 4), (6, 8), (12, 8), (9, 8), (2, 2), (5, 4), (7, 8))
    for _ in range(n_songs):
        num, den = meters[int(rng.integers(len(meters)))]
        plans.append({"kind": "song", "collection": "generator", "texture": "song",
                      "source": "midi_songs", "numerator": num, "denominator": den,
                      "style": ("band", "piano", "strings", "electronic")[int(rng.integers(4))],
                      "bpm": round(float(np.exp(rng.uniform(np.log(55), np.log(180)))), 1),
                      "tonic": int(rng.integers(12)),
                      "mode": ("major", "minor")[int(rng.integers(2))],
                      "drums": bool(rng.random() < 0.4),
                      "drift": float(rng.choice([0.0, 0.0, 0.03, 0.06])),
                      "humanize_ms": float(rng.choice([0.0, 8.0, 15.0])),
                      "seed": int(rng.integers(1 << 31))})
    return _finish_plans(plans, rng, prefix)


def _finish_plans(plans: list[dict[str, Any]], rng: np.random.Generator, prefix: str
                  ) -> list[dict[str, Any]]:
    """Each plan's soundfont, degradation and name (``{prefix}_{i:04d}_{collection}``)."""
    for i, p in enumerate(plans):
        p["soundfont"] = SOUNDFONTS[int(rng.integers(len(SOUNDFONTS)))]
        p["degradation"] = corpus_set.DEGRADATIONS[int(rng.integers(len(corpus_set.DEGRADATIONS)))]
        p["param"] = (accuracy_set.draw_degradation_param(p["degradation"], rng)
                      if p["degradation"] in accuracy_set.DEGRADATIONS else None)
        p["name"] = f"{prefix}_{i:04d}_{p['collection']}"
    return plans


def _midi_and_truth(plan: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    if plan["kind"] == "game":
        return corpus_set.game_clip_midi(plan["source"], plan)
    if plan["kind"] == "score":
        piece = next(p for p in _pieces(plan["collection"], plan["files"])
                     if p["path"] == plan["source"])
        return corpus_set.score_clip_midi(piece, plan)
    songs = accuracy_set.song_module()
    spec = songs.SongSpec(tempo_bpm=plan["bpm"], tonic=plan["tonic"], mode=plan["mode"],
                          numerator=plan["numerator"], denominator=plan["denominator"],
                          style=plan["style"], drums=plan["drums"], duration_s=30.0,
                          tempo_drift=plan["drift"], seed=plan["seed"], lead_in_s=0.5,
                          humanize_ms=plan["humanize_ms"])
    pm, truth = songs.make_song(spec)
    return pm, {"beats": truth.beats, "downbeats": truth.downbeats, "bpm": truth.bpm,
                "beats_per_bar": truth.beats_per_bar, "duration_s": truth.duration_s}


def render(plan: dict[str, Any]) -> dict[str, Any] | None:
    """Render one clip into its features file (unless it is there); ``None`` if it fails."""
    from linernotes.analyzers.rhythm.beat_features import pitch_class_profiles
    from linernotes.features import extract_features_from_array

    out = DATA / "clips" / f"{plan['name']}.npz"
    try:
        pm, truth = _midi_and_truth(plan)
        if not out.exists():
            with tempfile.TemporaryDirectory() as tmp:
                raw = Path(tmp) / "raw.wav"
                audio = accuracy_set.song_module().render_midi(
                    pm, raw, sr=corpus_set.SR, soundfont=plan["soundfont"],
                    duration_s=truth["duration_s"])
                if plan["degradation"] in accuracy_set.DEGRADATIONS:
                    audio = accuracy_set.apply_degradation(
                        audio, plan["degradation"], plan["param"], tmp=Path(tmp),
                        seed=(SEED, len(plan["name"])))
                elif plan["degradation"] == "reverb":
                    audio = _reverb(audio, corpus_set.SR, np.random.default_rng(len(plan["name"])))
            mono = np.asarray(audio, np.float32).mean(axis=1)
            feats = extract_features_from_array(mono, corpus_set.SR)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp_out = out.with_suffix(".tmp.npz")
            fp = feats.params
            chroma, bass = pitch_class_profiles(feats.pitch_spectrum, fp.pitch_bin_midi())
            np.savez_compressed(tmp_out, mel_db=feats.mel_db.astype(np.float16),
                                chroma=chroma.astype(np.float32), bass=bass.astype(np.float32),
                                hop_ratio=fp.pitch_hop_length / fp.hop_length,
                                frame_rate=fp.frame_rate)
            os.replace(tmp_out, out)
    except Exception as exc:  # a piece that will not play is left out, named
        print(f"{plan['name']} ({plan['source']}): {exc}", file=sys.stderr)
        return None
    return {"name": plan["name"], "collection": plan["collection"], "texture": plan["texture"],
            "drums": plan["drums"], "file": str(out.relative_to(DATA)),
            "beats": [round(float(t), 4) for t in truth["beats"]],
            # unknown bar lines (a song with no time signature): the beat alone is trained
            "downbeats": ([round(float(t), 4) for t in truth["downbeats"]]
                          if plan.get("downbeats_known", True) else None)}


def _reverb(audio: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A decaying-noise room (0.6 to 1.8 s), mixed 30 to 50 % wet."""
    t60 = rng.uniform(0.6, 1.8)
    n = int(t60 * sr)
    ir = rng.normal(0, 1, n) * np.exp(-6.9 * np.arange(n) / n)
    ir /= np.sqrt(np.sum(ir ** 2))
    import scipy.signal

    wet = scipy.signal.fftconvolve(audio, ir[:, None], axes=0)[: len(audio)]
    mix = rng.uniform(0.3, 0.5)
    out = (1 - mix) * audio + mix * wet
    return (out / max(float(np.max(np.abs(out))), 1e-9) * 0.89).astype(np.float32)


def ensure_set(jobs: int, exclude: tuple[str, ...] = OPTIONAL) -> list[dict[str, Any]]:
    """Render what is missing and write the manifest (without the ``exclude`` collections,
    by default the :data:`OPTIONAL` ones); returns its clips."""
    plans = [p for p in define_set(freedoom="freedoom" not in exclude)
             if p["collection"] not in exclude]
    with ProcessPoolExecutor(jobs) as ex:
        clips = [c for c in ex.map(render, plans, chunksize=2) if c is not None]
    (DATA / "manifest.json").write_text(json.dumps({"clips": clips}))
    return clips


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--exclude", default="",
                    help="collections left out of the manifest, e.g. 'openttd' (GPL-2 MIDI) "
                         "for weights trained on permissively licensed material only")
    ap.add_argument("--include", default="",
                    help=f"optional collections to add ({', '.join(OPTIONAL)})")
    args = ap.parse_args(argv)
    include = set(filter(None, args.include.split(",")))
    if include - set(OPTIONAL):
        ap.error(f"--include takes {', '.join(OPTIONAL)}")
    if "freedoom" in include and not any(os.path.exists(w) for w in FREEDOOM_WADS):
        ap.error(f"--include freedoom: none of {', '.join(FREEDOOM_WADS)} "
                 "(apt-get install freedoom)")
    exclude = {*filter(None, args.exclude.split(",")), *(set(OPTIONAL) - include)}
    clips = ensure_set(args.jobs, tuple(sorted(exclude)))
    print(f"{len(clips)} training clips")
    for field in ("collection", "texture", "drums"):
        counts = Counter(str(c[field]) for c in clips)
        print(f"  {field:11s} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
