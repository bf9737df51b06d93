"""File helpers: atomic writes (a reader sees the old file or the new one, never half of
either, and the file gets the mode the umask gives any new file), grid files, the content
hash that identifies a track wherever it lives, and file names as text that can be stored
(:func:`path_text`) and printed (:func:`printable`) whatever bytes they hold."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TypeAlias

#: A file name as ``open`` and :class:`~pathlib.Path` take it (typeshed's ``StrPath``).
StrPath: TypeAlias = str | os.PathLike[str]


def write_atomic(path: StrPath, data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = temp_beside(target, suffix=".tmp")
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


def temp_beside(target: Path, *, suffix: str = "") -> tuple[int, str]:
    """A new hidden temporary file in ``target``'s folder, open for writing, with the mode
    any new file gets (``0666 & ~umask``): ``mkstemp`` makes it 0600, and the mode of the
    temporary file is the mode of the file it is renamed to.

    Returns the open descriptor and the temporary file's path (the caller renames or
    removes it).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def current_umask() -> int:
    """The process's umask: from ``/proc/self/status`` where Linux shows it (reading it
    costs nothing and changes nothing), else by setting it and setting it back."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def path_text(path: StrPath) -> str:
    r"""``path`` as text that encodes to UTF-8, for a database or a JSON record.

    A name that is not UTF-8 reaches Python with its undecodable bytes as lone surrogates
    (``surrogateescape``), which SQLite and JSON encoders refuse; here each such byte
    becomes a ``\xNN`` escape, so the name stays readable and distinct. A UTF-8 name is
    returned unchanged.

    Examples
    --------
    >>> path_text("café.wav")
    'café.wav'
    >>> print(path_text(b"bad\xffname.wav".decode("utf-8", "surrogateescape")))
    bad\xffname.wav
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = text.encode("utf-8", "backslashreplace")
        return raw.decode("utf-8", "backslashreplace")


def is_utf8_name(path: StrPath) -> bool:
    """Whether ``path`` can be written as UTF-8: a name JSON manifests, CSV rows and crop
    names can hold (an undecodable byte of a file name cannot)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: StrPath) -> str:
    r"""``text`` safe to print on one line: control and other unprintable characters (a
    newline, an escape sequence, a right-to-left override) and undecodable bytes of a file
    name are written as backslash escapes, so a file name cannot start a new line or forge
    another message.

    Examples
    --------
    >>> print(printable("a\nfailed: b.wav"))
    a\nfailed: b.wav
    >>> print(printable(b"bad\xff.wav".decode("utf-8", "surrogateescape")))
    bad\xff.wav
    """
    out = []
    for char in os.fspath(text):
        if char.isprintable():
            out.append(char)
        elif "\udc80" <= char <= "\udcff":
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            out.append(char.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full: ``ENOSPC``/``EDQUOT``,
    or SQLite's "database or disk is full"."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return "database or disk is full" in str(exc)


def not_regular_reason(mode: int) -> str | None:
    """Why a file of this ``st_mode`` must not be opened as audio, or ``None`` for a regular
    file: opening a FIFO blocks forever and a device such as ``/dev/zero`` never ends.

    Examples
    --------
    >>> not_regular_reason(stat.S_IFIFO | 0o644)
    'a FIFO (named pipe), not an audio file'
    >>> not_regular_reason(stat.S_IFREG | 0o644) is None
    True
    """
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))  # fmt: skip
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"{kind}, not an audio file"


def format_times(times: Iterable[float]) -> str:
    """One time in seconds per line, millisecond precision (the BEATS_GRID/DOWNBEATS format)."""
    return "".join(f"{t:.3f}\n" for t in times)


def read_times(path: StrPath) -> list[float]:
    """Read a one-time-per-line grid file."""
    return [float(line) for line in Path(path).read_text().split() if line.strip()]


_HASH_BLOCK = 1 << 20


def content_hash(path: StrPath) -> str:
    """SHA-256 of the file's bytes: the identity of a track wherever it lives."""
    digest = hashlib.sha256()
    # O_NONBLOCK: a FIFO put in the file's place after it was checked cannot block the open.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
    with os.fdopen(fd, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
