"""``analyze``: measure every track under some paths into their library, once.

Path -> library -> pipeline -> record -> library: the tracks are found (stems set aside for
their mix), measured in this process or in workers (:mod:`linernotes.pipeline.runner`),
then, here, each measured record is given what the audio model hears (``listener``, loaded
once for the whole batch), reconciled once with the library's human edits, stored once and
written once. A track whose stored record is current is skipped (its files are restored if
missing).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from linernotes.errors import DiskFullError, LinernotesError, describe
from linernotes.fileio import StrPath, is_disk_full
from linernotes.library.core import Library, open_libraries
from linernotes.library.db import LibraryDB
from linernotes.library.layout import write_outputs
from linernotes.library.ray_batch import RaySettings, run_on_ray
from linernotes.library.scan import StemPlan, find_tracks
from linernotes.library.stems import track_stems
from linernotes.models import TrackRecord
from linernotes.pipeline.duplicates import find_duplicates
from linernotes.pipeline.listening import Listener, listen_outcome
from linernotes.pipeline.runner import (
    BatchReport,
    StoreOpener,
    TrackJob,
    TrackOutcome,
    measure_track,
    record_failure,
    run_jobs,
)
from linernotes.pipeline.shard import Journal
from linernotes.pipeline.stems import StemFile
from linernotes.reconcile.core import final_is_current


def analyze_paths(
    paths: Sequence[StrPath],
    *,
    out_dir: StrPath | None = None,
    db_path: StrPath | None = None,
    workers: int = 1,
    force: bool = False,
    write_files: bool = True,
    on_start: Callable[[Path], None] | None = None,
    on_outcome: Callable[[TrackOutcome], None] | None = None,
    listener: Listener | None = None,
    separated_model: str | None = None,
    ray: RaySettings | None = None,
) -> BatchReport:
    """Analyse every audio file under ``paths`` into their library (see the module docstring).

    ``out_dir`` becomes the library's records folder (remembered for later commands);
    ``write_files=False`` stores the records without writing files (``analyze --json``).
    ``on_start`` is called with each track's path as it is handed out, ``on_outcome`` after
    each track, both in this process (progress display). Stems separated earlier
    (``linernotes stems``) join each track's own for the types it lacks; ``separated_model``
    picks the model when a track was separated by several (default: the newest separation).
    ``ray`` runs the batch on a Ray cluster instead of local worker processes
    (:mod:`linernotes.library.ray_batch`).
    """
    report = BatchReport()
    outputs = [Path(out_dir).expanduser().absolute()] if out_dir and write_files else []
    with report.timed():
        for library, group in open_libraries(paths, db_path, outputs=outputs):
            if out_dir:
                library.remember_records(Path(out_dir).expanduser().absolute())
            plan = find_tracks(group)
            for folder, reason in plan.unreadable:
                report.add(TrackOutcome(folder, "failed", f"cannot read folder: {reason}"),
                           on_outcome)  # fmt: skip
            first = len(report.outcomes)
            batch = _Batch(library, report, listener, write_files, on_start, on_outcome,
                           separated_model)  # fmt: skip
            batch.run(plan, workers=workers, force=force, ray=ray)
            report.duplicates += find_duplicates([
                (o.path, TrackRecord.from_json(o.record_json))
                for o in report.outcomes[first:]
                if o.status in ("done", "skipped") and o.record_json is not None
            ])  # fmt: skip
    return report


@dataclass
class _Batch:
    """The tracks of one library in a batch, and what happens around each."""

    library: Library
    report: BatchReport
    listener: Listener | None
    write_files: bool
    on_start: Callable[[Path], None] | None
    on_outcome: Callable[[TrackOutcome], None] | None
    separated_model: str | None = None

    def run(
        self, plan: StemPlan, *, workers: int, force: bool, ray: RaySettings | None = None
    ) -> None:
        library, owner = self.library, os.getpid()
        jobs = [TrackJob(p, library.key(p), tuple(self._stems(p, plan))) for p in plan.tracks]
        if ray is not None:
            run_on_ray(library, jobs, self._stored, settings=ray, listener=self.listener,
                       force=force)  # fmt: skip
            return
        measure = functools.partial(measure_track, force=force, owner=owner,
                                    open_store=StoreOpener(LibraryDB, library.db.path))  # fmt: skip

        def announce(job: TrackJob) -> TrackOutcome:
            if self.on_start is not None:
                self.on_start(job.path)
            return measure(job)

        def finish(outcome: TrackOutcome) -> None:
            try:
                self._store(outcome, listen=True)
            finally:
                if outcome.content_hash is not None and outcome.status != "busy":
                    with contextlib.suppress(Exception):  # a stale claim expires on its own
                        library.db.release(outcome.content_hash, owner)
            self.report.add(outcome, self.on_outcome)

        run_jobs(jobs, announce if workers <= 1 else measure, finish, workers=workers)

    def _stems(self, path: Path, plan: StemPlan) -> list[StemFile]:
        """The track's own stems, and those separated into the library for the others."""
        return track_stems(self.library.location.db, self.library.db, path,
                           plan.stems.get(path, []), model=self.separated_model)  # fmt: skip

    def _stored(self, outcome: TrackOutcome, journal: Journal | None) -> None:
        """Merge a track the cluster measured (and listened to), and report it."""
        self._store(outcome, journal)
        self.report.add(outcome, self.on_outcome)

    def _store(
        self, outcome: TrackOutcome, journal: Journal | None = None, *, listen: bool = False
    ) -> None:
        """Listen (``listen``: a local batch's listener), merge the worker's ``journal``,
        then reconcile, store and write the track. Any error here is the track's own reason
        and the batch goes on, unless the disk is full (:class:`DiskFullError` stops it);
        a failed track's reason is kept in the library."""
        start = time.monotonic()
        try:
            if listen and self.listener is not None:
                listen_outcome(outcome, self.listener, self.library.db)
                start = time.monotonic()  # store_s leaves listening aside
            if journal is not None:
                self.library.db.absorb(journal)
            store_outcome(self.library, outcome, self.write_files)
        except Exception as exc:
            if is_disk_full(exc):
                raise DiskFullError(describe(exc)) from None
            reason = _failure(exc)
            if outcome.status == "failed" and outcome.reason:  # listening had failed first
                reason = f"{outcome.reason}; {reason}"
            outcome.status, outcome.reason = "failed", reason
            outcome.failure_kept = False  # not even a worker's failure was merged
        finally:
            self.report.store_s += time.monotonic() - start
        if outcome.status == "failed" and not outcome.failure_kept:
            record_failure(self.library.db, outcome)


