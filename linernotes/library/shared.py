"""A library held open by a long-running face (the review service, the chat).

Such a face is started on a folder and may start before the first ``analyze`` made the
library there, so the library is found by the one location rule (:mod:`.location`) the first
time it exists and kept from then on. SQLite connections stay in the thread that made them,
so each thread gets its own :class:`~linernotes.library.core.Library`. Tracks are named as
everywhere else: by their key, the path relative to the library root (relative to the
folder while there is no library yet: ``analyze`` creates it there).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from linernotes.fileio import StrPath
from linernotes.library.core import Library, LibraryNotFound
from linernotes.library.scan import find_audio
from linernotes.library.tracks import Collected, tracks_of
from linernotes.models import FinalFields, TrackRecord


@dataclass
class LibraryTrack:
    """One analysed track: its key, its audio file, its record and its final fields (the
    library's human edits applied)."""

    id: str
    path: Path
    record: TrackRecord
    final: FinalFields


class SharedLibrary:
    """The library of ``folder`` (``db``, ``records``: as the command line's ``--db`` and
    ``--records``), opened once per thread."""

    def __init__(
        self, folder: StrPath, *, db: StrPath | None = None, records: StrPath | None = None
    ) -> None:
        self.folder = Path(folder).expanduser().absolute()
        self.db = Path(db).expanduser().absolute() if db else None
        self.records = Path(records).expanduser().absolute() if records else None
        self._local = threading.local()

    def open(self) -> Library | None:
        """This thread's connection to the library (``None``: there is none yet)."""
        library = getattr(self._local, "library", None)
        if library is None:
            try:
                library = Library.find(self.folder, db=self.db, records=self.records)
            except LibraryNotFound:
                return None
            self._local.library = library
        return library

    def require(self) -> Library:
        """:meth:`open`, or :class:`LibraryNotFound` saying to run ``analyze`` first."""
        library = self.open()
        if library is None:
            raise LibraryNotFound(f"{self.folder}: no library yet; run `linernotes analyze"
                                  f" {self.folder}` first")  # fmt: skip
        return library

    def close(self) -> None:
        """Close this thread's connection (others close with their thread)."""
        library = getattr(self._local, "library", None)
        if library is not None:
            library.close()
            self._local.library = None

    @property
    def root(self) -> Path:
        """The folder keys are relative to: the library root, else the folder."""
        library = self.open()
        return library.root if library is not None else self.folder

    def key(self, audio: Path) -> str:
        """A track's name (see the module docstring)."""
        library = self.open()
        if library is not None:
            return library.key(audio)
        audio = audio.expanduser().absolute()
        return audio.relative_to(self.folder).as_posix() if audio.is_relative_to(self.folder) \
            else audio.as_posix()  # fmt: skip

    def audio_path(self, key: str) -> Path:
        """The audio file a key names."""
        path = Path(key)
        return path if path.is_absolute() else self.root / path

    def audio(self) -> list[Path]:
        """The tracks under the folder (stems of a mix and hidden folders left out)."""
        return find_audio([self.folder])

    def track(self, audio: Path) -> LibraryTrack:
        """The track's record and final fields.

        Raises
        ------
        LookupError
            No library yet, no such file, or the file has not been analysed.
        """
        library = self.require()
        record = library.record_of(audio)
        return LibraryTrack(library.key(audio), audio, record, library.final_of(record))

    def tracks(self) -> Collected:
        """Every track under the folder with its record and final fields, and those without
        a record (with the reason)."""
        library = self.open()
        if library is None:
            reason = f"no library yet; run `linernotes analyze {self.folder}` first"
            return Collected(skipped=[(f, reason) for f in self.audio()])
        return tracks_of(library, self.folder)
