"""A track's store on a remote worker: what the library knows about it, and what the worker
adds, kept in memory and handed back.

Workers on other machines never open the library's SQLite file (one file shared over a
network filesystem is neither safe nor fast). The process that owns the library packs what it
already knows about a job's files into :class:`Known` (their content hashes, finished stage
results, the stored record, cached listen answers) and sends it with the job; the worker runs
the ordinary pipeline against a :class:`ShardStore` built on it, and every write lands in the
store's :class:`Journal`, which travels back with the record for the one writer to merge.

Examples
--------
>>> store = ShardStore(Known(hashes={"/a.wav": (10, 5, "h1")}))
>>> store.cached_hash(Path("/a.wav"), 10, 5)
'h1'
>>> store.put_failure(Path("/b.wav"), "cannot decode")
>>> store.journal.failures
[('/b.wav', 'cannot decode')]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linernotes.pipeline.track import ResultKey

ResultItem = tuple[ResultKey, dict[str, Any], dict[str, Any]]


@dataclass
class Known:
    """The library's knowledge of one job's files (picklable, sent with the job).

    ``hashes`` maps a path to ``(size, mtime_ns, content_hash)``; ``results`` holds stage
    results by key; ``records`` the stored record by track key; ``records_by_hash`` the
    latest record of some content; ``answers`` cached listen answers by cache key.
    """

    hashes: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    results: dict[ResultKey, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)
    records_by_hash: dict[str, str] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Journal:
    """Everything a worker wrote, in order of kind, for the library's writer to merge."""

    hashes: list[tuple[str, int, int, str]] = field(default_factory=list)
    results: list[ResultItem] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    answers: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.hashes) + len(self.results) + len(self.failures) + len(self.answers)


class ShardStore:
    """The batch store (:class:`linernotes.pipeline.runner.BatchStore`) and listen cache
    (:class:`linernotes.listen.cache.ListenCache`) of one job on a worker: reads answer from
    :class:`Known` and from this job's own writes, writes go to :attr:`journal`.

    Claims always succeed: the process that owns the library hands each track to one task at
    a time, so there is nobody to race with here.
    """

    def __init__(self, known: Known | None = None) -> None:
        self.known = known or Known()
        self.journal = Journal()
        self._results: dict[ResultKey, dict[str, Any]] = {}
        self._answers: dict[str, dict[str, Any]] = {}

    # -- file hashes -----------------------------------------------------------------------
    def cached_hash(self, path: Path, size: int, mtime_ns: int) -> str | None:
        memo = self.known.hashes.get(str(path))
        return memo[2] if memo is not None and memo[:2] == (size, mtime_ns) else None

    def remember_hash(self, path: Path, size: int, mtime_ns: int, content_hash: str) -> None:
        self.known.hashes[str(path)] = (size, mtime_ns, content_hash)
        self.journal.hashes.append((str(path), size, mtime_ns, content_hash))

    # -- stage results ---------------------------------------------------------------------
    def get_result(self, key: ResultKey) -> dict[str, Any] | None:
        hit = self._results.get(key, self.known.results.get(key))
        return json.loads(json.dumps(hit)) if hit is not None else None

    def put_results(self, items: list[ResultItem]) -> None:
        for key, params, result in items:
            self._results[key] = result
            self.journal.results.append((key, params, result))

    # -- records ---------------------------------------------------------------------------
    def get_record(self, track: str) -> str | None:
        return self.known.records.get(track)

    def record_by_hash(self, content_hash: str) -> str | None:
        return self.known.records_by_hash.get(content_hash)

    # -- claims and failures ---------------------------------------------------------------
    def claim(self, content_hash: str, pid: int | None = None) -> bool:
        return True

    def release(self, content_hash: str, pid: int | None = None) -> None:
        return None

    def put_failure(self, path: Path, reason: str) -> None:
        self.journal.failures.append((str(path), reason))

    # -- listen answers --------------------------------------------------------------------
    def get(self, key: str) -> dict[str, Any] | None:
        hit = self._answers.get(key, self.known.answers.get(key))
        return json.loads(json.dumps(hit)) if hit is not None else None

    def put(self, key: str, content_hash: str, entry: dict[str, Any]) -> None:
        self._answers[key] = json.loads(json.dumps(entry))
        self.journal.answers.append((key, content_hash, self._answers[key]))
