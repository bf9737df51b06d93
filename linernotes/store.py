"""The library store: one SQLite database holding every result linernotes has computed.

Analyzer results are keyed by content hash + analyzer name + version + parameter digest, so a
rerun skips finished work, a moved or renamed file is recognised by its content, and a changed
parameter recomputes only what it affects. The database runs in WAL mode with a busy timeout,
and every write is one short transaction, so several ``analyze`` processes (or workers) can
share it; a claim table keeps two processes from analysing the same track at once.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from linernotes.sqlite import SQLiteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    content_hash TEXT NOT NULL, seen_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    content_hash TEXT NOT NULL, analyzer TEXT NOT NULL, version TEXT NOT NULL,
    params_hash TEXT NOT NULL, params TEXT NOT NULL, result TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY (content_hash, analyzer, version, params_hash));
CREATE TABLE IF NOT EXISTS records (
    content_hash TEXT PRIMARY KEY, path TEXT NOT NULL, record TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims (
    content_hash TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,
    claimed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY, reason TEXT NOT NULL, at TEXT NOT NULL);
"""
SCHEMA_VERSION = "1"
#: A claim older than this is considered abandoned even if its process cannot be checked.
CLAIM_TTL_S = 6 * 3600.0


@dataclass(frozen=True)
class ResultKey:
    """Identity of one analyzer result."""

    content_hash: str
    analyzer: str
    version: str
    params_hash: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store(SQLiteDatabase):
    """A connection to the library database; one per process (or worker)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, _SCHEMA)
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )

    # -- content hashes of files, cached by (path, size, mtime) ---------------------------
    def cached_hash(self, path: Path, size: int, mtime_ns: int) -> str | None:
        row = self._conn.execute(
            "SELECT content_hash FROM files WHERE path = ? AND size = ? AND mtime_ns = ?",
            (str(path), size, mtime_ns),
        ).fetchone()
        return row[0] if row else None

    def remember_hash(self, path: Path, size: int, mtime_ns: int, content_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, content_hash, seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (str(path), size, mtime_ns, content_hash, _now()),
            )

    # -- analyzer results ----------------------------------------------------------------
    def get_result(self, key: ResultKey) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT result FROM results WHERE content_hash = ? AND analyzer = ? AND version = ?"
            " AND params_hash = ?",
            (key.content_hash, key.analyzer, key.version, key.params_hash),
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put_results(self, items: list[tuple[ResultKey, dict[str, Any], dict[str, Any]]]) -> None:
        """Store (key, params, result) triples in one transaction."""
        with self._transaction() as conn:
            for key, params, result in items:
                conn.execute(
                    "INSERT OR REPLACE INTO results (content_hash, analyzer, version, params_hash,"
                    " params, result, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key.content_hash,
                        key.analyzer,
                        key.version,
                        key.params_hash,
                        json.dumps(params, sort_keys=True),
                        json.dumps(result),
                        _now(),
                    ),
                )

    def forget_results(self, content_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM results WHERE content_hash = ?", (content_hash,))

    # -- records -------------------------------------------------------------------------
    def get_record(self, content_hash: str) -> str | None:
        row = self._conn.execute(
            "SELECT record FROM records WHERE content_hash = ?", (content_hash,)
        ).fetchone()
        return row[0] if row else None

    def find_record_by_path(self, path: Path) -> str | None:
        row = self._conn.execute(
            "SELECT record FROM records WHERE path = ? ORDER BY updated_at DESC LIMIT 1",
            (str(path),),
        ).fetchone()
        return row[0] if row else None

    def put_record(self, content_hash: str, path: Path, record_json: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO records (content_hash, path, record, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (content_hash, str(path), record_json, _now()),
            )
            conn.execute("DELETE FROM failures WHERE path = ?", (str(path),))

    def count_records(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    # -- failures ------------------------------------------------------------------------
    def put_failure(self, path: Path, reason: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO failures (path, reason, at) VALUES (?, ?, ?)",
                (str(path), reason, _now()),
            )

    # -- claims: one process per track at a time -----------------------------------------
    def claim(self, content_hash: str) -> bool:
        """Claim a track for this process; False if a live process holds it."""
        host, pid, now = socket.gethostname(), os.getpid(), time.time()
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

    def release(self, content_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM claims WHERE content_hash = ? AND host = ? AND pid = ?",
                (content_hash, socket.gethostname(), os.getpid()),
            )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def default_store_path(folder: Path) -> Path:
    """Where a folder's library lives unless ``--db`` or ``LINERNOTES_DB`` says otherwise."""
    env = os.environ.get("LINERNOTES_DB")
    if env:
        return Path(env)
    return folder / ".linernotes" / "library.db"
