"""The track table behind the list view: one row per track, kept current cheaply.

Reading a record costs a few milliseconds, too much to repeat for 10,000 tracks on every
page. Rows are cached and rebuilt only for tracks whose record changed
(a background :meth:`TrackIndex.watch` walks the library every few seconds for new, removed
and rewritten tracks) or whose human edits changed (checked on every request: one grouped
query on the edit layer, so an edit made with ``linernotes edit`` shows on the next page
load). Filtering, sorting and paging then run over the cached rows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from linernotes.service.library_access import LibraryAccess, TrackRef
from linernotes.service.schemas import TrackRow
from linernotes.service.views import track_row


@dataclass(frozen=True)
class TrackQuery:
    """A filter and an order for the table.

    ``review``: only tracks with a flagged field (or only clean ones when false); ``flag``:
    only tracks with that kind of flag; ``field``: only tracks with that field flagged;
    ``quality_min``/``quality_max``: quality score bounds; ``text``: case-insensitive
    substring of the path, title, artist, key or a flagged field's name.
    """

    review: bool | None = None
    flag: str | None = None
    field: str | None = None
    quality_min: float | None = None
    quality_max: float | None = None
    text: str | None = None
    sort: str = "confidence"
    desc: bool = False

    def matches(self, row: TrackRow) -> bool:
        if self.review is not None and bool(row.flagged) != self.review:
            return False
        if self.flag and self.flag not in row.flags:
            return False
        if self.field and self.field not in row.flagged:
            return False
        if self.quality_min is not None and (row.quality is None or row.quality < self.quality_min):
            return False
        if self.quality_max is not None and (row.quality is None or row.quality > self.quality_max):
            return False
        if self.text:
            hay = " ".join(str(x) for x in (row.id, row.title, row.artist, row.key, *row.flagged))
            return self.text.lower() in hay.lower()
        return True

    def order(self, rows: list[TrackRow]) -> list[TrackRow]:
        """Rows sorted by the key; tracks without the value go last either way."""
        if self.sort == "path":
            return sorted(rows, key=lambda r: r.id, reverse=self.desc)
        attr = "quality" if self.sort == "quality" else "confidence"
        present = [r for r in rows if getattr(r, attr) is not None]
        missing = [r for r in rows if getattr(r, attr) is None]
        present.sort(key=lambda r: (getattr(r, attr), r.id), reverse=self.desc)
        return present + sorted(missing, key=lambda r: r.id)


class TrackIndex:
    """Cached rows of every track of one library."""

    def __init__(self, access: LibraryAccess, *, rescan_s: float = 5.0) -> None:
        self.access = access
        self.rescan_s = rescan_s
        self.refs: dict[str, TrackRef] = {}
        self._rows: dict[str, TrackRow] = {}
        self._keys: dict[str, tuple[object, ...]] = {}
        self._hashes: dict[str, str] = {}
        self._stamps: dict[str, object] = {}
        self._scanned_at = float("-inf")
        self._lock = threading.Lock()
        self._ready = False
        self.progress = (0, 0)

    @property
    def indexing(self) -> bool:
        """The first build is still running (pages hold the rows built so far)."""
        return not self._ready

    def rescan(self) -> None:
        """Find added, removed and rewritten tracks (walk the root, stat the records), then
        bring the rows up to date. The walk runs outside the lock: pages keep being served."""
        refs = {r.id: r for r in self.access.scan()}
        stamps = self.access.stamps(refs.values())
        with self._lock:
            self.refs, self._stamps = refs, stamps
            for gone in set(self._rows) - set(refs):
                self._rows.pop(gone, None)
                self._keys.pop(gone, None)
            self._update()
            self._scanned_at = time.monotonic()
            self._ready = True

    def watch(self, stop: threading.Event) -> None:
        """Rescan until ``stop`` is set, every :attr:`rescan_s` seconds or three times as
        long as a scan takes (a huge library is not walked back to back)."""
        while not stop.is_set():
            start = time.monotonic()
            self.rescan()
            stop.wait(max(self.rescan_s, 3 * (time.monotonic() - start)))

    def refresh(self, *, wait: bool = True) -> None:
        """Rebuild the rows whose human edits changed (one grouped query). With ``wait``
        false and the lock held by a rescan (the first build of a large library), return
        at once: the caller sees the rows built so far."""
        if self._scanned_at == float("-inf"):
            self.rescan()
            return
        if not self._lock.acquire(blocking=wait):
            return
        try:
            self._update()
        finally:
            self._lock.release()

    def _update(self) -> None:
        versions = self.access.edit_versions()
        total = len(self.refs)
        for n, (track_id, ref) in enumerate(self.refs.items()):
            edits = versions.get(self._hashes.get(track_id, ""), {})
            key = (self._stamps.get(track_id), sum(edits.values()))
            if self._keys.get(track_id) == key and track_id in self._rows:
                continue
            self._rows[track_id] = self._build(track_id, ref)
            edits = versions.get(self._hashes.get(track_id, ""), {})
            self._keys[track_id] = (self._stamps.get(track_id), sum(edits.values()))
            self.progress = (n + 1, total)
        self.progress = (total, total)

    def _build(self, track_id: str, ref: TrackRef) -> TrackRow:
        try:
            state = self.access.load(ref)
        except LookupError as exc:
            return TrackRow(id=track_id, analysed=False, error=str(exc))
        except (OSError, ValueError) as exc:
            return TrackRow(id=track_id, analysed=False, error=f"unreadable record: {exc}")
        self._hashes[track_id] = state.record.file.content_hash
        return track_row(state)

    def touch(self, track_id: str) -> None:
        """Forget one track's row (it was just changed here) and restat its record."""
        with self._lock:
            self._keys.pop(track_id, None)
            ref = self.refs.get(track_id)
            if ref is not None:
                self._stamps.update(self.access.stamps([ref]))

    def ref(self, track_id: str) -> TrackRef | None:
        """The track called ``track_id`` (rescanning once for a file added since)."""
        if track_id not in self.refs:
            self.rescan()
        return self.refs.get(track_id)

    def select(self, query: TrackQuery) -> list[TrackRow]:
        """Every matching row, in the query's order."""
        self.refresh(wait=False)
        refs = self.refs
        rows = [r for i, r in list(self._rows.items()) if i in refs and query.matches(r)]
        return query.order(rows)

    def __len__(self) -> int:
        return len(self.refs)
