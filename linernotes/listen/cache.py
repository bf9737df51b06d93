"""Caching listen answers so that a rerun costs nothing.

An answer is keyed by the audio's content hash, the backend, the model id, revision and
variant, the prompt id and version, the exact text sent (it includes the measured context when
given), the generation parameters and the long-track policy: change any of them and the prompt
is asked again. :class:`ListenCache` is the interface; :class:`MemoryListenCache` keeps answers
for one process and :class:`SQLiteListenCache` keeps them in a table of its own, which can live
in the library database beside the analyzer results (it opens the file through the project's
one connection class, :class:`linernotes.sqlite.SQLiteDatabase`: WAL, a long busy timeout,
short ``BEGIN IMMEDIATE`` writes, so that it shares the file safely with the store and the
edit layer).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from linernotes.listen.prompts import RenderedPrompt
from linernotes.sqlite import SQLiteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS listen_results (
    key TEXT PRIMARY KEY, content_hash TEXT NOT NULL, prompt_id TEXT NOT NULL,
    model_id TEXT NOT NULL, entry TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS listen_results_hash ON listen_results (content_hash);
"""


def cache_key(
    content_hash: str,
    backend: dict[str, Any],
    prompt: RenderedPrompt,
    long_audio: str,
) -> str:
    """The identity of one answer (see the module docstring)."""
    blob = json.dumps(
        {
            "audio": content_hash,
            "backend": backend.get("backend"),
            "model": backend.get("model_id"),
            "revision": backend.get("revision"),
            "variant": backend.get("variant"),
            "prompt": prompt.prompt_id,
            "version": prompt.prompt_version,
            "sent": prompt.digest,
            "generation": prompt.generation.explicit(),  # as decoded, defaults filled in
            "long_audio": long_audio,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


@runtime_checkable
class ListenCache(Protocol):
    """Where answers are kept between runs (entries are JSON-ready dicts)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, content_hash: str, entry: dict[str, Any]) -> None: ...


class MemoryListenCache:
    """Answers kept for the life of the process."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        item = self._items.get(key)
        return json.loads(json.dumps(item)) if item is not None else None

    def put(self, key: str, content_hash: str, entry: dict[str, Any]) -> None:
        self._items[key] = json.loads(json.dumps(entry))

    def __len__(self) -> int:
        return len(self._items)


class SQLiteListenCache(SQLiteDatabase):
    """Answers in a ``listen_results`` table of a SQLite file, usually the library database.

    The connection is :class:`~linernotes.sqlite.SQLiteDatabase`'s (WAL, busy timeout, every
    write one short ``BEGIN IMMEDIATE`` transaction), so several processes may share the file
    as they share the library; like the store, one object per process or thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(path, _SCHEMA)

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT entry FROM listen_results WHERE key = ?", (key,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, content_hash: str, entry: dict[str, Any]) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO listen_results"
                " (key, content_hash, prompt_id, model_id, entry, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    key,
                    content_hash,
                    str(entry.get("prompt_id", "")),
                    str(entry.get("model_id", "")),
                    json.dumps(entry),
                    datetime.now(timezone.utc).isoformat(timespec="seconds"),
                ),
            )

    def forget(self, content_hash: str) -> None:
        """Drop every answer about one track (``--force``)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM listen_results WHERE content_hash = ?", (content_hash,))

    def __enter__(self) -> SQLiteListenCache:
        return self
