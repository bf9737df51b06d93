"""Real recordings with labels: the Frets on Fire song packs, whose charts give the beat.

``bench/real_set``'s soundtracks have no labels, and every labelled set here is rendered from
scores. Frets on Fire's song packs in Debian are produced recordings (guitar-led rock and
metal, mixed from a backing stem and a guitar stem) with a chart made for the game: a MIDI file
whose notes the player must hit in time with the audio, so its tempo map is the song's beat
grid. These are the only labelled produced recordings we have found in Debian's archive, and
the issue's own trial of "real game-music tracks with tempos taken from their charts" reads
the same kind of material.

* The songs of ``fretsonfire-songs-muldjord`` (Muldjord, CC BY-SA 3.0) and
  ``fretsonfire-songs-sectoid`` (Sectoid, MIT-style), fetched with ``apt-get download`` (no
  installation, no root) into gitignored ``bench/data/charted_v1/``.
* Each song's stems (``song.ogg``, ``guitar.ogg``, ``rhythm.ogg`` where present) are summed as
  the game plays them, into one FLAC of the whole song; three 30 s crops from 20, 50 and 80 %
  of its length are cut as ``bench/consistency --set real`` cuts them
  (:func:`real_set.crop_begins`).
* The truth is the chart's tempo map (``pretty_midi`` beats from time 0, the game's own
  alignment; every song here has ``delay`` 0), kept where the mix is not silent. A chart
  that states no time signature has unknown bar lines (``downbeats_known`` false), as in
  ``bench/game_dev_set``. Checked once before any analysis was run: the guitar chart's notes
  sit within 30 ms of the guitar stem's onsets (cross-correlation), inside the 70 ms beat
  window.
* There is no key label. With eight songs the set is too small to split: it is a test set
  only, never used to choose a setting.

Usage::

    bench/charted_set                  # fetch, mix and cut what is missing, print the make-up
    bench/measure --split charted      # linernotes against librosa, essentia and madmom
"""

from __future__ import annotations

import argparse
import configparser
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import real_set  # noqa: E402

from linernotes.fileio import content_hash, write_atomic  # noqa: E402

SET_VERSION = "charted_v1"
DATA = ROOT / "bench" / "data" / SET_VERSION
SONGS = "usr/share/games/fretsonfire/data/songs"
#: Package -> its licence as its copyright file states it.
PACKAGES = {
    "fretsonfire-songs-muldjord": "CC BY-SA 3.0",
    "fretsonfire-songs-sectoid": "MIT-style (Expat)",
}
#: The stems Frets on Fire plays together.
STEMS = ("song.ogg", "guitar.ogg", "rhythm.ogg")
#: Truth beats are kept where the mix's loudness is within this of its loudest moment.
AUDIBLE_DB = 40.0


def mix_stems(folder: Path) -> tuple[np.ndarray, int]:
    """The song as the game plays it: its stems summed (padded to the longest), scaled down
    only if the sum would clip. Returns ``(frames, channels)`` samples and the sample rate."""
    import soundfile

    parts, rates = [], set()
    for name in STEMS:
        if (folder / name).is_file():
            audio, sr = soundfile.read(str(folder / name), always_2d=True, dtype="float32")
            parts.append(audio if audio.shape[1] == 2 else np.repeat(audio[:, :1], 2, axis=1))
            rates.add(sr)
    if not parts:
        raise ValueError(f"{folder}: no stem of {', '.join(STEMS)}")
    if len(rates) != 1:
        raise ValueError(f"{folder}: stems at different sample rates {sorted(rates)}")
    mix = np.zeros((max(len(p) for p in parts), 2), dtype=np.float32)
    for p in parts:
        mix[: len(p)] += p
    peak = float(np.abs(mix).max(initial=0.0))
    return (mix * (0.99 / peak) if peak > 0.99 else mix), rates.pop()


def audible_span(audio: np.ndarray, sr: int, window_s: float = 0.1) -> tuple[float, float]:
    """Start of the first and end of the last ``window_s`` window whose RMS is within
    :data:`AUDIBLE_DB` of the loudest one: the chart's grid runs on through lead-in
    silence and after the fade, where no beat is heard."""
    mono = audio.mean(axis=1)
    hop = max(1, round(window_s * sr))
    n = len(mono) // hop
    if n == 0:
        return 0.0, len(mono) / sr
    rms = np.sqrt(np.mean(mono[: n * hop].reshape(n, hop) ** 2, axis=1)) + 1e-12
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -AUDIBLE_DB)
    return float(loud[0] * hop / sr), float((loud[-1] + 1) * hop / sr)


@dataclass(frozen=True)
class ChartGrid:
    """A chart's beats and bar lines (seconds of the song) and its metre."""

    beats: np.ndarray
    downbeats: np.ndarray
    numerator: int
    states_time_signature: bool

    @property
    def compound(self) -> bool:
        return self.numerator in (6, 9, 12)


