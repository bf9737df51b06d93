"""The library: one database, found from any path (:mod:`.location`), holding one record per
track and the human edits, and the record files it writes beside the audio or under its
records folder.

A track is named by its path relative to the library root (its *key*); its bytes by their
content hash. Records are looked up by key, then by content (a moved or copied file); edits
follow the content, so every copy of the same audio shows the same human values. Every
change to a track (analysis, listening, a quality score, an edit or undo) goes through
:meth:`Library.save`, which reconciles the record once with the active edits, stores it and
rewrites its files, so the database, ``show``, ``export`` and the files beside the audio
always agree.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linernotes.errors import (
    AudioError,
    DiskFullError,
    LinernotesError,
    OutputError,
    describe,
)
from linernotes.fileio import StrPath, is_disk_full, printable
from linernotes.library.crop_view import crop_final
from linernotes.library.db import LibraryDB
from linernotes.library.layout import Layout, write_outputs
from linernotes.library.location import Location, folder_of, libraries_for, locate
from linernotes.models import Edit, FinalFields, TrackRecord
from linernotes.pipeline.track import file_hash
from linernotes.reconcile.core import ReconcileOptions, final_is_current, reconcile

#: ``meta`` keys of the settings a library remembers.
ROOT_SETTING = "root"
RECORDS_SETTING = "records_dir"


class LibraryNotFound(LookupError):
    """No library for a path, and the command does not create one."""


@dataclass
class EditImport:
    """What an edits file gave: the number of edits stored, the tracks they changed, or the
    problems that stopped it (then nothing was stored)."""

    edits: int = 0
    tracks: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Library(contextlib.AbstractContextManager):
    """An open library (see the module docstring); a context manager that closes its
    database connection."""

    def __init__(self, location: Location, *, default_root: Path | None = None) -> None:
        self.location = location
        self.db = LibraryDB(location.db)
        remembered = self.db.setting(ROOT_SETTING)
        root = location.root or (Path(remembered) if remembered else None) or default_root
        self.root = (root or location.db.parent).absolute()
        if remembered is None:
            self.db.set_setting(ROOT_SETTING, str(self.root))
        records = self.db.setting(RECORDS_SETTING)
        self.records_dir = Path(os.path.normpath(self.root / records)) if records else None
        self._layout: Layout | None = None

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def find(
        cls, path: StrPath, *, db: StrPath | None = None, records: StrPath | None = None
    ) -> Library:
        """The library that holds ``path`` (``records`` overrides its records folder for
        this session only).

        Raises
        ------
        LibraryNotFound
            No ``--db``, no ``.linernotes/`` at or above the path, no configured database.
        """
        location = locate(Path(path), db)
        if location is None or (location.how != "found" and not location.db.is_file()):
            raise LibraryNotFound(
                f"{path}: no record yet: no library here or in a folder above (and no --db,"
                f" LINERNOTES_DB or config); run `linernotes analyze {path}` first"
            )
        library = cls(location)
        if records:
            library.records_dir = Path(records).expanduser().absolute()
        return library

    def close(self) -> None:
        self.db.close()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def remember_records(self, folder: Path | None) -> None:
        """Write records under ``folder`` from now on (``None``: beside the audio). The
        folder is remembered relative to the root, so a dataset moved or copied together
        with its records folder keeps finding them."""
        relative = os.path.relpath(folder, self.root) if folder else None
        self.db.set_setting(RECORDS_SETTING, Path(relative).as_posix() if relative else None)
        self.records_dir = folder
        self._layout = None

    # -- naming ----------------------------------------------------------------------------
    def key(self, audio: Path) -> str:
        """The track's name in the library: its path relative to the root (POSIX), or its
        absolute path when it lies outside the root."""
        audio = audio.expanduser().absolute()
        try:
            return audio.relative_to(self.root).as_posix()
        except ValueError:
            return audio.as_posix()

    def audio_path(self, key: str) -> Path:
        """The audio file a key names."""
        path = Path(key)
        return path if path.is_absolute() else self.root / path

    @property
    def layout(self) -> Layout:
        """Where record files go (beside the audio, or mirrored under the records folder)."""
        if self._layout is None:
            self._layout = Layout(root=self.root, out_dir=self.records_dir)
        return self._layout

    # -- records ---------------------------------------------------------------------------
    def record_of(self, audio: StrPath) -> TrackRecord:
        """The stored record of an audio file: by its key, else by its content.

        Raises
        ------
        LookupError
            The file does not exist or has never been analysed.
        """
        path = Path(audio).expanduser().absolute()
        stored = self.db.get_record(self.key(path))
        if stored is None:
            if not path.is_file():
                raise LookupError(f"{path}: file not found")
            try:
                stored = self.db.record_by_hash(file_hash(path, self.db))
            except AudioError as exc:
                raise LookupError(str(exc)) from exc
        if stored is None:
            raise LookupError(f"{path}: no record yet; run `linernotes analyze {path}` first")
        return TrackRecord.from_json(stored)

    def final_of(self, record: TrackRecord, options: ReconcileOptions | None = None) -> FinalFields:
        """The record's final fields: the stored ones while they are current (same reconcile
        version, the library's active edits on top); reconciled afresh with ``options``."""
        edits = self.db.active_edits(record.file.content_hash)
        if options is None and final_is_current(record.final, edits):
            assert record.final is not None
            return record.final
        return reconcile(record, edits, options)

    def save(
        self,
        audio: Path,
        record: TrackRecord,
        *,
        write_files: bool = True,
        final: FinalFields | None = None,
    ) -> None:
        """Reconcile ``record`` once with the library's edits (or take the ``final`` fields
        the caller assembled), store it as ``audio``'s record and (``write_files``) write its
        record and grid files. A crop is made a view of its source track again
        (:func:`~linernotes.library.crop_view.crop_final`), so an edit or undo of a crop
        keeps what it inherits while its own edits win."""
        audio = audio.expanduser().absolute()
        digest = record.file.content_hash
        final = final or crop_final(self.db, audio, record)
        record.final = final or reconcile(record, self.db.active_edits(digest))
        self.db.put_record(self.key(audio), record.file.content_hash, record.to_json(), audio)
        if write_files:
            write_outputs(record, self.layout.paths(audio))

    def refresh(self, content_hash: str) -> list[Path]:
        """Reconcile again, store and rewrite the files of every track with these bytes
        (after an edit or undo); files are rewritten only where they already exist."""
        refreshed = []
        for key in self.db.tracks_with_hash(content_hash):
            stored = self.db.get_record(key)
            if stored is None:
                continue
            audio = self.audio_path(key)
            written = self.layout.paths(audio)["record"].is_file()
            self.save(audio, TrackRecord.from_json(stored), write_files=written)
            refreshed.append(audio)
        return refreshed

    # -- human edits -----------------------------------------------------------------------
    def add_edits(
        self,
        record: TrackRecord,
        changes: Iterable[tuple[str, Any]],
        *,
        locked: bool,
        author: str,
        path: Path | None = None,
    ) -> list[Edit]:
        """Store checked ``(field, value)`` edits of ``record``'s track, then refresh it."""
        digest = record.file.content_hash
        added = [
            self.db.add_edit(Edit(content_hash=digest, field=field, value=value, locked=locked,
                                  author=author), path=str(path) if path else None)
            for field, value in changes
        ]  # fmt: skip
        self.refresh(digest)
        return added

    def import_edits(
        self,
        source: Path,
        root: Path,
        *,
        locked: bool,
        author: str,
        inside: Path | None = None,
    ) -> EditImport:
        """Store the edits of a CSV or JSON file (:mod:`.edit_file`; its tracks found
        relative to it, else by name under ``root``): every row is checked first, and one
        problem (a bad value, an unknown file, a track with no record, audio outside
        ``inside`` when given) stores nothing."""
        from linernotes.library.edit_file import plan_edits

        pending, problems = plan_edits(source, root)
        records: dict[Path, TrackRecord] = {}
        for audio in dict.fromkeys(e.audio for e in pending):
            if inside is not None and not audio.resolve().is_relative_to(inside.resolve()):
                problems.append(f"{audio}: outside the library")
                continue
            try:
                records[audio] = self.record_of(audio)
            except LookupError as exc:
                problems.append(str(exc))
        if problems:
            return EditImport(problems=problems)
        for audio, record in records.items():
            changes = [(e.field, e.value) for e in pending if e.audio == audio]
            self.add_edits(record, changes, locked=locked, author=author, path=audio)
        return EditImport(edits=len(pending), tracks=list(records))

    def undo(self, record: TrackRecord, field: str | None = None) -> Edit | None:
        """Undo the track's latest edit (of ``field`` if given) and refresh it."""
        edit = self.db.undo_edit(record.file.content_hash, field)
        if edit is not None:
            self.refresh(record.file.content_hash)
        return edit


