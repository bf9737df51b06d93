"""The benchmark's Freedoom sets: which songs they read out of the WAD files.

``bench/beat_train_set --include freedoom`` trains on Freedoom's songs; ``bench/game_dev_set``
keeps one excerpt of each as a second development set and leaves out the songs that carry no
tempo of their own.
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

pretty_midi = pytest.importorskip("pretty_midi")

def _song(bpm: float, resolution: int, seconds: float, time_signature: bool) -> bytes:
    song = pretty_midi.PrettyMIDI(initial_tempo=bpm, resolution=resolution)
    piano = pretty_midi.Instrument(program=0)
    step = 60.0 / bpm
    piano.notes = [pretty_midi.Note(90, 60, step * i, step * i + 0.2)
                   for i in range(int(seconds / step))]
    song.instruments.append(piano)
    song.time_signature_changes.append(pretty_midi.TimeSignature(3, 4, 0.0))
    buf = io.BytesIO()
    song.write(buf)
    if time_signature:
        return buf.getvalue()
    # pretty_midi always writes a signature: the file without one is edited with mido
    import mido

    raw = mido.MidiFile(file=io.BytesIO(buf.getvalue()))
    for track in raw.tracks:
        track[:] = [m for m in track if m.type != "time_signature"]
    out = io.BytesIO()
    raw.save(file=out)
    return out.getvalue()


def _wad(path: Path, lumps: list[tuple[bytes, bytes]]) -> Path:
    """A WAD file holding ``lumps`` (name, data), as Doom engines read them."""
    body, table, pos = b"", b"", 12
    for name, data in lumps:
        table += struct.pack("<ii8s", pos, len(data), name)
        body += data
        pos += len(data)
    path.write_bytes(struct.pack("<4sii", b"IWAD", len(lumps), pos) + body + table)
    return path


def test_freedoom_songs_are_read_out_of_a_wad(tmp_path: Path, monkeypatch) -> None:
    """``bench/beat_train_set`` finds the music lumps (``D_*`` holding a MIDI file) of a WAD
    and writes each once as a MIDI file that pretty_midi reads; other lumps and a music lump
    that is not MIDI are skipped."""
    import beat_train_set

    wad = _wad(tmp_path / "test.wad", [(b"D_E1M1", _song(100.0, 220, 4.8, False)),
                                       (b"PLAYPAL", b"\x00" * 30),
                                       (b"D_MUSFMT", b"MUS\x1a..")])
    monkeypatch.setattr(beat_train_set, "FREEDOOM_WADS", (str(wad), str(tmp_path / "none.wad")))

    paths = beat_train_set.freedoom_songs(tmp_path / "songs")
    assert [p.name for p in paths] == ["test_D_E1M1.mid"]
    read = pretty_midi.PrettyMIDI(str(paths[0]))
    assert len(read.instruments[0].notes) == 8
    assert read.get_tempo_changes()[1][0] == pytest.approx(100.0)
    assert beat_train_set.freedoom_songs(tmp_path / "songs") == paths  # written once
    # asked for while not installed: a clear error before anything is rendered
    monkeypatch.setattr(beat_train_set, "FREEDOOM_WADS", (str(tmp_path / "none.wad"),))
    with pytest.raises(SystemExit):
        beat_train_set.main(["--include", "freedoom"])


def test_game_dev_set_leaves_out_songs_with_no_tempo_of_their_own(tmp_path: Path,
                                                                    monkeypatch) -> None:
    """A song converted from MUS (95 BPM at 89 ticks a quarter) has no composer's tempo to
    score against; a song too short for an excerpt is left out; a song with no time signature
    is kept with unknown bar lines."""
    import beat_train_set
    import game_dev_set

    wad = _wad(tmp_path / "freedoom1.wad", [
        (b"D_E1M1", _song(120.0, 96, 60.0, True)),
        (b"D_E1M2", _song(140.0, 96, 60.0, False)),
        (b"D_E1M3", _song(95.0, 89, 60.0, False)),  # converted from MUS
        (b"D_E1M4", _song(120.0, 96, 20.0, True)),  # too short
    ])
    monkeypatch.setattr(beat_train_set, "FREEDOOM_WADS", (str(wad),))
    monkeypatch.setattr(game_dev_set, "DATA", tmp_path / "set")
    plans = game_dev_set.define_set()
    assert [(p["name"], p["downbeats_known"]) for p in plans] == [
        ("game_freedoom1_D_E1M1", True), ("game_freedoom1_D_E1M2", False)]
    assert all(p["start_s"] <= 60.0 - 40.0 for p in plans)
    # leaving a song out moves no other excerpt: the same draws as with it kept
    monkeypatch.setattr(game_dev_set, "MUS_CONVERTED", (0, 0.0))
    kept = {p["name"]: p for p in game_dev_set.define_set()}
    assert len(kept) == 3
    assert all(kept[p["name"]] == p for p in plans)


def test_activation_sweep_scores_no_bar_metric_where_bar_lines_are_unknown(
        tmp_path: Path, monkeypatch) -> None:
    """A game dev clip whose song states no time signature counts for tempo and beats only:
    its bar metrics are left out of the means, not scored as misses."""
    import activation_sweep
    import corpus_features
    import numpy as np
    import scipy.io.wavfile

    monkeypatch.setattr(corpus_features, "CACHE", tmp_path / "cache")
    sr, bpm = 22050, 120.0
    beats = np.arange(0.5, 14.5, 60.0 / bpm)
    y = np.zeros(15 * sr, np.float32)
    t = np.arange(int(0.04 * sr)) / sr
    for k, start in enumerate(beats):
        tone = (600.0 if k % 4 == 0 else 1500.0)
        i = int(start * sr)
        y[i:i + t.size] += (0.8 * np.sin(2 * np.pi * tone * t) * np.exp(-t * 80)).astype(np.float32)
    scipy.io.wavfile.write(tmp_path / "clicks.wav", sr, (y * 32767).astype(np.int16))
    truth = {"bpm": bpm, "beats": beats.tolist(), "downbeats": beats[::4].tolist(),
             "numerator": 4, "compound": False, "beats_per_bar": 4}
    clip = {"name": "test_clicks", "file": "clicks.wav", "truth": truth}

    known = activation_sweep._clip_scores((clip, [{}], str(tmp_path)))[0]
    unknown = activation_sweep._clip_scores(
        ({**clip, "downbeats_known": False}, [{}], str(tmp_path)))[0]
    assert known["acc1"] == unknown["acc1"] == 100.0
    assert known["beat_f"] == unknown["beat_f"] > 90.0
    bar_keys = ("downbeat_f", "bpb", "numerator")
    assert all(known.get(k) is not None for k in bar_keys)
    assert all(unknown.get(k) is None for k in bar_keys)
    assert activation_sweep._mean([None, 50.0, 100.0]) == 75.0


def test_measure_scores_no_bar_metric_where_bar_lines_are_unknown() -> None:
    """``bench/measure --split game`` leaves a song with no time signature out of the bar
    metrics (and every game clip out of the key) for every tool, instead of scoring misses."""
    import accuracy_scores
    import measure

    truth = {"bpm": 120.0, "beats": [0.5 + 0.5 * i for i in range(60)],
             "downbeats": [0.5 + 2.0 * i for i in range(15)], "numerator": 4,
             "compound": False, "beats_per_bar": 4, "tonic": None}
    estimate = {"bpm": 120.0, "beats": truth["beats"], "downbeats": truth["beats"][1::4],
                "numerator": 3, "beats_per_bar": 3, "compound": False}
    known = {"truth": truth}
    unknown = {"truth": truth, "downbeats_known": False}
    scored = accuracy_scores.score_clip(truth, estimate, measure.caps("madmom", known))
    assert scored["downbeat_f"] == 0.0 and scored["bpb"] == 0.0
    assert "key_relation" not in scored
    scored = accuracy_scores.score_clip(truth, estimate, measure.caps("madmom", unknown))
    assert scored["acc1"] == 100.0 and scored["beat_f"] > 90.0
    assert not {"downbeat_f", "bpb", "numerator"} & scored.keys()


def test_fit_learned_downbeat_reads_the_rotations_of_a_clip_and_fits_them(
        tmp_path: Path, monkeypatch) -> None:
    """``bench/fit_learned_downbeat`` scores every rotation of the decoded bars of a clip
    through the real rhythm stage, and its fit learns to pick the rotation the evidence
    marks, also for a collection it has not seen."""
    import corpus_features
    import fit_learned_downbeat as fld
    import numpy as np
    import scipy.io.wavfile

    sys.path.insert(0, str(ROOT / "tests"))
    from rhythm_signals import SR, band_track

    monkeypatch.setattr(corpus_features, "CACHE", tmp_path / "cache")
    y, beats, downs = band_track(120.0, 4, 16.0)
    scipy.io.wavfile.write(tmp_path / "band.wav", SR, (y * 32767).astype(np.int16))
    truth = {"bpm": 120.0, "beats": beats.tolist(), "downbeats": downs.tolist(),
             "numerator": 4, "compound": False, "beats_per_bar": 4}
    clip = {"name": "dev_band", "collection": "band", "file": "band.wav", "truth": truth}
    row = fld.clip_rotations((clip, str(tmp_path)))
    assert row is not None and row["bar"] == 4
    assert np.asarray(row["means"]).shape == (4, len(fld.LEARNED_DOWNBEAT_EVIDENCE))
    assert max(row["f"]) >= fld.MIN_F and row["truth"] == int(np.argmax(row["f"]))
    assert sorted(row["f"])[-2] < 50.0  # the other rotations miss the bar lines
    assert fld.clip_rotations(({**clip, "downbeats_known": False}, str(tmp_path))) is None

    # Rows where the network ties two rotations and the bass change marks the true one.
    bass = fld.LEARNED_DOWNBEAT_EVIDENCE.index("bass_change")
    rows = []
    for k in range(6):
        true = k % 4
        means = np.zeros((4, len(fld.LEARNED_DOWNBEAT_EVIDENCE)))
        means[[0, true], -1] = 1.0
        means[true, bass] = 1.0
        f = [100.0 if r == true else 0.0 for r in range(4)]
        rows.append({"collection": f"c{k % 3}", "means": means.tolist(), "f": f,
                     "truth": true})
    w = fld.fit(rows, fld.RIDGE)
    assert w[bass] > 0
    assert fld.downbeat_f(w, rows) == 100.0
    assert fld.downbeat_f(None, rows) < 100.0
    assert fld.held_out_f(rows, fld.RIDGE) == 100.0
