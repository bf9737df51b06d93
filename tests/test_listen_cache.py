"""Listen answers are cached in the library database, through its one connection class."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from linernotes.library.db import LibraryDB
from linernotes.listen.cache import ListenCache


def _entry(prompt: str, text: str) -> dict[str, object]:
    return {"prompt_id": prompt, "model_id": "tiny", "raw_text": text}


def test_cache_is_a_library_connection_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "lib" / ".linernotes" / "library.db"
    with LibraryDB(db) as cache:
        assert isinstance(cache, ListenCache)
        assert cache._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cache._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 60000
        cache.put("k1", "hash-a", _entry("caption", "warm synths"))
        assert cache.get("k1") == _entry("caption", "warm synths")
        assert cache.get("missing") is None
    # same table and index as before the move, readable by any client
    plain = sqlite3.connect(db)
    names = {r[0] for r in plain.execute("SELECT name FROM sqlite_master")}
    assert {"listen_results", "listen_results_hash"} <= names
    row = plain.execute("SELECT content_hash, prompt_id, model_id FROM listen_results").fetchone()
    assert row == ("hash-a", "caption", "tiny")
    plain.close()


def test_cache_shares_the_file_with_the_store_and_other_connections(tmp_path: Path) -> None:
    db = tmp_path / "library.db"
    with LibraryDB(db) as store, LibraryDB(db) as one, LibraryDB(db) as two:
        one.put("k1", "hash-a", _entry("caption", "first"))
        one.put("k2", "hash-a", _entry("quality", "{}"))
        one.put("k3", "hash-b", _entry("caption", "other track"))
        assert two.get("k1") == _entry("caption", "first")  # committed at once
        two.put("k1", "hash-a", _entry("caption", "replaced"))
        assert one.get("k1") == _entry("caption", "replaced")
        one.forget_answers("hash-a")  # every answer about one track
        assert two.get("k1") is None and two.get("k2") is None
        assert two.get("k3") == _entry("caption", "other track")
        assert store.count_records() == 0  # the records' table sits beside it, untouched
