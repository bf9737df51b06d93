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
    """One line saying what ``exc`` is: an ``OSError``'s reason and file
    (``Read-only file system: /data/out``), else ``Type: message``.

    Examples
    --------
    >>> describe(PermissionError(13, "Permission denied", "/x/y"))
    'Permission denied: /x/y'
    >>> describe(ValueError("bad"))
    'ValueError: bad'
    """
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    if isinstance(exc, LinernotesError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
