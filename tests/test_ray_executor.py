"""``analyze --executor ray`` on a local Ray instance (``ray.init(num_cpus=2)``, one for the
session: ``ray_address`` in conftest.py): the records equal a local run's field by field, the
library is written by the driver alone, a worker killed with SIGKILL has its track run again,
and a driver killed with SIGKILL resumes without redoing what it merged; no track is ever
written twice (a trigger in each test library counts every record write)."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from synth import click_track, progression

import linernotes.library.analyze
from linernotes.audio.encode import write_audio
from linernotes.library import analyze_paths
from linernotes.library.db import LibraryDB
from linernotes.library.ray_batch import RaySettings
from linernotes.listen.cpu.listener import CpuListener

ray = pytest.importorskip("ray")
threadpoolctl = pytest.importorskip("threadpoolctl")

#: Fields that say when or how fast, not what: they differ between any two runs.
VOLATILE = {"created_at", "reconciled_at", "elapsed_s", "at"}
#: The clips: (name, tempo, tonic, seconds).
CLIPS = [("a.wav", 96, 0, 5), ("b.wav", 120, 9, 5), ("sub/c.flac", 140, 4, 5),
         ("d.wav", 108, 7, 5), ("e.wav", 132, 2, 12)]  # fmt: skip


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Five short synthesized tracks (one in a subfolder, one FLAC, one longer, one with a
    drum stem)."""
    folder = tmp_path_factory.mktemp("ray") / "music"
    sr = 22050
    for name, bpm, tonic, seconds in CLIPS:
        clicks, _ = click_track(float(bpm), float(seconds), sr)
        harmony = progression(tonic, "minor", 1.25, sr, repeats=3)[: clicks.shape[0]]
        mono = clicks + np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_audio(folder / name, mono[None, :], sr)
        if name == "a.wav":  # a stem beside its mix, measured with it
            write_audio(folder / "a.drums.wav", clicks[None, :], sr)
    return folder


def _library(tmp_path: Path, name: str) -> Path:
    """A new library database whose ``record_writes`` table gets a row per record write."""
    db = tmp_path / name / "library.db"
    LibraryDB(db).close()
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "CREATE TABLE record_writes (track TEXT);"
            "CREATE TRIGGER count_writes AFTER INSERT ON records"
            " BEGIN INSERT INTO record_writes VALUES (NEW.track); END;"
        )
    return db


