"""Errors that name the file and the reason, so a batch can report them in one line."""

from __future__ import annotations

from pathlib import Path


class LinernotesError(Exception):
    """Base class of the errors linernotes raises on purpose."""


class AudioError(LinernotesError):
    """A file that cannot be analysed, with a one-line reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ListenError(LinernotesError):
    """A backend failed to answer (a server error, a model that cannot load, ...)."""


class DiskFullError(LinernotesError):
    """The disk (or the user's quota) is full: a batch stops here, cleanly, rather than
    failing every track after this one for the same reason."""


class OutputError(LinernotesError):
    """A place the command must write to cannot be written: it stops before any work."""


def describe(exc: BaseException) -> str:
    """One line saying what ``exc`` is: an ``OSError``'s reason and file (both files of a
    copy or rename, ``source -> destination``), else ``Type: message``.

    Examples
    --------
    >>> describe(PermissionError(13, "Permission denied", "/x/y"))
    'Permission denied: /x/y'
    >>> describe(OSError(28, "No space left on device", "/a.wav", None, "/out/a.wav"))
    'No space left on device: /a.wav -> /out/a.wav'
    >>> describe(ValueError("bad"))
    'ValueError: bad'
    """
    if isinstance(exc, OSError) and exc.strerror:
        files = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
        return f"{exc.strerror}: {files}" if files else exc.strerror
    if isinstance(exc, LinernotesError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
