"""The review service's door to the library: a thin layer over :mod:`linernotes.library`.

The library finds itself from the served folder (:class:`~linernotes.library.shared.
SharedLibrary`), names each track by its path relative to the library root, and keeps records,
final fields and the human-edit layer; an edit or undo made here goes through
:meth:`Library.add_edits <linernotes.library.core.Library.add_edits>` like ``linernotes edit``,
which reconciles the track again and rewrites its record files at once. What this module adds
is what only a web service needs, in the words the API uses:

- :meth:`LibraryAccess.scan` -> the tracks (:class:`TrackRef`: id = the library's key);
- :meth:`~LibraryAccess.stamps`, :meth:`~LibraryAccess.edit_versions` -> what changed since;
- :meth:`~LibraryAccess.load` -> one track's record, final fields and field versions
  (:meth:`~LibraryAccess.record`: its record alone);
- :meth:`~LibraryAccess.set_field`, :meth:`~LibraryAccess.set_lock`,
  :meth:`~LibraryAccess.undo`, :meth:`~LibraryAccess.accept`, :meth:`~LibraryAccess.reject`
  -> a change through the human layer, refused with :class:`VersionConflict` when made on an
  old version of the field (another person changed it meanwhile: HTTP 409);
- :meth:`~LibraryAccess.bulk`, :meth:`~LibraryAccess.history`,
  :meth:`~LibraryAccess.import_edits`, :meth:`~LibraryAccess.vocabulary`;
- :func:`linernotes.service.library_access.jobs.run_job` (in a worker process) -> analyze,
  listen, export or crops with progress.
"""

from __future__ import annotations

import csv
import os
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linernotes.library.layout import Layout
from linernotes.library.shared import SharedLibrary
from linernotes.models import FinalFields, TrackRecord
from linernotes.quality.build import quality_section
from linernotes.reconcile.fields import EDITABLE_FIELDS, canonical_field, parse_value
from linernotes.reconcile.review import REVIEW_BELOW

#: Fields whose confidence makes a track's confidence (the measured core).
CORE_FIELDS = ("bpm", "key", "time_signature")
TIME_SIGNATURES = (
    "2/4",
    "3/4",
    "4/4",
    "5/4",
    "6/4",
    "7/4",
    "2/2",
    "3/8",
    "5/8",
    "6/8",
    "7/8",
    "9/8",
    "12/8",
)


class VersionConflict(Exception):
    """A change was made on an old version of a field (someone else changed it first)."""

    def __init__(self, field_name: str, state: TrackState, detail: str) -> None:
        super().__init__(detail)
        self.field = field_name
        self.state = state
        self.detail = detail


@dataclass(frozen=True)
class TrackRef:
    """A track of the library: ``id`` is its key (its path relative to the library root,
    ``/``-separated), ``sidecar`` its record file."""

    id: str
    audio: Path
    sidecar: Path


@dataclass
class TrackState:
    """One track as the service sees it: record, final fields, per-field edit versions."""

    ref: TrackRef
    record: TrackRecord
    final: FinalFields
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return sum(self.versions.values())

    def flags(self, name: str) -> list[str]:
        """Why field ``name`` is flagged (see :mod:`linernotes.reconcile.review`)."""
        item = self.final.fields.get(name)
        if item is None or not item.review:
            return []
        kinds = []
        if item.value is None:
            kinds.append("no_value")
        elif item.confidence < REVIEW_BELOW:
            kinds.append("low_confidence")
        if any(c.field == name and c.chosen_source != "human" for c in self.final.conflicts):
            kinds.append("conflict")
        if any(r.startswith("tempo octave") for r in item.review_reasons):
            kinds.append("tempo_octave")
        return kinds

    def quality(self) -> tuple[float | None, float | None, list[str]]:
        """(combined score, objective score, one line per failed or warned detector)."""
        section = self.record.quality or quality_section(self.record)
        objective = section.objective
        problems = []
        if objective is not None:
            for name, det in objective.detections.items():
                if det.status in ("fail", "warn"):
                    problems.append(f"{det.status}: {name}: {det.reason}")
        score = objective.score if objective is not None else None
        return section.combined_score, score, problems