def _records(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT track, record FROM records").fetchall()
    return {track: _steady(json.loads(text)) for track, text in rows}


def _writes(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT track, COUNT(*) FROM record_writes GROUP BY 1"))


def _steady(value: Any) -> Any:
    """``value`` without the timing fields."""
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    return value


def _local(folder: Path, db: Path, **options: Any) -> Any:
    """A local batch with one BLAS thread, as each Ray measuring task has (sums of floats
    in another order differ in the last bits)."""
    with threadpoolctl.threadpool_limits(limits=1):
        return analyze_paths([folder], db_path=db, out_dir=db.parent / "out", **options)


@pytest.fixture(scope="module")
def local_records(clips: Path, tmp_path_factory) -> dict[str, Any]:
    """The measured records of a local run: what every Ray run must reproduce."""
    db = _library(tmp_path_factory.mktemp("local"), "local")
    assert _local(clips, db).exit_code == 0
    return _records(db)


def test_ray_records_equal_local_ones_and_rerun_writes_nothing(
    ray_address: str, clips: Path, tmp_path: Path
) -> None:
    listener = CpuListener("none")
    local_db = _library(tmp_path, "local")
    assert _local(clips, local_db, listener=listener).exit_code == 0
    ray_db = _library(tmp_path, "ray")
    settings = RaySettings(address=ray_address, workers=1, actors=1, batch=2)
    report = analyze_paths([clips], db_path=ray_db, out_dir=ray_db.parent / "out",
                           listener=listener, ray=settings)  # fmt: skip
    assert report.exit_code == 0 and report.count("done") == len(CLIPS)
    local, remote = _records(local_db), _records(ray_db)
    assert sorted(remote) == sorted(local) == sorted(name for name, *_ in CLIPS)
    for track in local:  # field by field, the listen actors' tagger section included
        assert remote[track] == local[track], track
        assert remote[track]["listen"]["tagger"]["caption"]
    assert [s["stem_type"] for s in remote["a.wav"]["stems"]] == ["drums"]
    for grid in (ray_db.parent / "out").rglob("*_GRID"):
        twin = local_db.parent / "out" / grid.relative_to(ray_db.parent / "out")
        assert grid.read_bytes() == twin.read_bytes()
    assert _writes(ray_db) == dict.fromkeys(local, 1)

    again = analyze_paths([clips], db_path=ray_db, ray=settings)
    assert again.count("skipped") == len(CLIPS) and again.count("done") == 0
    assert _writes(ray_db) == dict.fromkeys(local, 1)  # the resumed batch stored nothing


MAIN = "from linernotes.cli.main import main; raise SystemExit(main())"


def _driver(folder: Path, db: Path, address: str) -> subprocess.Popen:
    """``linernotes analyze --executor ray`` in a process of its own, joining the cluster."""
    command = [sys.executable, "-c", MAIN,
               "analyze", str(folder), "--db", str(db), "--out", str(db.parent / "out"), "-q",
               "--executor", "ray", "--ray-address", address, "--workers", "1"]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _descends_from_here(pid: int) -> bool:
    """True when process ``pid`` was started (through any number of parents) by this test
    process: only our own Ray workers are ever killed."""
    while pid > 1:
        if pid == os.getpid():
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rpartition(")")[2].split()[1])
    return False


def _measuring_worker() -> int | None:
    """The pid of one of our Ray workers while it measures a track."""
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        pid, _, args = line.strip().partition(" ")
        if args.startswith("ray::Map(measure_row)") and _descends_from_here(int(pid)):
            return int(pid)
    return None


def _wait(condition: Any, what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _run_and_kill(folder: Path, db: Path, address: str, victim: Any) -> tuple[int, str]:
    """Start a driver, SIGKILL the process ``victim(driver)`` names, wait for the driver to
    end; its exit code and standard error."""
    driver = _driver(folder, db, address)
    try:
        os.kill(victim(driver), signal.SIGKILL)
        _, stderr = driver.communicate(timeout=120)
    finally:
        driver.kill()
    return driver.returncode, stderr.decode()


def test_killed_worker_track_is_run_again(
    ray_address: str, clips: Path, tmp_path: Path, local_records: dict[str, Any]
) -> None:
    db = _library(tmp_path, "ray")
    code, stderr = _run_and_kill(
        clips, db, ray_address, lambda _: _wait(_measuring_worker, "a worker measuring a track")
    )
    assert code == 0, stderr[-2000:]
    assert _records(db) == local_records  # nothing lost
    assert _writes(db) == dict.fromkeys(local_records, 1)  # nothing written twice


def test_killed_driver_resumes_without_redoing_merged_tracks(
    ray_address: str, clips: Path, tmp_path: Path, local_records: dict[str, Any]
) -> None:
    db = _library(tmp_path, "ray")

    def driver_after_first_merge(driver: subprocess.Popen) -> int:
        _wait(lambda: _writes(db), "the first merged track")
        return driver.pid

    code, _ = _run_and_kill(clips, db, ray_address, driver_after_first_merge)
    assert code == -signal.SIGKILL
    merged = _writes(db)
    assert 0 < len(merged) < len(CLIPS)

    report = analyze_paths([clips], db_path=db, ray=RaySettings(address=ray_address))
    assert report.exit_code == 0
    assert report.count("skipped") == len(merged)  # finished tracks were not sent again
    assert report.count("done") == len(CLIPS) - len(merged)
    assert _records(db) == local_records
    assert _writes(db) == dict.fromkeys(local_records, 1)


def test_driver_merge_keeps_each_track_s_trouble_its_own(
    ray_address: str, clips: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Ray as locally: a name that is not UTF-8 is stored losslessly and skipped on a
    rerun, a file that cannot be measured fails alone, an error while the driver stores one
    track fails that track alone (its reason kept in the library), and a full disk on the
    driver stops the batch cleanly, its claim on the library given back."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    odd = os.fsdecode(b"b\xffname.wav")
    for name, source in (("a.wav", "a.wav"), (odd, "b.wav"), ("c.wav", "d.wav")):
        (folder / name).write_bytes((clips / source).read_bytes())
    (folder / "junk.wav").write_bytes(b"RIFF not really")
    store = linernotes.library.analyze.store_outcome

    def c_cannot_be_stored(library: Any, outcome: Any, *args: Any) -> None:
        if outcome.path.name == "c.wav":
            raise RuntimeError("cannot store this one")
        store(library, outcome, *args)

    monkeypatch.setattr(linernotes.library.analyze, "store_outcome", c_cannot_be_stored)
    db = _library(tmp_path, "ray")
    settings = RaySettings(address=ray_address, workers=1)
    report = analyze_paths([folder], db_path=db, ray=settings)
    reasons = {o.path.name: o.reason for o in report.outcomes if o.status == "failed"}
    assert report.exit_code == 1 and report.count("done") == 2 and not report.stopped
    assert reasons["c.wav"] == "internal error: RuntimeError: cannot store this one"
    assert set(reasons) == {"c.wav", "junk.wav"}
    with sqlite3.connect(db) as conn:
        kept = {os.fsdecode(Path(p).name) for (p,) in conn.execute("SELECT path FROM failures")}
        names = dict(conn.execute("SELECT track, typeof(track) FROM records"))
        files = dict(conn.execute("SELECT typeof(path), COUNT(*) FROM files GROUP BY 1"))
    assert kept == {"c.wav", "junk.wav"}
    assert names == {"a.wav": "text", os.fsencode(odd): "blob"}
    assert files == {"text": 3, "blob": 1}  # the hash memo of every measured file

    monkeypatch.setattr(linernotes.library.analyze, "store_outcome", store)
    again = analyze_paths([folder], db_path=db, ray=settings)
    assert {o.path.name: o.status for o in again.outcomes} == {
        "a.wav": "skipped", odd: "skipped", "c.wav": "done", "junk.wav": "failed"}

    def disk_full(library: Any, outcome: Any, *args: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(outcome.path))

    monkeypatch.setattr(linernotes.library.analyze, "store_outcome", disk_full)
    full_db = _library(tmp_path, "full")
    stopped = analyze_paths([folder], db_path=full_db, ray=settings)
    assert stopped.stopped and stopped.stopped.startswith("disk full: No space left on device")
    assert stopped.exit_code == 1
    with sqlite3.connect(full_db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM claims").fetchone()[0] == 0