def open_libraries(
    paths: Iterable[StrPath],
    db: StrPath | None = None,
    *,
    outputs: Iterable[Path] = (),
) -> Iterator[tuple[Library, list[Path]]]:
    """Each library of ``paths`` (by :func:`~linernotes.library.location.libraries_for`:
    found, else made where ``analyze`` makes one), open in turn, with its paths.

    Before any is opened, every library folder and each of ``outputs`` is checked to be
    writable (:func:`check_writable`): a batch that could store nothing stops before any
    work, in one line (:class:`OutputError`).
    """
    groups = libraries_for(paths, db)
    for folder in outputs:
        check_writable(folder, "--out")
    for location, _ in groups:
        check_writable(location.db.parent, "the library")
    for location, group in groups:
        with _open(location, default_root=folder_of(group[0])) as library:
            yield library, group


def check_writable(folder: Path, what: str) -> None:
    """Make ``folder`` (and its parents) and write a file in it, or raise
    :class:`OutputError` naming ``what`` and the reason."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".linernotes-probe-"):
            pass
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(describe(exc)) from None
        raise OutputError(f"cannot write {what} at {printable(folder)}: "
                          f"{exc.strerror or exc}") from None  # fmt: skip


def _open(location: Location, *, default_root: Path) -> Library:
    """The library at ``location``; :class:`OutputError` when its database cannot be
    opened or created, :class:`DiskFullError` on a full disk, and a
    :class:`LinernotesError` naming a file that is not a database."""
    try:
        return Library(location, default_root=default_root)
    except (sqlite3.Error, OSError) as exc:
        if is_disk_full(exc):
            raise DiskFullError(describe(exc)) from None
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            raise LinernotesError(f"the library {printable(location.db)} is damaged: "
                                  f"{exc}") from None  # fmt: skip
        raise OutputError(f"cannot open the library {printable(location.db)}: "
                          f"{describe(exc)}") from None  # fmt: skip
