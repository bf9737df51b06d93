"""A second development set: one excerpt of each of Freedoom's songs, human-composed game music.

``bench/corpus_set``'s dev split holds one game collection (OpenTTD), and its kit parts are all
one pattern (kick on the downbeat, snare on the other beats). This set is the place to check
what game music written otherwise does to the rhythm stage: Freedoom's songs (the MIDI lumps of
Debian's ``freedoom`` WAD files, BSD-3) put snares between beats, play at the slower of two
readings, and change tempo. Its composers are in neither split and in no training material of
the shipped network (``bench/beat_train_set`` plays them only with ``--include freedoom``; a
network trained so must not be judged here).

* One :data:`corpus_set.GAME_CLIP_S` excerpt per song, drawn as ``bench/corpus_set`` draws game
  excerpts, played as written with the dev split's soundfonts, no degradation.
* The truth is the file's own tempo map and time signatures, as for OpenTTD. Songs converted
  from Doom's MUS format carry no tempo of their own (every one reads 95 BPM at 89 ticks a
  quarter), so they are left out. A song that states no time signature has unknown bar lines:
  its clip counts for tempo and beats only (``downbeats_known``).
* Like the dev split it is for choosing; a figure for a claim comes from the test split.

Usage::

    bench/game_dev_set --jobs 2          # render what is missing, print the make-up
    bench/activation_sweep --set game    # the rhythm stage's figures on it
    bench/measure --split game           # linernotes against librosa, essentia and madmom

Needs fluidsynth, the dev soundfonts and Debian's ``freedoom`` (apt).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import accuracy_set  # noqa: E402
import beat_train_set  # noqa: E402
import corpus_set  # noqa: E402

from linernotes.fileio import content_hash, write_atomic  # noqa: E402

SET_VERSION = "game_dev_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
SEED = 99
#: Ticks a quarter and tempo of a MIDI file converted from MUS: no tempo of the composer's.
MUS_CONVERTED = (89, 95.0)


def _mus_converted(song: Any) -> bool:
    _, bpm = song.get_tempo_changes()
    return (song.resolution, round(float(bpm[0]), 1) if len(bpm) else None) == MUS_CONVERTED


def define_set() -> list[dict[str, Any]]:
    """Every clip's plan: one excerpt of each Freedoom song with a tempo of its own."""
    rng = np.random.default_rng(SEED)
    plans: list[dict[str, Any]] = []
    for path, song, traits in beat_train_set.freedoom_excerpt_songs(DATA / "songs"):
        # drawn for every song, kept or not, so that leaving songs out moves no other excerpt
        (start,) = corpus_set._game_windows(str(path), 1, rng)
        fonts = corpus_set.SOUNDFONTS["dev"]
        soundfont = fonts[int(rng.integers(len(fonts)))]
        if _mus_converted(song):
            continue
        plans.append({"name": f"game_{path.stem}", "split": "game_dev", "collection": "freedoom",
                      "texture": "game", "source": str(path.relative_to(DATA)),
                      "start_s": start, "soundfont": soundfont, **traits})
    return plans


def render(plan: dict[str, Any]) -> dict[str, Any]:
    """Render one clip (unless its audio is there) and return its manifest entry."""
    wav = DATA / "clips" / f"{plan['name']}.wav"
    pm, truth = corpus_set.game_clip_midi(str(DATA / plan["source"]), plan)
    if not wav.exists():
        wav.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            audio = accuracy_set.song_module().render_midi(
                pm, Path(tmp) / "raw.wav", sr=corpus_set.SR, soundfont=plan["soundfont"],
                duration_s=truth["duration_s"])
        accuracy_set._write_wav(audio, wav)
    return {**plan, "file": str(wav.relative_to(DATA)), "sha256": content_hash(wav),
            "truth": truth}


def ensure_set(jobs: int) -> list[dict[str, Any]]:
    """Render what is missing, write the manifest and return its clips."""
    if not any(os.path.exists(w) for w in beat_train_set.FREEDOOM_WADS):
        raise SystemExit(f"bench/game_dev_set: none of {', '.join(beat_train_set.FREEDOOM_WADS)}"
                         " (apt-get install freedoom)")
    plans = define_set()
    with ProcessPoolExecutor(jobs) as ex:
        clips = list(ex.map(render, plans, chunksize=1))
    write_atomic(DATA / "manifest.json", json.dumps({"clips": clips}))
    return clips


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    clips = ensure_set(args.jobs)
    known = sum(c["downbeats_known"] for c in clips)
    print(f"{len(clips)} game dev clips ({known} with known bar lines, "
          f"{sum(c['drums'] for c in clips)} with drums) in {DATA}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
