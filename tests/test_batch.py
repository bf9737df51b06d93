"""The batch runner and CLI: records and grids, skip on rerun, --force, resume after Ctrl-C,
two processes at once, bad files in a batch, odd but valid input, --json and show."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from synth import click_track, tone

from linernotes.audio.encode import write_audio
from linernotes.cli import main
from linernotes.fileio import read_times
from linernotes.library import analyze_paths
from linernotes.models import TrackRecord

CLI = [sys.executable, "-m", "linernotes.cli"]


def _record(audio: Path) -> TrackRecord:
    return TrackRecord.load(audio.with_name(audio.stem + ".linernotes.json"))


def test_analyze_folder_writes_records_and_grids(music_dir: Path, capsys) -> None:
    assert main(["analyze", str(music_dir)]) == 0
    err = capsys.readouterr().err
    assert "analysed" in err and "3" in err
    for audio in (music_dir / "one.flac", music_dir / "two.mp3", music_dir / "sub" / "three.wav"):
        record = _record(audio)
        assert record.schema_version == 1
        assert record.file.path == str(audio)
        assert len(record.file.content_hash) == 64
        assert set(record.analyses) >= {"loudness", "rhythm", "tonal", "timbre"}
        for section in record.analyses.values():
            assert section.version and isinstance(section.params, dict)
        assert record.summary.provenance["bpm"].value == "measured"
        beats = read_times(audio.with_name(audio.stem + ".BEATS_GRID"))
        assert beats == pytest.approx(record.summary.beats, abs=1e-3)
        downbeats = read_times(audio.with_name(audio.stem + ".DOWNBEATS"))
        assert downbeats == pytest.approx(record.summary.downbeats, abs=1e-3)
    one = _record(music_dir / "one.flac")
    assert one.summary.bpm == pytest.approx(120.0, rel=0.02)
    assert one.summary.key == "A minor"
    assert one.summary.duration == pytest.approx(8.0, abs=0.01)
    assert one.file.format == "flac" and one.file.sample_rate == 44100 and one.file.channels == 2
    # no temporary files are left behind
    assert not list(music_dir.rglob("*.tmp"))


def test_rerun_skips_and_force_redoes(music_dir: Path) -> None:
    first = analyze_paths([music_dir])
    assert first.count("done") == 3
    before = _record(music_dir / "one.flac").created_at
    second = analyze_paths([music_dir])
    assert second.count("skipped") == 3 and second.count("done") == 0
    assert max(o.elapsed_s for o in second.outcomes) < 1.0
    # a deleted sidecar is restored from the store without re-analysis
    (music_dir / "one.BEATS_GRID").unlink()
    third = analyze_paths([music_dir])
    assert third.count("skipped") == 3
    assert (music_dir / "one.BEATS_GRID").exists()
    forced = analyze_paths([music_dir], force=True)
    assert forced.count("done") == 3
    assert _record(music_dir / "one.flac").created_at >= before


def test_out_dir_mirrors_the_tree(music_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    report = analyze_paths([music_dir], out_dir=out)
    assert report.count("done") == 3
    assert (out / "one.linernotes.json").exists()
    assert (out / "sub" / "three.linernotes.json").exists()
    assert (out / "sub" / "three.DOWNBEATS").exists()
    assert not (music_dir / "one.linernotes.json").exists()
    # the library lives with the audio and remembers where the records went
    assert (music_dir / ".linernotes" / "library.db").exists()
    assert not (out / ".linernotes").exists()
    assert main(["show", str(music_dir / "sub" / "three.wav"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == json.loads((out / "sub" / "three.linernotes.json").read_text())


def test_same_stem_in_one_folder_keeps_both(tmp_path: Path) -> None:
    sr = 22050
    write_audio(tmp_path / "song.wav", tone(440.0, 3.0, sr), sr)
    write_audio(tmp_path / "song.flac", tone(330.0, 3.0, sr), sr)
    assert analyze_paths([tmp_path]).count("done") == 2
    assert (tmp_path / "song.wav.linernotes.json").exists()
    assert (tmp_path / "song.flac.linernotes.json").exists()


def test_moved_file_is_recognised_by_content(music_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "lib.db"
    analyze_paths([music_dir / "one.flac"], db_path=db)
    moved = tmp_path / "renamed.flac"
    moved.write_bytes((music_dir / "one.flac").read_bytes())
    start = time.monotonic()
    report = analyze_paths([moved], db_path=db)
    assert report.count("done") == 1
    assert time.monotonic() - start < 1.0  # results came from the store, not a new analysis
    record = TrackRecord.load(tmp_path / "renamed.linernotes.json")
    assert record.file.path == str(moved)


def test_bad_files_fail_alone_with_reasons(music_dir: Path, capsys) -> None:
    (music_dir / "empty.wav").write_bytes(b"")
    (music_dir / "notes.mp3").write_text("not audio at all\n" * 100)
    good = (music_dir / "one.flac").read_bytes()
    (music_dir / "corrupt.flac").write_bytes(good[:200] + bytes(len(good) - 200))
    (music_dir / "gone.wav").symlink_to(music_dir / "does-not-exist.wav")
    cut = good[: len(good) // 2]
    (music_dir / "truncated.flac").write_bytes(cut)
    code = main(["analyze", str(music_dir)])
    err = capsys.readouterr().err
    assert code == 1
    assert "empty file" in err
    assert "notes.mp3" in err and "gone.wav" in err and "file not found" in err
    assert _record(music_dir / "one.flac").summary.bpm is not None
    truncated = _record(music_dir / "truncated.flac")
    assert truncated.file.decode.truncated
    assert truncated.summary.duration < 7.0
    failed_lines = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failed_lines) >= 3


@pytest.mark.parametrize(
    ("name", "sr", "channels", "seconds"),
    [
        ("tiny 8k mono.wav", 8000, 1, 6.0),
        ("surround-96k.flac", 96000, 6, 6.0),
        ("jingle.mp3", 44100, 2, 5.0),
        ("Ünïcødé 日本語 song.ogg", 48000, 2, 6.0),
    ],
)
def test_odd_but_valid_input_gets_a_record(
    tmp_path: Path, name: str, sr: int, channels: int, seconds: float
) -> None:
    clicks, _ = click_track(100.0, seconds, sr)
    y = np.tile(clicks + tone(440.0, seconds, sr, amp=0.1)[: clicks.shape[0]], (channels, 1))
    path = write_audio(tmp_path / name, y, sr)
    report = analyze_paths([path])
    assert report.count("done") == 1, report.outcomes[0].reason
    record = _record(path)
    assert record.file.sample_rate == sr and record.file.channels == channels
    assert record.summary.duration == pytest.approx(seconds, abs=0.1)
    assert record.summary.loudness_lufs is not None


def test_digital_silence_gets_absent_fields(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "silence.wav", np.zeros((2, 44100 * 10), np.float32), 44100)
    assert analyze_paths([path]).count("done") == 1
    summary = _record(path).summary
    assert summary.duration == pytest.approx(10.0)
    assert summary.bpm is None and summary.key is None and summary.time_signature is None
    assert summary.loudness_lufs is None and summary.beats == []


def test_json_to_stdout_writes_no_sidecar(music_dir: Path, capsys) -> None:
    audio = music_dir / "two.mp3"
    assert main(["analyze", str(audio), "--json", "--quiet"]) == 0
    record = TrackRecord.from_json(capsys.readouterr().out)
    assert record.file.path == str(audio)
    assert not (music_dir / "two.linernotes.json").exists()


def test_show_reads_the_record(music_dir: Path, capsys) -> None:
    audio = music_dir / "one.flac"
    assert main(["show", str(audio)]) == 1
    assert "no record yet" in capsys.readouterr().err
    main(["analyze", str(music_dir), "--quiet"])
    assert main(["show", str(audio)]) == 0
    text = capsys.readouterr().out
    assert "BPM" in text and "A minor" in text and "Time signature" in text
    assert main(["show", str(audio), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["key"] == "A minor"


def _make_tracks(folder: Path, n: int, seconds: float) -> list[Path]:
    sr = 44100
    clicks, _ = click_track(120.0, seconds, sr)
    paths = []
    for i in range(n):
        y = clicks + tone(220.0 * (1 + i / 10), seconds, sr, amp=0.1)[: clicks.shape[0]]
        paths.append(write_audio(folder / f"track{i:02d}.flac", y, sr))
    return paths


def _deliver_sigint_as_at_a_terminal() -> None:
    """A CI runner may start jobs with SIGINT ignored or blocked; both survive exec, so the
    child would never see Ctrl-C. Restore what a terminal gives a process."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])


