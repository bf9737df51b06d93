"""Measuring many tracks: each in this process or in worker processes, with the guarantees a
batch needs. Finished work is skipped; Ctrl-C stops cleanly and the next run resumes; a
broken file is reported in one line and the batch carries on; a track claimed by another
process is left to it.

A worker measures (:func:`measure_track`) and hands the record back; the caller (the
library's batch, :mod:`linernotes.library.analyze`) listens, reconciles and stores it, once,
in its own process, then releases the track's claim.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from linernotes.errors import AudioError, DiskFullError, describe
from linernotes.features import FeatureParams
from linernotes.fileio import is_disk_full, path_text
from linernotes.models import TrackRecord
from linernotes.pipeline.duplicates import DuplicateGroup
from linernotes.pipeline.stems import StemFile, attach_stems, stems_current
from linernotes.pipeline.track import (
    ResultStore,
    analyze_file,
    file_hash,
    pipeline_stages,
    record_is_current,
)
from linernotes.pipeline.workers import run_in_workers

Status = Literal["done", "skipped", "failed", "busy"]


@dataclass
class TrackOutcome:
    """What happened to one track in a batch; ``content_hash`` is set once the track was
    claimed (the claim is the caller's to release)."""

    path: Path
    status: Status
    reason: str | None = None
    audio_s: float = 0.0
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    record_json: str | None = None
    content_hash: str | None = None
    failure_kept: bool = False


_O = TypeVar("_O", bound=TrackOutcome)


@dataclass
class BatchReport:
    """Totals of a batch, for the summary table and the exit code."""

    outcomes: list[TrackOutcome] = field(default_factory=list)
    wall_s: float = 0.0
    interrupted: bool = False
    store_s: float = 0.0
    """Seconds the library's process spent storing tracks (listening aside): merging,
    reconciling, writing the database and the files."""
    stopped: str | None = None
    #: The same recording in several files (:mod:`linernotes.pipeline.duplicates`).
    duplicates: list[DuplicateGroup] = field(default_factory=list)

    def add(self, outcome: _O, on_outcome: Callable[[_O], None] | None = None) -> None:
        """Count one track's ``outcome`` and hand it to ``on_outcome`` (progress display)."""
        self.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def audio_s(self) -> float:
        return sum(o.audio_s for o in self.outcomes if o.status == "done")

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.count("failed") or self.stopped else 0

    @contextlib.contextmanager
    def timed(self) -> Iterator[None]:
        """Run the batch's body: its wall time is kept, and Ctrl-C ends it as
        ``interrupted``, a full disk as ``stopped`` (the next run resumes), instead of
        raising."""
        start = time.monotonic()
        try:
            yield
        except KeyboardInterrupt:
            self.interrupted = True
        except DiskFullError as exc:
            self.stopped = f"disk full: {exc}"
        finally:
            self.wall_s = time.monotonic() - start


class BatchStore(ResultStore, Protocol):
    """A :class:`ResultStore` that also keeps records by track, claims and failures."""

    def get_record(self, track: str) -> str | None: ...

    def claim(self, content_hash: str, pid: int | None = None) -> bool: ...

    def release(self, content_hash: str, pid: int | None = None) -> None: ...

    def put_failure(self, path: Path, reason: str) -> None: ...


@dataclass(frozen=True)
class StoreOpener:
    """Opens the batch's store in whichever process runs a track: ``factory(path)``, once per
    process (picklable, so it travels to worker processes)."""

    factory: Callable[[Path], BatchStore]
    path: Path

    def __call__(self) -> BatchStore:
        if self not in _STORES:
            _STORES[self] = self.factory(self.path)
        return _STORES[self]


_STORES: dict[StoreOpener, BatchStore] = {}


@dataclass(frozen=True)
class TrackJob:
    """One track of a batch: its file, its key in the library, and its stems."""

    path: Path
    key: str
    stems: tuple[StemFile, ...] = ()


def measure_track(
    job: TrackJob,
    *,
    open_store: Callable[[], BatchStore],
    owner: int,
    force: bool = False,
    frontend: FeatureParams | None = None,
) -> TrackOutcome:
    """Claim the track for process ``owner`` and measure it (and its stems), or skip it when
    its stored record is current; never raises for a bad file (the outcome says why), and a
    bad stem is recorded in the stem's entry, not as a failure."""
    start = time.monotonic()
    outcome = TrackOutcome(job.path, "failed")
    store: BatchStore | None = None
    try:
        store = open_store()
        digest = file_hash(job.path, store)
        if not store.claim(digest, owner):
            return TrackOutcome(job.path, "busy", "being analysed by another process")
        outcome.content_hash = digest
        outcome = _measure_claimed(job, digest, store, force, frontend)
        outcome.content_hash = digest
    except AudioError as exc:
        outcome.reason = exc.reason
    except MemoryError:
        outcome.reason = "out of memory"
    except Exception as exc:  # a bug must not stop the batch; report it with the file
        if is_disk_full(exc):
            raise DiskFullError(describe(exc)) from None
        outcome.reason = f"internal error: {describe(exc)}"
    if outcome.status == "failed" and store is not None:
        record_failure(store, outcome)
    outcome.elapsed_s = time.monotonic() - start
    return outcome


def stored_outcome(
    job: TrackJob, digest: str, store: BatchStore, frontend: FeatureParams | None = None
) -> TrackOutcome | None:
    """A "skipped" outcome carrying the stored record when the store holds a current record
    of this track with these bytes (and its stems unchanged); ``None`` when it must be
    measured."""
    stored = store.get_record(job.key)
    if stored is None:
        return None
    record = TrackRecord.from_json(stored)
    if (
        record.file.content_hash == digest
        and record_is_current(record, pipeline_stages(), frontend)
        and record.file.path == path_text(job.path)
        and stems_current(record, job.stems, store)
    ):
        return TrackOutcome(job.path, "skipped", "already analysed", record_json=stored)
    return None


def record_failure(store: BatchStore, outcome: TrackOutcome) -> None:
    """Keep ``outcome``'s reason in the store; should that fail too, the outcome's reason
    says so and the batch goes on (a full disk stops it: :class:`DiskFullError`)."""
    try:
        store.put_failure(outcome.path, outcome.reason or "failed")
    except Exception as exc:
        if is_disk_full(exc):
            raise DiskFullError(describe(exc)) from None
        outcome.reason = f"{outcome.reason} (not kept in the library: {describe(exc)})"
    else:
        outcome.failure_kept = True


def _measure_claimed(
    job: TrackJob, digest: str, store: BatchStore, force: bool, frontend: FeatureParams | None
) -> TrackOutcome:
    stages = pipeline_stages()
    if not force:
        finished = stored_outcome(job, digest, store, frontend)
        if finished is not None:
            return finished
    record = analyze_file(job.path, store=store, force=force, frontend=frontend, stages=stages)
    stem_s = attach_stems(record, job.stems, store=store, frontend=frontend, force=force)
    return TrackOutcome(
        job.path,
        "done",
        audio_s=(record.file.decode.decoded_duration or 0.0) + stem_s,
        warnings=list(record.file.decode.warnings),
        record_json=record.to_json(),
    )


def run_jobs(
    jobs: Sequence[TrackJob],
    measure: Callable[[TrackJob], TrackOutcome],
    on_outcome: Callable[[TrackOutcome], None],
    *,
    workers: int = 1,
) -> None:
    """Run ``measure`` on every job, in this process or in ``workers`` processes (see
    :func:`linernotes.pipeline.workers.run_in_workers`), calling ``on_outcome`` here after
    each.

    On Ctrl-C, queued tracks are cancelled and the tracks in progress are allowed to finish
    (a second Ctrl-C terminates the workers at once); either way nothing is half-written,
    and ``KeyboardInterrupt`` is raised again.
    """
    if workers <= 1:
        for job in jobs:
            on_outcome(measure(job))
        return
    run_in_workers(jobs, measure, on_outcome, workers=workers,
                   failed=lambda job, reason: TrackOutcome(job.path, "failed", reason))  # fmt: skip
