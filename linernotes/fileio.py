"""File helpers: atomic writes (a reader sees the old file or the new one, never half of
either), grid files, and the content hash that identifies a track wherever it lives."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def format_times(times: Iterable[float]) -> str:
    """One time in seconds per line, millisecond precision (the BEATS_GRID/DOWNBEATS format)."""
    return "".join(f"{t:.3f}\n" for t in times)


def read_times(path: str | os.PathLike[str]) -> list[float]:
    """Read a one-time-per-line grid file."""
    return [float(line) for line in Path(path).read_text().split() if line.strip()]


_HASH_BLOCK = 1 << 20


def content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the file's bytes: the identity of a track wherever it lives."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
