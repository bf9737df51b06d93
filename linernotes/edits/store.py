"""Where human edits live: their own table in the library's SQLite file.

The layer is separate from the analysis results, so ``analyze --force`` (which recomputes and
rewrites records) cannot touch it. Nothing is ever deleted: an undo marks the edit undone and
the field's previous edit, if any, becomes active again, so the full history stays listable.
The connection uses WAL and a busy timeout like :mod:`linernotes.store`, and every write is
one short transaction, so a review tool and a batch run can share the file.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from linernotes.edits.model import Edit, parse_value
from linernotes.sqlite import SQLiteDatabase
from linernotes.store import default_store_path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS human_edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT, content_hash TEXT NOT NULL, field TEXT NOT NULL,
    value TEXT NOT NULL, locked INTEGER NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL,
    path TEXT, undone_at TEXT);
CREATE INDEX IF NOT EXISTS human_edits_track ON human_edits (content_hash, field, id);
"""


def find_library(start: Path) -> Path:
    """The library database for a track or folder: ``LINERNOTES_DB``, else the nearest
    ``.linernotes/library.db`` in ``start`` or a folder above it, else one in ``start``."""
    folder = start if start.is_dir() else start.parent
    folder = folder.absolute()
    if os.environ.get("LINERNOTES_DB"):
        return default_store_path(folder)
    for candidate in (folder, *folder.parents):
        db = candidate / ".linernotes" / "library.db"
        if db.is_file():
            return db
    return folder / ".linernotes" / "library.db"


class EditStore(SQLiteDatabase):
    """The human-edit layer of one library database."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, _SCHEMA)

    def add(
        self,
        content_hash: str,
        field: str,
        value: Any,
        *,
        locked: bool = False,
        author: str = "unknown",
        path: str | None = None,
        parse: bool = True,
    ) -> Edit:
        """Record a human value for ``field`` (checked and canonically spelled unless
        ``parse`` is false) and return the stored edit."""
        value = parse_value(field, value) if parse else value
        edit = Edit(content_hash=content_hash, field=field, value=value, locked=locked,
                    author=author)  # fmt: skip
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO human_edits (content_hash, field, value, locked, author, at, path)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (content_hash, field, json.dumps(value), int(locked), author, edit.at, path),
            )
        return edit.model_copy(update={"id": cursor.lastrowid})

    def history(self, content_hash: str | None = None) -> list[Edit]:
        """Every edit (undone ones included), oldest first; of one track if given."""
        sql = (
            "SELECT id, content_hash, field, value, locked, author, at, undone_at FROM human_edits"
        )
        args: tuple[Any, ...] = ()
        if content_hash:
            sql += " WHERE content_hash = ?"
            args = (content_hash,)
        rows = self._conn.execute(sql + " ORDER BY id", args).fetchall()
        return [
            Edit(id=r[0], content_hash=r[1], field=r[2], value=json.loads(r[3]),
                 locked=bool(r[4]), author=r[5], at=r[6], undone=r[7] is not None)
            for r in rows
        ]  # fmt: skip

    def active(self, content_hash: str) -> dict[str, Edit]:
        """``{field: edit}``: the latest edit of each field that has not been undone."""
        out: dict[str, Edit] = {}
        for edit in self.history(content_hash):
            if not edit.undone:
                out[edit.field] = edit
        return out

    def carry(self, old_hash: str, new_hash: str, *, path: str | None = None) -> list[Edit]:
        """Copy the active edits of ``old_hash`` to ``new_hash`` (same field, value, lock,
        author and time), except fields ``new_hash`` already has an active edit of; returns
        the copies. For audio that was written again with different bytes but is the same
        piece (a crop cut again): edits are keyed by content, so without this they would be
        left behind with the old bytes. The old edits stay (nothing is ever deleted)."""
        out = []
        with self._transaction() as conn:
            present = self.active(new_hash)
            for edit in [e for f, e in self.active(old_hash).items() if f not in present]:
                cursor = conn.execute(
                    "INSERT INTO human_edits (content_hash, field, value, locked, author, at,"
                    " path) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (new_hash, edit.field, json.dumps(edit.value), int(edit.locked),
                     edit.author, edit.at, path),
                )  # fmt: skip
                out.append(edit.model_copy(update={"id": cursor.lastrowid,
                                                   "content_hash": new_hash}))  # fmt: skip
        return out

    def undo(self, content_hash: str, field: str | None = None) -> Edit | None:
        """Undo the latest active edit of the track (of ``field`` if given); returns it, or
        ``None`` when there is nothing to undo."""
        sql = "SELECT id FROM human_edits WHERE content_hash = ? AND undone_at IS NULL"
        args: tuple[Any, ...] = (content_hash,)
        if field:
            sql += " AND field = ?"
            args += (field,)
        with self._transaction() as conn:
            row = conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
            if row is None:
                return None
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            conn.execute("UPDATE human_edits SET undone_at = ? WHERE id = ?", (now, row[0]))
        return next(e for e in self.history(content_hash) if e.id == row[0])
