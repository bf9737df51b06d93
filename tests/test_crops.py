"""Training crops: downbeat-aligned, silent ones skipped, each analysed, caption carried,
written atomically, originals untouched, exported like tracks."""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from records import attach
from synth import click_track, progression
from test_edits import run_cli

from linernotes.audio.encode import write_audio
from linernotes.export import ace_step
from linernotes.library import Library, analyze_paths
from linernotes.library.crops import CROP_SUFFIX, MANIFEST, crop_starts, make_crops
from linernotes.models import FinalFields, FinalValue, TrackRecord


def test_crop_starts_are_on_the_grid_and_never_overlap():
    downbeats = [0.3 + 2.0 * i for i in range(20)]  # a bar every 2 s
    starts = crop_starts(downbeats, 40.0, 5.0, "downbeat")
    assert starts == [0.3, 6.3, 12.3, 18.3, 24.3, 30.3]
    assert all(s in downbeats for s in starts)
    assert all(b - a >= 5.0 for a, b in itertools.pairwise(starts))
    assert starts[-1] + 5.0 <= 40.0
    assert crop_starts([], 10.0, 4.0, "none") == [0.0, 4.0]
    assert crop_starts(downbeats, 3.0, 5.0, "downbeat") == []
    with pytest.raises(ValueError):
        crop_starts(downbeats, 10.0, 0.0, "downbeat")


@pytest.fixture
def crop_dataset(tmp_path: Path, monkeypatch) -> Path:
    """A 24 s track at 120 BPM in 4/4 (bars of 2 s) whose last 8 s are silent, with a caption;
    and an 8 s track at 90 BPM in 3/4."""
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    sr = 44100
    clicks, _ = click_track(120.0, 16.0, sr)
    harmony = progression(9, "minor", 2.0, sr, repeats=2)[: clicks.shape[0]]
    y = clicks + np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    y = np.concatenate([y, np.zeros(sr * 8, np.float32)])
    folder = tmp_path / "data"
    (folder / "sub").mkdir(parents=True)
    write_audio(folder / "song.flac", np.stack([y, y]), sr)
    waltz, _ = click_track(90.0, 8.0, sr, beats_per_bar=3)
    write_audio(folder / "sub" / "waltz.wav", waltz, sr)
    assert analyze_paths([folder]).exit_code == 0
    attach(folder / "song.flac", {
        "caption": "Clicks over organ chords.",
        "genre_mood_inst": "Genre: minimal\nMood: calm\nInstruments: organ, percussion",
    })  # fmt: skip
    return folder


def test_crops_on_downbeats_analysed_and_captioned(crop_dataset: Path, tmp_path: Path):
    originals = {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in crop_dataset.rglob("*")
        if p.suffix in (".flac", ".wav")
    }
    out = tmp_path / "crops"
    report = make_crops(crop_dataset, out, seconds=4.0)
    source = TrackRecord.load(crop_dataset / "song.linernotes.json")
    downbeats = [round(d, 4) for d in source.summary.downbeats]
    song_crops = [t for t in report.tracks if t.stem.startswith("song_")]
    assert len(song_crops) >= 3
    for crop in song_crops:
        info = json.loads((out / (crop.stem + CROP_SUFFIX)).read_text())
        assert info["start"] in downbeats  # no crop starts mid-bar
        assert info["end"] - info["start"] == pytest.approx(4.0)
        assert info["start"] < 16.0
        assert crop.final.value("duration") == pytest.approx(4.0, abs=0.05)
        assert crop.final.value("bpm") == pytest.approx(120, abs=2)  # the track's tempo
        assert crop.final.fields["bpm"].provenance == "measured"
        assert crop.final.value("caption") == "Clicks over organ chords."
        assert crop.final.value("genres") == ["minimal"]
        assert "carried" in crop.final.fields["caption"].note
        assert crop.record.summary.beats  # analysed: own grid
        assert (out / (crop.stem + ".linernotes.json")).is_file()
    waltz = [t for t in report.tracks if t.stem.startswith("waltz_")]
    assert waltz and waltz[0].rel.parent == Path("sub")
    assert waltz[0].final.value("caption") is None
    rows = [json.loads(x) for x in (out / MANIFEST).read_text().splitlines()]
    assert len(rows) == len(report.tracks) and {"source", "start", "bpm"} <= set(rows[0])
    assert not list(out.rglob(".*tmp*"))  # atomic: no temporary files left
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in originals}
    assert after == originals

    again = make_crops(crop_dataset, out, seconds=4.0)
    assert again.written == [] and len(again.reused) == len(report.written)


