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
