"""The library database: one SQLite file, one connection class, every table linernotes keeps.

=================  ====================================================================
``meta``           schema version, the library root, the remembered records folder
``files``          content hashes cached by (path, size, mtime)
``results``        analyzer results by content hash + analyzer + version + parameters
``records``        one record per track, keyed by its path relative to the library root
``claims``         which process is analysing a track right now
``failures``       the last failure of a path, with its reason
``human_edits``    the human layer: timestamped, undoable, never overwritten by a run
``listen_results`` the audio model's answers, by everything that could change them
=================  ====================================================================

The connection runs in WAL mode with a long busy timeout and every write is one short
``BEGIN IMMEDIATE`` transaction, so several ``analyze`` processes (or workers), an edit and
an export can share the file; open one :class:`LibraryDB` per process or thread. Analyzer
results and records are keyed by content, so a moved or renamed file is recognised and a
changed parameter recomputes only what it affects; human edits live in their own table, so
``analyze --force`` cannot touch them, and nothing there is ever deleted (an undo marks the
edit undone).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from linernotes.fileio import StrPath
from linernotes.models import Edit
from linernotes.pipeline.shard import Journal
from linernotes.pipeline.track import ResultKey

SCHEMA_VERSION = "2"
#: A claim older than this is considered abandoned even if its process cannot be checked.
CLAIM_TTL_S = 6 * 3600.0

_RECORDS = """CREATE TABLE IF NOT EXISTS records (
    track TEXT PRIMARY KEY, content_hash TEXT NOT NULL, record TEXT NOT NULL,
    updated_at TEXT NOT NULL);"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    content_hash TEXT NOT NULL, analyzer TEXT NOT NULL, version TEXT NOT NULL,
    params_hash TEXT NOT NULL, params TEXT NOT NULL, result TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (content_hash, analyzer, version, params_hash));
{_RECORDS}
CREATE INDEX IF NOT EXISTS records_hash ON records (content_hash);
CREATE TABLE IF NOT EXISTS claims (
    content_hash TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
    claimed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS human_edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT, content_hash TEXT NOT NULL, field TEXT NOT NULL,
    value TEXT NOT NULL, locked INTEGER NOT NULL, author TEXT NOT NULL, at TEXT NOT NULL,
    path TEXT, undone_at TEXT);
