"""Human edits: a separate layer with time and author, locks that survive forced re-runs,
history and undo; through the store and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linernotes.cli.main import main as run_cli
from linernotes.library import analyze_paths, collect_tracks
from linernotes.library.db import LibraryDB
from linernotes.library.location import nearest_library
from linernotes.models import Edit
from linernotes.reconcile.fields import parse_value


def _edit(h: str, field: str, value: str, **kw) -> Edit:
    return Edit(content_hash=h, field=field, value=parse_value(field, value), **kw)


def test_store_layers_history_and_undo(tmp_path):
    db = tmp_path / "library.db"
    h = "f" * 64
    with LibraryDB(db) as store:
        first = store.add_edit(_edit(h, "bpm", "120", author="ana"))
        store.add_edit(_edit(h, "key", "Am", author="ana", locked=True))
        store.add_edit(_edit(h, "bpm", "60", author="bo"))
        active = store.active_edits(h)
        assert active["bpm"].value == 60.0 and active["bpm"].author == "bo"
        assert active["key"].value == "A minor" and active["key"].locked
        assert first.id == 1 and first.at
        undone = store.undo_edit(h, "bpm")
        assert undone.value == 60.0 and undone.undone
        assert store.active_edits(h)["bpm"].value == 120.0
        assert [e.undone for e in store.edit_history(h)] == [False, False, True]
        assert store.undo_edit(h).field == "key"
        assert store.undo_edit(h).field == "bpm"
        assert store.undo_edit(h) is None
        assert store.active_edits(h) == {}
        assert store.active_edits("0" * 64) == {}
        with pytest.raises(ValueError):
            _edit(h, "bpm", "quick")
    # a second connection (another process) sees the same layer
    with LibraryDB(db) as again:
        assert len(again.edit_history(h)) == 3


def test_find_library_walks_up(tmp_path):
    (tmp_path / ".linernotes").mkdir()
    (tmp_path / ".linernotes" / "library.db").write_bytes(b"")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert nearest_library(tmp_path / "a" / "b" / "x.flac") == tmp_path


def test_locked_edit_survives_forced_reanalysis(music_dir: Path, capsys, monkeypatch):
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    report = analyze_paths([music_dir])
    assert report.exit_code == 0
    track = music_dir / "one.flac"
    assert run_cli(["edit", str(track), "bpm=90", "key=f#m", "--lock", "--author", "ana"]) == 0
    out = capsys.readouterr().out
    assert "bpm = 90.0 (locked)" in out and 'key = "F# minor" (locked)' in out
    assert run_cli(["edit", str(track), "genres=Hip Hop, lofi", "--author", "bo"]) == 0
    capsys.readouterr()
    sidecar = music_dir / "one.linernotes.json"
    before = sidecar.read_bytes()

    report = analyze_paths([music_dir], force=True)
    assert report.exit_code == 0 and report.count("done") == 3
    tracks, skipped = collect_tracks(music_dir)
    assert not skipped
    final = next(t.final for t in tracks if t.audio.name == "one.flac")
    assert final.value("bpm") == 90.0 and final.fields["bpm"].locked
    assert final.fields["bpm"].provenance == "human" and final.fields["bpm"].origin == "ana"
    assert final.value("key") == "F# minor"
    assert final.value("genres") == ["hip-hop", "lo-fi"]
    assert final.fields["genres"].origin == "bo"
    measured = json.loads(sidecar.read_text())["summary"]["bpm"]
    assert measured == pytest.approx(120, abs=1)  # the record keeps the measurement
    assert json.loads(before)["summary"]["bpm"] == pytest.approx(measured)
    conflict = next(c for c in final.conflicts if c.field == "bpm")
    assert conflict.chosen == 90.0 and conflict.other == pytest.approx(120, abs=1)
    other = next(t.final for t in tracks if t.audio.name == "two.mp3")
    assert other.fields["bpm"].provenance == "measured"

    assert run_cli(["history", str(track)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and "ana: bpm = 90.0 locked" in lines[0]
    assert run_cli(["undo", str(track), "--field", "bpm"]) == 0
    tracks, _ = collect_tracks(music_dir)
    final = next(t.final for t in tracks if t.audio.name == "one.flac")
    assert final.fields["bpm"].provenance == "measured"
    assert final.value("key") == "F# minor"


def test_edit_cli_refuses_bad_input(music_dir: Path, capsys, monkeypatch):
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    track = music_dir / "one.flac"
    assert run_cli(["edit", str(track), "bpm=100"]) == 1  # not analysed yet
    assert "no record yet" in capsys.readouterr().err
    analyze_paths([track])
    assert run_cli(["edit", str(track), "key=H minor"]) == 1
    assert "not a key" in capsys.readouterr().err
    assert run_cli(["edit", str(track), "bpm"]) == 1
    assert run_cli(["undo", str(track)]) == 1
    assert "nothing to undo" in capsys.readouterr().err
    # a bare field with --lock verifies the current automatic value
    assert run_cli(["edit", str(track), "time_signature", "--lock"]) == 0
    assert 'time_signature = "4/4" (locked)' in capsys.readouterr().out


def test_edits_imported_from_csv_and_json(music_dir: Path, capsys, monkeypatch):
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    analyze_paths([music_dir])
    table = music_dir / "review.csv"
    table.write_text(
        "File,BPM,Key,Caption,Genre\n"
        "one.flac,128,Am,Bright clicks.,Techno\n"
        "three.wav,,F#m,,\n"  # blank cells: no change
    )
    assert run_cli(["edit", "--from", str(table), "--author", "csv"]) == 0
    assert "5 edits of 2 tracks" in capsys.readouterr().out
    tracks = {t.audio.name: t.final for t in collect_tracks(music_dir)[0]}
    one = tracks["one.flac"]
    assert one.value("bpm") == 128.0 and one.value("key") == "A minor"
    assert one.value("caption") == "Bright clicks." and one.value("genres") == ["techno"]
    assert one.fields["caption"].origin == "csv"
    assert tracks["three.wav"].value("key") == "F# minor"
    assert tracks["three.wav"].fields["bpm"].provenance == "measured"
    assert tracks["two.mp3"].fields["key"].provenance == "measured"

    edits = music_dir / "edits.json"
    edits.write_text(json.dumps({"sub/three.wav": {"timesignature": "3", "language": "German"}}))
    assert run_cli(["edit", "--from", str(edits), "--lock"]) == 0
    three = {t.audio.name: t.final for t in collect_tracks(music_dir)[0]}["three.wav"]
    assert three.value("time_signature") == "3/4" and three.fields["time_signature"].locked
    assert three.value("vocal_language") == "de"

    bad = music_dir / "bad.csv"
    bad.write_text("File,BPM,Key\none.flac,90,\ntwo.mp3,fast,Hm\nnope.flac,100,\n")
    with LibraryDB(music_dir / ".linernotes" / "library.db") as db:
        before = len(db.edit_history())
    assert run_cli(["edit", "--from", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "row 2: two.mp3: bpm: bpm 'fast' is not a number" in err
    assert "row 2: two.mp3: key: 'Hm' is not a key" in err
    assert "row 3: nope.flac: no such audio file" in err and "nothing imported" in err
    with LibraryDB(music_dir / ".linernotes" / "library.db") as db:
        assert len(db.edit_history()) == before


def test_edit_accepts_other_tools_field_names(music_dir: Path, capsys, monkeypatch):
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    track = music_dir / "one.flac"
    analyze_paths([track])
    assert run_cli(["edit", str(track), "keyscale=Bbm", "timesignature=6"]) == 0
    out = capsys.readouterr().out
    assert 'key = "Bb minor"' in out and 'time_signature = "6/8"' in out


def test_saved_records_carry_the_librarys_edits(tmp_path):
    """Every save reconciles the record with the library's active edits; stored final fields
    are reused only while they reflect those edits."""
    from test_reconcile_fixtures import measured_record

    from linernotes.library import Library
    from linernotes.library.location import new_location

    record = measured_record(bpm=128.0)
    audio = tmp_path / "song.flac"
    with Library(new_location(tmp_path)) as library:
        library.save(audio, record, write_files=False)
        assert library.record_of(audio).final.value("bpm") == 128.0
        library.db.add_edit(_edit(record.file.content_hash, "bpm", "64", locked=True,
                                  author="dj"))  # fmt: skip
        stale = library.record_of(audio)
        assert stale.final.value("bpm") == 128.0  # stored before the edit...
        assert library.final_of(stale).value("bpm") == 64.0  # ...so not reused
        library.save(audio, stale, write_files=False)
        final = library.record_of(audio).final
        assert final.value("bpm") == 64.0 and final.fields["bpm"].locked
        assert library.final_of(library.record_of(audio)) is not None