def _failure(exc: Exception) -> str:
    """A track's one-line reason for an error met while storing or writing it."""
    if isinstance(exc, OSError):
        return f"cannot write: {describe(exc)}"
    if isinstance(exc, LinernotesError):
        return str(exc)
    return f"internal error: {describe(exc)}"


def store_outcome(library: Library, outcome: TrackOutcome, write_files: bool) -> None:
    """Reconcile, store and write a track's record, once: a skipped track whose record is
    unchanged (listening added nothing new) and whose final fields are current is not stored
    again; only its missing files are written back."""
    if outcome.record_json is None:
        return
    record = TrackRecord.from_json(outcome.record_json)
    path = outcome.path
    if outcome.status == "skipped" and _unchanged(library, path, record):
        edits = library.db.active_edits(record.file.content_hash)
        if final_is_current(record.final, edits):
            if write_files and not library.layout.complete(path):
                write_outputs(record, library.layout.paths(path))
            return
    library.save(path, record, write_files=write_files)
    outcome.record_json = record.to_json()


def _unchanged(library: Library, path: Path, record: TrackRecord) -> bool:
    """True when ``record`` is the library's stored record of ``path`` (final fields aside)."""
    stored = library.db.get_record(library.key(path))
    if stored is None:
        return False
    return TrackRecord.from_json(stored).model_dump(exclude={"final"}) == record.model_dump(
        exclude={"final"}
    )