def test_interrupt_then_resume(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    # Enough work (16 min of audio, several seconds) that a test process slowed by a busy
    # machine still interrupts the batch part way.
    tracks = _make_tracks(folder, 32, 30.0)
    proc = subprocess.Popen(
        [*CLI, "analyze", str(folder)],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_deliver_sigint_as_at_a_terminal,
    )
    deadline = time.monotonic() + 120
    while not list(folder.glob("*.linernotes.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    finished = {p.name for p in folder.glob("*.linernotes.json")}
    assert 1 <= len(finished) < len(tracks)
    for record_file in folder.glob("*.linernotes.json"):
        TrackRecord.load(record_file)  # every record on disk is whole
    assert not list(folder.glob(".*.tmp"))
    report = analyze_paths([folder])
    assert report.count("skipped") == len(finished)
    assert report.count("done") == len(tracks) - len(finished)


def test_two_processes_on_one_folder(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    tracks = _make_tracks(folder, 6, 10.0)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen([*CLI, "analyze", str(folder)], stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    for track in tracks:
        assert _record(track).summary.bpm == pytest.approx(120.0, rel=0.02)
    db = folder / ".linernotes" / "library.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == len(tracks)
        assert conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
    # afterwards everything is finished work
    assert analyze_paths([folder]).count("skipped") == len(tracks)


def test_workers_pool(music_dir: Path) -> None:
    report = analyze_paths([music_dir], workers=2)
    assert report.count("done") == 3 and report.exit_code == 0