def chart_grid(notes_mid: Path, end_s: float) -> ChartGrid:
    """The chart's tempo map as beats and bar lines up to ``end_s``: past the chart's last
    event the map goes on at its last tempo."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(notes_mid))
    beats = pm.get_beats()
    downs = pm.get_downbeats()
    sigs = pm.time_signature_changes
    grid = ChartGrid(beats, downs, sigs[0].numerator if sigs else 4, bool(sigs))
    if len(beats) < 2 or beats[-1] >= end_s:
        return grid
    step = beats[-1] - beats[-2]
    beats = np.concatenate([beats, np.arange(beats[-1] + step, end_s + step, step)])
    if len(downs) and downs[-1] < end_s:
        bar = (grid.numerator // 3 if grid.compound else grid.numerator) * step
        downs = np.concatenate([downs, np.arange(downs[-1] + bar, end_s + bar, bar)])
    return ChartGrid(beats, downs, grid.numerator, grid.states_time_signature)


def chart_truth(grid: ChartGrid, span_s: tuple[float, float], *, origin_s: float,
                duration_s: float) -> dict[str, Any]:
    """The truth of a clip starting at ``origin_s`` of the song: the grid's beats and bar
    lines within ``span_s`` (where the clip is audible), in seconds of the clip."""
    start, end = span_s
    keep = grid.beats[(grid.beats >= start) & (grid.beats <= end)]
    if len(keep) < 2:
        raise ValueError(f"fewer than two charted beats in {start:.1f}-{end:.1f} s")
    downs = grid.downbeats[(grid.downbeats >= start) & (grid.downbeats <= end)]
    return {"bpm": round(60.0 / float(np.median(np.diff(keep))), 3),
            "beats": [round(float(t - origin_s), 4) for t in keep],
            "downbeats": [round(float(t - origin_s), 4) for t in downs],
            "numerator": grid.numerator, "compound": grid.compound,
            "beats_per_bar": grid.numerator // 3 if grid.compound else grid.numerator,
            "tonic": None, "mode": None, "duration_s": round(duration_s, 3),
            "states_time_signature": grid.states_time_signature}


def _song_name(folder: Path) -> str:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(folder / "song.ini")
    return ini.get("song", "name", fallback=folder.name)


def cut_clips(audio: np.ndarray, sr: int, grid: ChartGrid, base: str, fields: dict[str, Any],
              data: Path) -> list[dict[str, Any]]:
    """The whole song and its three crops (:func:`real_set.crop_begins`; none for a song
    no longer than a crop, whose crops would all be the whole song), each written under
    ``data/clips`` unless there, with its truth from ``grid`` where the mix is audible.
    ``fields`` (song, package, licence, collection, texture, drums, ...) go into every
    manifest entry."""
    import soundfile

    duration = len(audio) / sr
    first, last = audible_span(audio, sr)
    crops = real_set.crop_begins(duration) if duration > real_set.CROP_S else {}
    cuts = [("whole", 0.0, duration)] + [
        (name, begin, real_set.CROP_S) for name, begin in crops.items()]
    clips = []
    for extent, begin, length in cuts:
        name = base if extent == "whole" else f"{base}@{extent}"
        out = data / "clips" / f"{name}.flac"
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            part = out.with_suffix(".part.flac")
            piece = audio[round(begin * sr): round((begin + length) * sr)]
            soundfile.write(str(part), piece, sr, subtype="PCM_16")
            part.rename(out)
        truth = chart_truth(grid, (max(begin, first), min(begin + length, last)),
                            origin_s=begin, duration_s=min(length, duration - begin))
        clips.append({
            "name": name, **fields, "extent": extent, "start_s": round(begin, 3),
            "downbeats_known": truth["states_time_signature"],
            "file": str(out.relative_to(data)), "sha256": content_hash(out), "truth": truth})
    return clips


def song_clips(folder: Path, package: str, version: str) -> list[dict[str, Any]]:
    """The whole song and its three crops, written under ``DATA/clips`` unless there."""
    base = f"{package.rsplit('-', 1)[-1]}_{folder.name.replace(' ', '_').lower()}"
    audio, sr = mix_stems(folder)
    grid = chart_grid(folder / "notes.mid", len(audio) / sr)
    fields = {"song": _song_name(folder), "package": package, "version": version,
              "licence": PACKAGES[package], "collection": package.rsplit("-", 1)[-1],
              "texture": "recorded", "drums": True}
    try:
        return cut_clips(audio, sr, grid, base, fields, DATA)
    except ValueError as exc:
        raise ValueError(f"{folder / 'notes.mid'}: {exc}") from exc


def ensure_set() -> list[dict[str, Any]]:
    """Fetch, mix and cut what is missing, write the manifest and return its clips."""
    clips: list[dict[str, Any]] = []
    for package in PACKAGES:
        unpacked, version = real_set.fetch_package(package, DATA, SONGS)
        for chart in sorted((unpacked / SONGS).rglob("notes.mid")):
            clips += song_clips(chart.parent, package, version)
    write_atomic(DATA / "manifest.json", json.dumps({"clips": clips}, indent=1))
    return clips


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.parse_args(argv)
    clips = ensure_set()
    whole = [c for c in clips if c["extent"] == "whole"]
    minutes = sum(c["truth"]["duration_s"] for c in whole) / 60.0
    print(f"{len(whole)} charted songs ({minutes:.0f} min) and {len(clips) - len(whole)} "
          f"crops of {real_set.CROP_S:g} s in {DATA}")
    for c in whole:
        t = c["truth"]
        metre = f"{t['numerator']}/4" if c["downbeats_known"] else "no time signature"
        print(f"  {c['name']:40s} {t['bpm']:6.1f} BPM  {t['duration_s']:6.1f} s  {metre}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
