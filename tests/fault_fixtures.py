"""Shared pieces of the fault suite: tiny tracks, the hostile folder, and running the real
command line in a subprocess under the conditions a fault needs (no root privileges over
file modes, a small or read-only file system, a umask).

Root ignores file modes, and CI may run as root: there the command runs with the two
capabilities that let root read and write anything (``CAP_DAC_OVERRIDE``,
``CAP_DAC_READ_SEARCH``) dropped from its bounding set, so a folder of mode 000 is
unreadable to it too. A small or read-only file system is a tmpfs mounted in a private
mount namespace (``unshare -rm``: an unprivileged user namespace, nothing to clean up);
where neither works the test says so and is skipped.
"""

from __future__ import annotations

import ctypes
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

from linernotes.audio.encode import write_audio
from linernotes.models import TrackRecord

SR = 22050
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
#: Names of the hostile folder's tracks that analyse (the rest fail with a reason).
NEWLINE_NAME = "new\nline failed: forged.wav"
NOT_UTF8 = os.fsdecode(b"bad\xffname.wav")
GOOD_NAMES = ("good.wav", "-dash.wav", NEWLINE_NAME, NOT_UTF8)


def tiny_wav(path: Path, seconds: float = 2.0, hz: float = 220.0) -> Path:
    """A short mono tone pulsing twice a second: enough for every stage to run on."""
    t = np.arange(int(SR * seconds)) / SR
    y = 0.3 * np.sin(2 * np.pi * hz * t) * (np.sin(2 * np.pi * 2 * t) > 0)
    write_audio(path, y.astype(np.float32), SR)
    return path


def hostile_folder(root: Path) -> Path:
    """A folder with four good tracks under hostile names (a newline that reads like a
    ``failed:`` line, a leading dash, bytes that are not UTF-8), a FIFO and a symlink to
    ``/dev/zero`` named like audio, a symlink loop, and an unreadable subfolder."""
    folder = root / "hostile"
    folder.mkdir()
    for name in GOOD_NAMES:
        tiny_wav(folder / name)
    os.mkfifo(folder / "f.wav")
    os.symlink("/dev/zero", folder / "z.wav")
    os.symlink("loop2.wav", folder / "loop1.wav")
    os.symlink("loop1.wav", folder / "loop2.wav")
    locked = folder / "locked"
    locked.mkdir()
    tiny_wav(locked / "inside.wav")
    locked.chmod(0)
    return folder


def _drop_dac() -> None:  # pragma: no cover - runs in the child before exec
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def modes_bind() -> bool:
    """Whether a command started by :func:`run_cli` with ``modes_bind=True`` is held to
    file modes (always as a user; as root, when the capabilities can be dropped)."""
    if os.geteuid() != 0:
        return True
    return subprocess.run(["true"], preexec_fn=_drop_dac, check=False).returncode == 0


def namespace_mounts() -> bool:
    """Whether a private tmpfs can be mounted (``unshare -rm``)."""
    if shutil.which("unshare") is None:
        return False
    probe = (
        "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d; r=$?;"
        " umount $d 2>/dev/null; rmdir $d; exit $r"
    )
    done = subprocess.run(["unshare", "-rm", "sh", "-c", probe], capture_output=True, check=False)
    return done.returncode == 0


def run_cli(
    args: list[str | os.PathLike[str]],
    *,
    cwd: Path,
    modes_bind: bool = False,
    tmpfs: tuple[Path, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``linernotes ARGS`` in a subprocess (a hang fails the test at ``timeout``); with
    ``tmpfs=(folder, options)`` a tmpfs with those mount options is mounted at ``folder``
    for the command only. Output is text, undecodable bytes escaped."""
    command = [sys.executable, "-m", "linernotes.cli", *map(os.fsdecode, args)]
    if tmpfs is not None:
        folder, options = tmpfs
        script = (f"mount -t tmpfs -o {shlex.quote(options)} tmpfs {shlex.quote(str(folder))}"
                  f" && exec {shlex.join(command)}")  # fmt: skip
        command = ["unshare", "-rm", "sh", "-c", script]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(command, cwd=cwd, capture_output=True, timeout=timeout, env=env,
                          preexec_fn=_drop_dac if modes_bind and os.geteuid() == 0 else None,
                          check=False)  # fmt: skip
    return subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "surrogateescape"),
        done.stderr.decode("utf-8", "surrogateescape"),
    )


def library_intact(db: Path) -> int:
    """Assert the library database passes SQLite's integrity check; its record count."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])


def records_valid(folder: Path) -> list[TrackRecord]:
    """Every record file under ``folder``, each loaded and validated."""
    return [TrackRecord.load(p) for p in sorted(folder.rglob("*.linernotes.json"))]


def leftovers(folder: Path) -> list[Path]:
    """Temporary, staging, probe and lock files an interrupted write could leave."""
    marks = (".tmp", ".staging-", ".old-", ".linernotes-probe-", ".linernotes-export.lock")
    return [p for p in folder.rglob("*") if any(m in p.name for m in marks)]
