"""The fault suite, part 2: a worker killed by a signal, a full disk, errors inside one
track's storing and failure recording, and file modes under a umask (issue 26).

A full file system is a small tmpfs in a private mount namespace where the machine allows
it (:func:`fault_fixtures.namespace_mounts`); the same cases also run everywhere through a
write wrapper that raises ``ENOSPC`` after a few files.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import sqlite3
import stat
from pathlib import Path

import pytest
from fault_fixtures import (
    leftovers,
    library_intact,
    namespace_mounts,
    records_valid,
    run_cli,
    tiny_wav,
)

import linernotes.export.base
import linernotes.library.analyze
import linernotes.library.layout
from linernotes.cli.main import main
from linernotes.fileio import write_atomic
from linernotes.library import analyze_paths
from linernotes.library.db import LibraryDB
from linernotes.pipeline.runner import measure_track


@pytest.fixture
def music(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    for i, name in enumerate(["a.wav", "b.wav", "victim.wav", "d.wav"]):
        tiny_wav(folder / name, hz=200.0 + 40 * i)
    return folder


def _measure_or_die(job, **kwargs):
    """``measure_track``, except that the worker measuring ``victim.wav`` is killed, as
    the OOM killer would kill it."""
    if job.path.name == "victim.wav":
        os.kill(os.getpid(), signal.SIGKILL)
    return measure_track(job, **kwargs)


def test_worker_killed_by_signal_fails_its_track_and_the_batch_goes_on(music, monkeypatch):
    monkeypatch.setattr(linernotes.library.analyze, "measure_track", _measure_or_die)
    report = analyze_paths([music], workers=2)
    by_name = {o.path.name: o for o in report.outcomes}
    assert by_name["victim.wav"].status == "failed"
    assert by_name["victim.wav"].reason == "worker killed, signal 9"
    assert [by_name[n].status for n in ("a.wav", "b.wav", "d.wav")] == ["done"] * 3
    assert report.exit_code == 1
    db = music / ".linernotes" / "library.db"
    assert library_intact(db) == 3
    with sqlite3.connect(db) as conn:
        reasons = conn.execute("SELECT path, reason FROM failures").fetchall()
    assert reasons == [(str(music / "victim.wav"), "worker killed, signal 9")]
    assert len(records_valid(music)) == 3


def _full_after(budget: int, write=write_atomic):
    """A ``write_atomic`` on a disk with room for ``budget`` more files."""
    left = [budget]

    @functools.wraps(write)
    def wrapper(path, data):
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        left[0] -= 1
        return write(path, data)

    return wrapper


def _assert_stopped_cleanly(code: int, err: str, out: Path, db: Path) -> None:
    assert code == 1, err
    stopped = [line for line in err.splitlines() if "disk full" in line]
    assert stopped[0].startswith("linernotes: stopped: disk full: No space left on device")
    assert "Traceback" not in err and "Summary" in err
    assert not leftovers(out)
    library_intact(db)
    records_valid(out)


def test_disk_full_during_analyze_stops_with_one_line_and_a_summary(
    music, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "out"
    monkeypatch.setattr(linernotes.library.layout, "write_atomic", _full_after(4))
    code = main(["analyze", str(music), "--out", str(out)])
    err = capsys.readouterr().err
    _assert_stopped_cleanly(code, err, out, music / ".linernotes" / "library.db")
    assert "analysed                1" in err  # the first track is complete; then it stopped
    # after space is freed, the same command finishes the batch and restores what is missing
    monkeypatch.undo()
    assert main(["analyze", str(music), "--out", str(out), "-q"]) == 0
    assert len(records_valid(out)) == 4 and len(list(out.glob("*.BEATS_GRID"))) == 4


@pytest.mark.skipif(not namespace_mounts(), reason="no private mount namespace for a tmpfs")
def test_disk_full_on_a_real_small_filesystem(music, tmp_path):
    out = tmp_path / "small"
    out.mkdir()
    done = run_cli(["analyze", music, "--out", out, "--workers", "2", "-q"], cwd=tmp_path,
                   tmpfs=(out, "size=64k"))  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("linernotes: stopped: disk full: No space left on device")
    assert lines[-1].startswith("linernotes: ") and " tracks: " in lines[-1]
    assert library_intact(music / ".linernotes" / "library.db") >= 1


def test_disk_full_during_export_leaves_the_previous_export_untouched(
    music, tmp_path, capsys, monkeypatch
):
    assert main(["analyze", str(music), "-q"]) == 0
    export = tmp_path / "export"
    assert main(["export", str(music), "--to", "ace-step", "--out", str(export)]) == 0
    before = {p: p.read_bytes() for p in export.rglob("*") if p.is_file()}
    assert main(["edit", str(music / "a.wav"), "caption=A new caption."]) == 0
    monkeypatch.setattr(linernotes.export.base, "write_atomic", _full_after(1))
    capsys.readouterr()
    assert main(["export", str(music), "--to", "ace-step", "--out", str(export)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("linernotes: stopped: disk full: No space left on device")
    assert err.count("\n") == 1
    # the earlier export is as it was, and nothing half-made lies beside it
    assert {p: p.read_bytes() for p in export.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in export.iterdir()) == ["ace-step"]
    assert not leftovers(export)
    # a first export that fails leaves no folder that looks like an export
    assert main(["export", str(music), "--to", "hf", "--out", str(tmp_path / "new")]) == 1
    assert not (tmp_path / "new" / "hf").exists() and not leftovers(tmp_path / "new")


def test_errors_while_storing_or_recording_a_failure_stay_with_the_track(
    music, capsys, monkeypatch
):
    complete = linernotes.library.analyze._complete

    def storing_fails(library, outcome, *args):
        if outcome.path.name == "b.wav":
            raise RuntimeError("cannot store this one")
        return complete(library, outcome, *args)

    def recording_fails(self, path, reason):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(linernotes.library.analyze, "_complete", storing_fails)
    monkeypatch.setattr(LibraryDB, "put_failure", recording_fails)
    (music / "junk.wav").write_bytes(b"RIFF not really")
    assert main(["analyze", str(music), "-q"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert (
        f"failed: {music}/b.wav: internal error: RuntimeError: cannot store this one"
        " (not kept in the library: OperationalError: database is locked)" in lines
    )
    assert any(line.startswith(f"failed: {music}/junk.wav: ") for line in lines)
    assert lines[-1] == "linernotes: 5 tracks: 3 done, 2 failed"
    assert library_intact(music / ".linernotes" / "library.db") == 3


def _modes(folder: Path) -> set[int]:
    return {stat.S_IMODE(p.lstat().st_mode) for p in folder.rglob("*")
            if p.is_file() and not p.is_symlink()}  # fmt: skip


def test_files_follow_the_umask(music, tmp_path):
    previous = os.umask(0o022)
    try:
        out, export = tmp_path / "out", tmp_path / "export"
        assert main(["analyze", str(music), "--out", str(out), "-q"]) == 0
        assert main(["export", str(music), "--to", "ace-step,hf", "--out", str(export),
                     "--copy-audio"]) == 0  # fmt: skip
        assert _modes(out) == {0o644}
        assert _modes(export) == {0o644}
        assert (export / "ace-step" / "a.wav").is_file()  # a copy, not a link
        os.umask(0o027)
        assert stat.S_IMODE(write_atomic(tmp_path / "x.json", "{}").stat().st_mode) == 0o640
    finally:
        os.umask(previous)