class LibraryAccess:
    """The library of the served folder ``root`` (``records``, ``db``: as ``--records`` and
    ``--db``)."""

    def __init__(self, root: Path, *, records: Path | None = None, db: Path | None = None) -> None:
        self.library = SharedLibrary(root, db=db, records=records)
        self.root = self.library.folder
        self.records = self.library.records
        self.db = self.library.db
        self._write_lock = threading.RLock()

    # -- reading ----------------------------------------------------------------------------
    def scan(self) -> list[TrackRef]:
        """Every track under the root (stems of a mix and hidden folders left out)."""
        library = self.library.open()
        layout = library.layout if library else Layout(root=self.root, out_dir=self.records)
        return [TrackRef(self.library.key(f), f, layout.paths(f)["record"])
                for f in self.library.audio()]  # fmt: skip

    def stamps(self, refs: Iterable[TrackRef]) -> dict[str, tuple[object, ...]]:
        """What changes when a track's record is stored again, by track id: the time the
        library stored it and its record file's size and time (``None`` for a file not
        written)."""
        library = self.library.open()
        stored = library.db.record_times() if library else {}
        out: dict[str, tuple[object, ...]] = {}
        for ref in refs:
            try:
                st = ref.sidecar.stat()
                written: object = (st.st_mtime_ns, st.st_size)
            except OSError:
                written = None
            out[ref.id] = (stored.get(ref.id), written)
        return out

    def edit_versions(self) -> dict[str, dict[str, int]]:
        """Per content hash, per field: how many edits and undos the layer holds."""
        library = self.library.open()
        return library.db.edit_versions() if library else {}

    def load(self, ref: TrackRef) -> TrackState:
        """The track's record with the library's active human edits reconciled on top.

        Raises
        ------
        LookupError
            The track has no record yet.
        """
        found = self.library.track(ref.audio)
        digest = found.record.file.content_hash
        versions = self.library.require().db.edit_versions(digest).get(digest, {})
        return TrackState(ref, found.record, found.final, versions)

    def record(self, ref: TrackRef) -> TrackRecord:
        """The track's stored record alone, nothing reconciled: what its audio, waveform and
        history need (the content hash, the codec), read on every seek of the player.

        Raises
        ------
        LookupError
            The track has no record yet.
        """
        return self.library.require().record_of(ref.audio)

    def history(self, ref: TrackRef) -> list[dict[str, Any]]:
        """Every human edit of the track, undone ones included, oldest first."""
        edits = self.library.require().db.edit_history(self.record(ref).file.content_hash)
        return [e.model_dump(exclude={"content_hash"}) for e in edits]

    # -- changing ---------------------------------------------------------------------------
    def set_field(
        self,
        ref: TrackRef,
        name: str,
        value: Any,
        *,
        author: str,
        expected_version: int | None,
        lock: bool | None = None,
    ) -> TrackState:
        """Store a human value for field ``name`` (checked and spelled canonically).

        Raises
        ------
        VersionConflict
            ``expected_version`` is not the field's version.
        ValueError
            Unknown field or invalid value.
        """
        name = self._field(name)
        with self._write_lock:
            state = self._checked(ref, name, expected_version)
            item = state.final.fields.get(name)
            keep = bool(item and item.provenance == "human" and item.locked)
            return self._store(
                state,
                name,
                parse_value(name, value),
                locked=keep if lock is None else lock,
                author=author,
            )

    def set_lock(
        self, ref: TrackRef, name: str, locked: bool, *, author: str, expected_version: int | None
    ) -> TrackState:
        """Lock (verified) or unlock the field's current value: a human edit of that value."""
        name = self._field(name)
        with self._write_lock:
            state = self._checked(ref, name, expected_version)
            value = parse_value(name, state.final.value(name))
            return self._store(state, name, value, locked=locked, author=author)

    def accept(
        self,
        ref: TrackRef,
        name: str,
        *,
        author: str,
        expected_version: int | None,
        value: Any = None,
    ) -> TrackState:
        """A person agrees with the value (or picks ``value``, e.g. an alternative)."""
        name = self._field(name)
        with self._write_lock:
            state = self._checked(ref, name, expected_version)
            chosen = state.final.value(name) if value is None else value
            return self._store(state, name, parse_value(name, chosen), locked=False, author=author)

    def reject(
        self, ref: TrackRef, name: str, *, author: str, expected_version: int | None
    ) -> TrackState:
        """A person says the value is wrong and no alternative fits: the field is cleared
        (exports write nothing for it) until someone sets it; undo brings it back."""
        name = self._field(name)
        with self._write_lock:
            state = self._checked(ref, name, expected_version)
            return self._store(state, name, None, locked=False, author=author)

    def undo(self, ref: TrackRef, name: str, *, expected_version: int | None) -> TrackState:
        """Undo the latest edit of the field (the one before it, if any, is active again).

        Raises
        ------
        VersionConflict
            Stale version, or nothing to undo.
        """
        name = self._field(name)
        with self._write_lock:
            state = self._checked(ref, name, expected_version)
            if self.library.require().undo(state.record, name) is None:
                raise VersionConflict(name, state, f"{name}: no human edit to undo")
            return self.load(ref)

    def bulk(
        self,
        refs: Iterable[TrackRef],
        op: str,
        *,
        author: str,
        name: str | None = None,
        value: Any = None,
    ) -> tuple[list[str], list[str], dict[str, str]]:
        """One change on many tracks, each on its current values: ``bpm_double``,
        ``bpm_half``, ``set`` (``name`` = ``value``), ``lock`` (``name``) or ``accept_all``
        (every flagged field with a value). Returns (changed, unchanged, errors by id)."""
        changed, unchanged, errors = [], [], {}
        for ref in refs:
            try:
                with self._write_lock:
                    done = self._bulk_one(ref, op, author, name, value)
            except (LookupError, ValueError) as exc:
                errors[ref.id] = str(exc)
                continue
            (changed if done else unchanged).append(ref.id)
        return changed, unchanged, errors

    def _bulk_one(self, ref: TrackRef, op: str, author: str, name: str | None, value: Any) -> bool:
        state = self.load(ref)
        changes: list[tuple[str, Any, bool]] = []
        if op in ("bpm_double", "bpm_half"):
            bpm = state.final.value("bpm")
            if bpm is None:
                raise ValueError("no bpm to change")
            changes.append(("bpm", bpm * (2.0 if op == "bpm_double" else 0.5), False))
        elif op in ("set", "lock"):
            target = self._field(name or "")
            new = value if op == "set" else state.final.value(target)
            changes.append((target, new, op == "lock"))
        elif op == "accept_all":
            changes += [
                (n, state.final.value(n), False)
                for n in state.final.review
                if state.final.value(n) is not None
            ]
        else:
            raise ValueError(f"unknown bulk operation {op!r}")
        parsed = [(n, parse_value(n, v), lock) for n, v, lock in changes]
        library = self.library.require()
        for locked in sorted({lock for _, _, lock in parsed}):
            done = [(n, v) for n, v, lock in parsed if lock == locked]
            library.add_edits(state.record, done, locked=locked, author=author, path=ref.audio)
        return bool(parsed)

    def import_edits(self, data: bytes, suffix: str, *, author: str) -> tuple[int, int, list[str]]:
        """Store the edits of an uploaded CSV or JSON file (``linernotes edit --from``
        rules): every row is checked first, and one problem stores nothing. Rows naming
        audio outside the root are problems. Returns (edits, tracks, problems)."""
        library = self.library.open()
        if library is None:
            return 0, 0, [f"{self.root}: no library yet; analyse the tracks first"]
        fd, name = tempfile.mkstemp(prefix=".linernotes-import-", suffix=suffix, dir=self.root)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            with self._write_lock:
                done = library.import_edits(Path(name), self.root, locked=False, author=author,
                                            inside=self.root)  # fmt: skip
        except (ValueError, TypeError, KeyError, csv.Error) as exc:
            return 0, 0, [f"not an edits file: {exc}"]
        finally:
            os.unlink(name)
        return done.edits, len(done.tracks), done.problems

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _field(name: str) -> str:
        canonical = canonical_field(name)
        if canonical not in EDITABLE_FIELDS:
            raise ValueError(f"unknown field {name!r} (editable: {', '.join(EDITABLE_FIELDS)})")
        return canonical

    def _checked(self, ref: TrackRef, name: str, expected: int | None) -> TrackState:
        state = self.load(ref)
        current = state.versions.get(name, 0)
        if expected is not None and expected != current:
            raise VersionConflict(
                name, state, f"{name} was changed meanwhile (version {current}, not {expected})"
            )
        return state

    def _store(
        self, state: TrackState, name: str, value: Any, *, locked: bool, author: str
    ) -> TrackState:
        """One human edit of the track; the library refreshes its record and files."""
        library = self.library.require()
        library.add_edits(state.record, [(name, value)], locked=locked, author=author,
                          path=state.ref.audio)  # fmt: skip
        return self.load(state.ref)

    def vocabulary(self) -> dict[str, Any]:
        """Canonical values for the editor: 24 keys, time signatures, languages, fields,
        export formats and listening prompts."""
        from linernotes.analyzers.tonal.key import MAJOR_KEY_NAMES, MINOR_KEY_NAMES
        from linernotes.export.registry import FORMATS
        from linernotes.listen.prompts import PromptLibrary
        from linernotes.reconcile.normalize import _LANGUAGE_NAMES, ACE_LANGUAGES

        names: dict[str, str] = {}
        for name, code in _LANGUAGE_NAMES.items():
            names.setdefault(code, name.title())
        keys = [f"{k} major" for k in MAJOR_KEY_NAMES] + [f"{k} minor" for k in MINOR_KEY_NAMES]
        return {
            "keys": keys,
            "time_signatures": list(TIME_SIGNATURES),
            "languages": {c: names.get(c, c) for c in sorted(ACE_LANGUAGES)} | {"unknown": "?"},
            "fields": list(EDITABLE_FIELDS),
            "formats": list(FORMATS),
            "prompts": PromptLibrary().names(),
        }
