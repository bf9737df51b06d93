"""``bench/charted_set``: how a charted song becomes scored clips (no download here: the
package is faked with a song folder of the game's layout)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

pretty_midi = pytest.importorskip("pretty_midi")
soundfile = pytest.importorskip("soundfile")

SR = 8000


def _clicks(duration_s: float, period_s: float, lead_in_s: float, freq: float) -> np.ndarray:
    """A stereo stem: a short tone every ``period_s`` after ``lead_in_s`` of silence."""
    y = np.zeros(int(duration_s * SR), dtype=np.float32)
    burst = 0.6 * np.sin(2 * np.pi * freq * np.arange(int(0.05 * SR)) / SR)
    for t in np.arange(lead_in_s, duration_s - 0.1, period_s):
        i = int(t * SR)
        y[i: i + len(burst)] += burst
    return np.stack([y, y], axis=1)


def _song(folder: Path, *, bpm: float, with_signature: bool) -> None:
    """A song folder as Frets on Fire lays it out: stems, a chart, song.ini."""
    folder.mkdir(parents=True)
    period = 60.0 / bpm
    soundfile.write(folder / "song.ogg", _clicks(45.0, period, 4.0, 440.0), SR)
    soundfile.write(folder / "guitar.ogg", _clicks(45.0, period, 4.0, 660.0), SR)
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    if with_signature:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    guitar = pretty_midi.Instrument(program=30)
    guitar.notes.append(pretty_midi.Note(velocity=100, pitch=60, start=4.0, end=4.2))
    pm.instruments.append(guitar)
    pm.write(str(folder / "notes.mid"))
    if not with_signature:  # pretty_midi writes a 4/4 of its own; a chart may state none
        import mido

        chart = mido.MidiFile(str(folder / "notes.mid"))
        for track in chart.tracks:
            track[:] = [m for m in track if m.type != "time_signature"]
        chart.save(str(folder / "notes.mid"))
    (folder / "song.ini").write_text(f"[song]\nname = Song at {bpm:g}\nartist = Nobody\n")


@pytest.fixture
def charted(tmp_path: Path, monkeypatch):
    import charted_set
    import real_set

    songs = tmp_path / "packages" / "fretsonfire-songs-demo" / charted_set.SONGS
    _song(songs / "demo" / "fast one", bpm=150.0, with_signature=True)
    _song(songs / "demo" / "slow_one", bpm=100.0, with_signature=False)
    monkeypatch.setattr(charted_set, "DATA", tmp_path)
    monkeypatch.setattr(charted_set, "PACKAGES", {"fretsonfire-songs-demo": "MIT"})
    monkeypatch.setattr(real_set, "fetch_package", lambda package, data, folder: (
        data / "packages" / package, "1.0-1"))
    return charted_set


def test_each_song_gives_the_whole_track_and_three_crops_with_the_charts_beats(charted) -> None:
    clips = charted.ensure_set()
    assert [c["name"] for c in clips[:4]] == [
        "demo_fast_one", "demo_fast_one@crop20", "demo_fast_one@crop50", "demo_fast_one@crop80"]
    assert len(clips) == 8
    whole, crop = clips[0], clips[2]
    assert whole["song"] == "Song at 150" and whole["licence"] == "MIT"
    assert whole["truth"]["bpm"] == pytest.approx(150.0, rel=1e-3)
    # beats only where the mix is audible (its 4 s silent lead-in has none)
    assert whole["truth"]["beats"][0] >= 4.0 - 1e-6
    assert np.allclose(np.diff(whole["truth"]["beats"]), 0.4, atol=1e-3)
    # a crop's beats are the song's, shifted to the crop's start, on the same grid
    assert crop["start_s"] == pytest.approx(min(0.5 * 45.0, 15.0), abs=0.01)
    assert crop["truth"]["duration_s"] == pytest.approx(30.0)
    song_beats = np.array(whole["truth"]["beats"])
    for t in crop["truth"]["beats"]:
        assert np.min(np.abs(song_beats - (t + crop["start_s"]))) < 1e-3
    assert whole["downbeats_known"] and whole["truth"]["numerator"] == 4
    assert np.allclose(np.diff(whole["truth"]["downbeats"]), 1.6, atol=1e-3)
    # no time signature in the chart: the bar lines are unknown, as in bench/game_dev_set
    slow = next(c for c in clips if c["name"] == "demo_slow_one")
    assert not slow["downbeats_known"]
    assert json.loads((charted.DATA / "manifest.json").read_text())["clips"] == clips


def test_the_stems_are_summed_and_only_scaled_down_when_the_sum_would_clip(charted,
                                                                           tmp_path) -> None:
    folder = tmp_path / "packages" / "fretsonfire-songs-demo" / charted.SONGS / "demo" / "slow_one"
    mix, sr = charted.mix_stems(folder)
    song, _ = soundfile.read(folder / "song.ogg", always_2d=True)
    guitar, _ = soundfile.read(folder / "guitar.ogg", always_2d=True)
    assert sr == SR
    peak = np.abs(song + guitar).max()
    assert peak > 0.99 and np.abs(mix).max() == pytest.approx(0.99, abs=1e-3)
    assert np.allclose(mix, (song + guitar) * (0.99 / peak), atol=1e-4)
    with pytest.raises(ValueError, match="no stem"):
        charted.mix_stems(tmp_path)


def test_the_clips_are_written_once_and_kept(charted) -> None:
    first = charted.ensure_set()
    stamp = (charted.DATA / first[0]["file"]).stat().st_mtime_ns
    again = charted.ensure_set()
    assert again == first
    assert (charted.DATA / first[0]["file"]).stat().st_mtime_ns == stamp
    assert not list((charted.DATA / "clips").glob("*.part.flac"))