def test_silent_crops_are_skipped(crop_dataset: Path, tmp_path: Path):
    report = make_crops(crop_dataset, tmp_path / "grid", seconds=4.0, align="none")
    starts = sorted(
        json.loads(t.audio.with_name(t.stem + CROP_SUFFIX).read_text())["start"]
        for t in report.tracks
        if t.stem.startswith("song_")
    )
    assert starts == [0.0, 4.0, 8.0, 12.0]  # 16-20 and 20-24 s are digital silence
    silent = [name for name, reason in report.skipped if "silent" in reason]
    assert silent == ["song_crop004", "song_crop005"]
    assert not (tmp_path / "grid" / "song_crop004.flac").exists()


def test_human_edits_of_the_source_reach_its_crops(crop_dataset: Path, tmp_path: Path, capsys):
    assert run_cli(["edit", str(crop_dataset / "song.flac"), "caption=Edited caption.",
                    "is_instrumental=yes"]) == 0  # fmt: skip
    out = tmp_path / "crops"
    assert run_cli(["crops", str(crop_dataset), "--seconds", "4", "--out", str(out),
                    "--to", "ace-step"]) == 0  # fmt: skip
    assert "crops:" in capsys.readouterr().out
    assert ace_step.validate(out) == []
    sidecar = json.loads((out / "song_crop000.json").read_text())
    assert sidecar["caption"] == "Edited caption."
    assert sidecar["lyrics"] == "[Instrumental]" and sidecar["is_instrumental"] is True
    assert sidecar["duration"] == 4 and sidecar["bpm"] == 120