CREATE INDEX IF NOT EXISTS human_edits_track ON human_edits (content_hash, field, id);
CREATE TABLE IF NOT EXISTS listen_results (
    key TEXT PRIMARY KEY, content_hash TEXT NOT NULL, prompt_id TEXT NOT NULL,
    model_id TEXT NOT NULL, entry TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS listen_results_hash ON listen_results (content_hash);
"""


_PUT_FILE = (
    "INSERT OR REPLACE INTO files (path, size, mtime_ns, content_hash, seen_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
_PUT_RESULT = (
    "INSERT OR REPLACE INTO results (content_hash, analyzer, version, params_hash,"
    " params, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_PUT_FAILURE = "INSERT OR REPLACE INTO failures (path, reason, at) VALUES (?, ?, ?)"
_PUT_ANSWER = (
    "INSERT OR REPLACE INTO listen_results"
    " (key, content_hash, prompt_id, model_id, entry, created_at) VALUES (?, ?, ?, ?, ?, ?)"
)


def _result_row(key: ResultKey, params: dict[str, Any], result: dict[str, Any]) -> tuple:
    return (
        key.content_hash,
        key.analyzer,
        key.version,
        key.params_hash,
        json.dumps(params, sort_keys=True),
        json.dumps(result),
        _now(),
    )


def _answer_row(key: str, content_hash: str, entry: dict[str, Any]) -> tuple:
    return (
        key,
        content_hash,
        str(entry.get("prompt_id", "")),
        str(entry.get("model_id", "")),
        json.dumps(entry),
        _now(),
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LibraryDB(contextlib.AbstractContextManager):
    """A connection to the library database (created with its tables on first open)."""

    def __init__(self, path: StrPath) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout = 60000")
        with contextlib.suppress(sqlite3.OperationalError):
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        with self._transaction() as conn:
            _migrate_v1_records(conn)
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )

    def close(self) -> None:
        self._conn.close()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        row = self._conn.execute(sql, args).fetchone()
        return row[0] if row else None

    # -- settings --------------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        return self._one("SELECT value FROM meta WHERE key = ?", (key,))

    def set_setting(self, key: str, value: str | None) -> None:
        with self._transaction() as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- content hashes of files, cached by (path, size, mtime) ---------------------------
    def cached_hash(self, path: Path, size: int, mtime_ns: int) -> str | None:
        return self._one(
            "SELECT content_hash FROM files WHERE path = ? AND size = ? AND mtime_ns = ?",
            (_name(path), size, mtime_ns),
        )

    def remember_hash(self, path: Path, size: int, mtime_ns: int, content_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute(_PUT_FILE, (_name(path), size, mtime_ns, content_hash, _now()))

    def file_memo(self, path: Path) -> tuple[int, int, str] | None:
        """``(size, mtime_ns, content_hash)`` remembered for ``path``, if any."""
        row = self._conn.execute(
            "SELECT size, mtime_ns, content_hash FROM files WHERE path = ?", (_name(path),)
        ).fetchone()
        return (int(row[0]), int(row[1]), str(row[2])) if row else None

    # -- analyzer results ----------------------------------------------------------------
    def get_result(self, key: ResultKey) -> dict[str, Any] | None:
        text = self._one(
            "SELECT result FROM results WHERE content_hash = ? AND analyzer = ? AND version = ?"
            " AND params_hash = ?",
            (key.content_hash, key.analyzer, key.version, key.params_hash),
        )
        return json.loads(text) if text is not None else None

    def put_results(self, items: list[tuple[ResultKey, dict[str, Any], dict[str, Any]]]) -> None:
        """Store (key, params, result) triples in one transaction."""
        with self._transaction() as conn:
            conn.executemany(_PUT_RESULT, [_result_row(*item) for item in items])

    def results_of(self, content_hash: str) -> dict[ResultKey, dict[str, Any]]:
        """Every stored stage result of these bytes, by key."""
        rows = self._conn.execute(
            "SELECT analyzer, version, params_hash, result FROM results WHERE content_hash = ?",
            (content_hash,),
        ).fetchall()
        return {ResultKey(content_hash, r[0], r[1], r[2]): json.loads(r[3]) for r in rows}

    def absorb(self, journal: Journal) -> None:
        """Merge what a remote worker wrote (:class:`~linernotes.pipeline.shard.Journal`:
        file hashes, stage results, failures, listen answers) in one transaction."""
        with self._transaction() as conn:
            conn.executemany(
                _PUT_FILE,
                [(_name(path), *memo, _now()) for path, *memo in journal.hashes],
            )
            conn.executemany(_PUT_RESULT, [_result_row(*item) for item in journal.results])
            conn.executemany(
                _PUT_FAILURE,
                [(_name(path), reason, _now()) for path, reason in journal.failures],
            )
            conn.executemany(_PUT_ANSWER, [_answer_row(*answer) for answer in journal.answers])

    # -- records, one per track ----------------------------------------------------------
    def get_record(self, track: str) -> str | None:
        """The record of ``track`` (its key: the path relative to the library root)."""
        return self._one("SELECT record FROM records WHERE track = ?", (_name(track),))

    def record_by_hash(self, content_hash: str) -> str | None:
        """The latest record of any track with these bytes (a moved or copied file)."""
        return self._one(
            "SELECT record FROM records WHERE content_hash = ? ORDER BY updated_at DESC LIMIT 1",
            (content_hash,),
        )

    def tracks_with_hash(self, content_hash: str) -> list[str]:
        """The keys of every track with these bytes."""
        rows = self._conn.execute(
            "SELECT track FROM records WHERE content_hash = ? ORDER BY track", (content_hash,)
        ).fetchall()
        return [_text(r[0]) for r in rows]

    def put_record(self, track: str, content_hash: str, record_json: str, path: Path) -> None:
        """Save ``track``'s record (and forget an earlier failure of its file at ``path``)."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO records (track, content_hash, record, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (_name(track), content_hash, record_json, _now()),
            )
            conn.execute("DELETE FROM failures WHERE path = ?", (_name(path),))

    def count_records(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM records", ()))

    # -- failures ------------------------------------------------------------------------
    def put_failure(self, path: Path, reason: str) -> None:
        with self._transaction() as conn:
            conn.execute(_PUT_FAILURE, (_name(path), reason, _now()))

    # -- claims: one process per track at a time -----------------------------------------
    def claim(self, content_hash: str, pid: int | None = None) -> bool:
        """Claim a track for process ``pid`` (default: this one) on this host; False if
        another live process holds it."""
        host, pid, now = socket.gethostname(), pid or os.getpid(), time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT host, pid, claimed_at FROM claims WHERE content_hash = ?", (content_hash,)
            ).fetchone()
            if row is not None and not (row[0] == host and row[1] == pid):
                holder_host, holder_pid, claimed_at = row
                alive = now - claimed_at < CLAIM_TTL_S and (
                    holder_host != host or _pid_alive(holder_pid)
                )
                if alive:
                    return False
            conn.execute(
                "INSERT OR REPLACE INTO claims (content_hash, host, pid, claimed_at)"
                " VALUES (?, ?, ?, ?)",
                (content_hash, host, pid, now),
            )
        return True

    def release(self, content_hash: str, pid: int | None = None) -> None:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM claims WHERE content_hash = ? AND host = ? AND pid = ?",
                (content_hash, socket.gethostname(), pid or os.getpid()),
            )

    # -- human edits ---------------------------------------------------------------------
    def add_edit(self, edit: Edit, *, path: str | None = None) -> Edit:
        """Store ``edit`` (its value already checked) and return it with its id."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO human_edits (content_hash, field, value, locked, author, at, path)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (edit.content_hash, edit.field, json.dumps(edit.value), int(edit.locked),
                 edit.author, edit.at, None if path is None else _name(path)),
            )  # fmt: skip
        return edit.model_copy(update={"id": cursor.lastrowid})

    def edit_history(self, content_hash: str | None = None) -> list[Edit]:
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

    def edit_versions(self, content_hash: str | None = None) -> dict[str, dict[str, int]]:
        """``{content_hash: {field: edits + undos}}`` (of one track if given): a field's
        version, which changes with every edit or undo of it (a face that lets people change
        a field checks it, so that a change made on an old value is refused)."""
        sql = "SELECT content_hash, field, COUNT(*) + COUNT(undone_at) FROM human_edits"
        args: tuple[Any, ...] = ()
        if content_hash:
            sql += " WHERE content_hash = ?"
            args = (content_hash,)
        out: dict[str, dict[str, int]] = {}
        for digest, name, count in self._conn.execute(sql + " GROUP BY 1, 2", args):
            out.setdefault(digest, {})[name] = int(count)
        return out

    def record_times(self) -> dict[str, str]:
        """``{track: when its record was last stored}`` for every track."""
        rows = self._conn.execute("SELECT track, updated_at FROM records").fetchall()
        return {_text(track): at for track, at in rows}

    def active_edits(self, content_hash: str) -> dict[str, Edit]:
        """``{field: edit}``: the latest edit of each field that has not been undone."""
        return {e.field: e for e in self.edit_history(content_hash) if not e.undone}

    def carry_edits(self, old_hash: str, new_hash: str, *, path: str | None = None) -> list[Edit]:
        """Copy the active edits of ``old_hash`` to ``new_hash`` (same field, value, lock,
        author and time), except fields ``new_hash`` already has an active edit of; returns
        the copies. For audio written again with different bytes that is the same piece (a
        crop cut again); the old edits stay."""
        present = self.active_edits(new_hash)
        carried = [e for f, e in self.active_edits(old_hash).items() if f not in present]
        return [self.add_edit(e.model_copy(update={"content_hash": new_hash}), path=path)
                for e in carried]  # fmt: skip

    def undo_edit(self, content_hash: str, field: str | None = None) -> Edit | None:
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
            conn.execute("UPDATE human_edits SET undone_at = ? WHERE id = ?", (_now(), row[0]))
        return next(e for e in self.edit_history(content_hash) if e.id == row[0])

    # -- the audio model's answers (a ListenCache) ----------------------------------------
    def get(self, key: str) -> dict[str, Any] | None:
        """A cached listen answer (:class:`linernotes.listen.cache.ListenCache`)."""
        text = self._one("SELECT entry FROM listen_results WHERE key = ?", (key,))
        return json.loads(text) if text is not None else None

    def put(self, key: str, content_hash: str, entry: dict[str, Any]) -> None:
        """Keep a listen answer (:class:`linernotes.listen.cache.ListenCache`)."""
        with self._transaction() as conn:
            conn.execute(_PUT_ANSWER, _answer_row(key, content_hash, entry))

    def answers_of(self, content_hash: str) -> dict[str, dict[str, Any]]:
        """Every cached listen answer about these bytes, by cache key."""
        rows = self._conn.execute(
            "SELECT key, entry FROM listen_results WHERE content_hash = ?", (content_hash,)
        ).fetchall()
        return {r[0]: json.loads(r[1]) for r in rows}

    def forget_answers(self, content_hash: str) -> None:
        """Drop every listen answer about one track."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM listen_results WHERE content_hash = ?", (content_hash,))


def _name(path: StrPath) -> str | bytes:
    """A file name or track key as SQLite takes it, losslessly: text when it is UTF-8, else
    its bytes (a name that is not UTF-8 holds lone surrogates, which SQLite refuses)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text)


def _text(value: str | bytes) -> str:
    """The name :func:`_name` stored, back as Python names it."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _migrate_v1_records(conn: sqlite3.Connection) -> None:
    """Schema 1 kept one record per content hash with its absolute path; schema 2 keys records
    by track. The old rows move over keyed by their path (the library re-keys a track by its
    relative path the next time it is analysed)."""
    columns = [r[1] for r in conn.execute("PRAGMA table_info(records)").fetchall()]
    if not columns or "track" in columns:
        return
    conn.execute("ALTER TABLE records RENAME TO records_v1")
    conn.execute(_RECORDS)
    conn.execute(
        "INSERT OR REPLACE INTO records (track, content_hash, record, updated_at)"
        " SELECT path, content_hash, record, updated_at FROM records_v1"
    )
    conn.execute("DROP TABLE records_v1")