def test_crops_cli_without_records(tmp_path: Path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    shutil.copy(Path(__file__).parent.parent / "examples" / "truth.json", folder)
    assert run_cli(["crops", str(folder)]) == 1


def test_a_crops_own_edits_survive_cutting_again(crop_dataset: Path, tmp_path: Path, capsys):
    """A human edit of a crop's own bpm, key and caption wins over its measurement and the
    caption carried from the source, and stays through a rerun, ``--force`` and a re-cut
    into other bytes (``--format wav``); a crop that is now another piece does not get it."""
    out = tmp_path / "crops"
    base = ["crops", str(crop_dataset), "--seconds", "4", "--out", str(out)]
    assert run_cli(base) == 0
    crop = out / "song_crop001.flac"
    assert run_cli(["edit", str(crop), "bpm=60", "key=D major", "caption=Only the organ.",
                    "--author", "ed"]) == 0  # fmt: skip
    edited = {"bpm": 60, "keyscale": "D major", "caption": "Only the organ."}

    def check(report_tracks, suffix: str) -> None:
        final = next(t.final for t in report_tracks if t.stem == "song_crop001")
        assert final.value("bpm") == 60 and final.value("key") == "D major"
        assert final.value("caption") == "Only the organ."
        assert final.fields["bpm"].provenance == "human" and "bpm" not in final.review
        sidecar = json.loads((out / "song_crop001.json").read_text())  # the ACE-Step export
        assert {k: sidecar[k] for k in edited} == edited
        rows = [json.loads(x) for x in (out / MANIFEST).read_text().splitlines()]
        row = next(r for r in rows if r["path"] == "song_crop001" + suffix)
        assert (row["bpm"], row["key"], row["caption"]) == (60, "D major", "Only the organ.")

    for extra in ([], ["--force"]):
        assert run_cli([*base, *extra, "--to", "ace-step"]) == 0
        report = make_crops(crop_dataset, out, seconds=4.0)
        check(report.tracks, ".flac")
        other = next(t for t in report.tracks if t.stem == "song_crop000")
        assert other.final.value("caption") == "Clicks over organ chords."  # not edited
    assert ace_step.validate(out) == []

    # cut again as WAV: other bytes, same piece -> the edits move to the new bytes
    capsys.readouterr()
    assert run_cli([*base, "--format", "wav", "--to", "ace-step"]) == 0
    assert "kept on the crop cut again" in capsys.readouterr().err
    report = make_crops(crop_dataset, out, seconds=4.0, suffix=".wav")
    check(report.tracks, ".wav")

    # 8 s crops: song_crop001 is now 8-16 s, not 4-8 s: not the same piece
    assert run_cli([*base[:3], "8", *base[4:], "--format", "wav"]) == 0
    assert "not carried" in capsys.readouterr().err
    report = make_crops(crop_dataset, out, seconds=8.0, suffix=".wav")
    final = next(t.final for t in report.tracks if t.stem == "song_crop001")
    assert final.fields["bpm"].provenance == "measured"


def test_crops_are_views_of_their_track(crop_dataset: Path, tmp_path: Path):
    """Locked and edited fields of the track reach its crops; the grid is the track's over
    the crop's span; tags and model fields come along."""
    song = crop_dataset / "song.flac"
    assert run_cli(["edit", str(song), "bpm=121", "key=C major", "--lock"]) == 0
    assert run_cli(["edit", str(song), "genres=organ house"]) == 0
    report = make_crops(crop_dataset, tmp_path / "crops", seconds=4.0)
    source = TrackRecord.load(crop_dataset / "song.linernotes.json")
    crops = [t for t in report.tracks if t.stem.startswith("song_")]
    assert crops
    for crop in crops:
        info = json.loads(crop.audio.with_name(crop.stem + CROP_SUFFIX).read_text())
        bpm, key = crop.final.fields["bpm"], crop.final.fields["key"]
        assert (bpm.value, bpm.provenance, bpm.locked) == (121, "human", True)
        assert (key.value, key.provenance, key.locked) == ("C major", "human", True)
        assert crop.final.value("genres") == ["organ house"]
        assert crop.final.value("caption") == "Clicks over organ chords."
        assert crop.final.value("time_signature") == source.final.value("time_signature")
        expected = [round(b - info["start"], 4) for b in source.summary.beats
                    if info["start"] - 1e-6 <= b < info["end"] - 1e-6]  # fmt: skip
        assert crop.record.summary.beats == expected and expected
        assert crop.record.summary.downbeats[0] == 0.0  # cut on a downbeat of the track
        stored = TrackRecord.load(crop.audio.with_name(crop.stem + ".linernotes.json"))
        assert stored.summary.beats == expected  # the grid files follow the record


def test_an_edit_or_undo_of_a_crop_keeps_what_it_inherits(crop_dataset: Path, tmp_path: Path):
    """A crop edited or undone (command line, library API) after ``crops`` is still a view
    of its track: the track's locked bpm and key, its meter, caption, genres and grid stay
    in the crop's stored record and record file, and the crop's own edit wins."""
    assert run_cli(["edit", str(crop_dataset / "song.flac"), "bpm=121", "key=C major",
                    "--lock"]) == 0  # fmt: skip
    report = make_crops(crop_dataset, tmp_path / "crops", seconds=4.0)
    crop = next(t for t in report.tracks if t.stem == "song_crop001")
    meter, beats = crop.final.value("time_signature"), crop.record.summary.beats
    assert meter and beats

    def check(genres: list[str], bpm: float = 121) -> None:
        with Library.find(crop.audio) as library:
            stored = library.record_of(crop.audio)
        written = TrackRecord.load(crop.audio.with_name(crop.stem + ".linernotes.json"))
        for record in (stored, written):
            final = record.final
            assert final is not None
            assert (final.value("bpm"), final.fields["bpm"].provenance) == (bpm, "human")
            key = final.fields["key"]
            assert (key.value, key.provenance, key.locked) == ("C major", "human", True)
            assert final.value("time_signature") == meter
            assert final.value("caption") == "Clicks over organ chords."
            assert final.value("genres") == genres
            assert final.value("lyrics") is None  # a crop holds only part of the lyrics
            assert record.summary.beats == beats  # the track's grid, not the crop's own

    assert run_cli(["edit", str(crop.audio), "genres=crop house"]) == 0
    check(["crop house"])
    with Library.find(crop.audio) as library:
        record = library.record_of(crop.audio)
        library.add_edits(record, [("bpm", 60)], locked=False, author="test")
    check(["crop house"], bpm=60)  # the crop's own edit wins over the track's lock
    with Library.find(crop.audio) as library:
        assert library.undo(record, "bpm") is not None
    check(["crop house"])
    assert run_cli(["undo", str(crop.audio), "--field", "genres"]) == 0
    check(["minimal"])  # the track's genres again


def test_crops_skip_a_track_whose_name_is_not_utf8(tmp_path: Path, monkeypatch):
    """A track whose file name is not UTF-8 is skipped with a plain reason (its crops, their
    records and the manifest cannot name it); the other tracks are cut."""
    from fault_fixtures import NOT_UTF8, tiny_wav

    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    folder = tmp_path / "tracks"
    folder.mkdir()
    for name in ("plain.wav", NOT_UTF8):
        tiny_wav(folder / name, seconds=3.0)
    assert analyze_paths([folder]).exit_code == 0
    report = make_crops(folder, tmp_path / "crops", seconds=1.0, align="none")
    reasons = dict(report.skipped)
    assert reasons == {NOT_UTF8: "its file name is not valid UTF-8, which the crops' names and"
                                 " manifest cannot hold"}  # fmt: skip
    assert report.tracks and all(t.stem.startswith("plain_") for t in report.tracks)


def test_a_confident_disagreeing_crop_reading_is_a_conflict():
    from linernotes.library.crop_view import carry, span_bpm

    source = FinalFields(fields={
        "bpm": FinalValue(value=80.0, confidence=0.9, provenance="measured"),
        "key": FinalValue(value="A minor", confidence=0.9, provenance="measured"),
        "time_signature": FinalValue(value="4/4", confidence=0.9, provenance="measured"),
    })  # fmt: skip
    crop = FinalFields(fields={
        "bpm": FinalValue(value=120.0, confidence=0.9, provenance="measured"),
        "key": FinalValue(value="C major", confidence=0.3, provenance="measured"),
        "time_signature": FinalValue(value="6/8", confidence=0.8, provenance="measured"),
    })  # fmt: skip
    view = carry(source, crop)
    assert view.value("bpm") == 80.0 and view.value("time_signature") == "4/4"
    conflicts = {c.field: c for c in view.conflicts}
    assert set(conflicts) == {"bpm", "time_signature"}  # the unsure key reading is no conflict
    assert conflicts["bpm"].other == 120.0 and conflicts["bpm"].chosen == 80.0
    assert {"bpm", "time_signature"} <= set(view.review) and "key" not in view.review
    # a tempo curve: the track's grid runs 10% faster over the span than overall
    beats = [i * 0.5 for i in range(40)] + [20 + i * 0.4545 for i in range(20)]
    assert span_bpm(120.0, beats, 0.0, 10.0) == 120.0
    assert span_bpm(120.0, beats, 20.0, 28.0) == pytest.approx(132, abs=0.5)
