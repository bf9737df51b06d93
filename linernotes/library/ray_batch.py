"""``analyze --executor ray``: the same batch on a Ray cluster, the library written by one
process.

The process that runs the command (Ray's *driver*) owns the library. For each chunk of
tracks it:

1. skips the tracks whose stored record is current (it knows their hash from the library's
   memo of path, size and mtime, so a resumed batch redoes nothing it finished);
2. sends every other track, with what the library knows about it (a
   :class:`~linernotes.pipeline.shard.Known`), through a Ray Data pipeline: measuring as one
   CPU task per track (decode, features, stages, stems), then, with a listener, an actor pool
   whose actors each hold the model (``num_gpus`` each, tracks in batches);
3. merges each track as it streams back: the worker's journal (hashes, stage results,
   failures, listen answers) in one transaction, then the record reconciled with the human
   edits, stored and written once (:func:`linernotes.library.analyze.store_outcome`).

Workers never open the SQLite file, so the library can sit on the driver's local disk while
the audio is on storage every node can read. A task whose worker dies is run again by Ray Data
(its results were never merged); a driver that dies loses only the tracks in flight, and the
same command resumes. One Ray batch writes a library at a time (a claim in the library, taken
over when its process is gone).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from linernotes.errors import DiskFullError, LinernotesError, describe
from linernotes.fileio import is_disk_full
from linernotes.library.core import Library
from linernotes.library.db import LibraryDB
from linernotes.pipeline.listening import Listener
from linernotes.pipeline.ray_stages import TrackWork, listen_actor, measure_row, work_of
from linernotes.pipeline.runner import TrackJob, TrackOutcome, stored_outcome
from linernotes.pipeline.shard import Journal, Known, ShardStore

#: The claim a Ray batch holds on its library (the claims table, keyed like a track).
DRIVER_CLAIM = "executor:ray"
#: The reason given for a track whose task Ray Data gave up on.
LOST = "lost on the cluster: its task failed (see Ray's logs)"
#: Memory a measuring task reserves (decoding a 10-minute stereo track at 44.1 kHz holds
#: about 200 MB of samples, the features about as much again).
MEASURE_MEMORY_BYTES = 512 * 1024**2


@dataclass(frozen=True)
class RaySettings:
    """Where and how wide a Ray batch runs.

    ``address``: ``auto`` (the cluster this machine belongs to), ``ray://host:10001``, or
    ``local`` (start Ray here with ``workers`` CPUs, plus one per listen actor; all of this
    machine's when ``workers`` is ``None``). ``workers``: measuring tasks at a time (``None``:
    as many as the cluster's free CPUs allow). ``actors``: listen actors, each holding a model,
    with ``gpus`` GPUs and ``cpus`` CPUs each, taking ``batch`` tracks at a time. ``chunk``:
    tracks per dataset run (what the driver holds in memory at once).
    """

    address: str = "auto"
    workers: int | None = None
    actors: int = 1
    gpus: float = 0.0
    cpus: float = 1.0
    batch: int = 4
    chunk: int = 1000


def connect(settings: RaySettings, *, listening: bool = False) -> None:
    """Join (or start, for ``local``) the Ray cluster, unless this process already has."""
    try:
        import ray
    except ImportError as exc:
        raise LinernotesError("--executor ray needs Ray: pip install 'linernotes[ray]'") from exc
    if ray.is_initialized():
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.WARNING,
    }
    if settings.address == "local":
        extra = settings.actors * settings.cpus if listening else 0
        cpus = None if settings.workers is None else settings.workers + math.ceil(extra)
        ray.init(num_cpus=cpus, **options)
    else:
        ray.init(address=settings.address, **options)


def known_about(db: LibraryDB, job: TrackJob) -> Known:
    """What the library knows about a job's track and stems (see :class:`Known`)."""
    known = Known()
    for path in (job.path, *(stem.path for stem in job.stems)):
        memo = db.file_memo(path)
        if memo is None:
            continue
        known.hashes[str(path)] = memo
        known.results.update(db.results_of(memo[2]))
        if path == job.path:
            known.answers.update(db.answers_of(memo[2]))
            by_hash = db.record_by_hash(memo[2])
            if by_hash is not None:
                known.records_by_hash[memo[2]] = by_hash
    stored = db.get_record(job.key)
    if stored is not None:
        known.records[job.key] = stored
    return known


def finished_outcome(db: LibraryDB, job: TrackJob) -> TrackOutcome | None:
    """The "skipped" outcome of a track the library has finished, judged without reading
    the audio (its hash comes from the library's memo while size and mtime are unchanged)."""
    try:
        st = job.path.stat()
    except OSError:
        return None
    digest = db.cached_hash(job.path, st.st_size, st.st_mtime_ns)
    if digest is None:
        return None
    outcome = stored_outcome(job, digest, db)
    if outcome is not None:
        outcome.content_hash = digest
    return outcome


def run_on_ray(
    library: Library,
    jobs: Sequence[TrackJob],
    finish: Callable[[TrackOutcome, Journal | None], None],
    *,
    settings: RaySettings,
    listener: Listener | None = None,
    force: bool = False,
) -> None:
    """Run ``jobs`` on Ray (see the module docstring), calling ``finish`` here with each
    track's outcome and its worker's journal (``None`` for a track finished before), which
    ``finish`` merges into the library (:meth:`LibraryDB.absorb`) before storing the record."""
    db = library.db
    if not db.claim(DRIVER_CLAIM, os.getpid()):
        raise LinernotesError(
            f"{library.location.db}: another Ray batch is writing this library; wait for it"
        )
    try:
        for start in range(0, len(jobs), max(1, settings.chunk)):
            works = []
            for job in jobs[start : start + settings.chunk]:
                try:
                    work = planned_work(db, job, listener is not None, force)
                except Exception as exc:  # one track's trouble is its own (see finish)
                    if is_disk_full(exc):
                        raise DiskFullError(describe(exc)) from None
                    finish(TrackOutcome(job.path, "failed", f"internal error: {describe(exc)}"),
                           None)  # fmt: skip
                    continue
                if isinstance(work, TrackWork):
                    works.append(work)
                else:
                    finish(work, None)
            if works:  # Ray is joined only when there is work for it
                connect(settings, listening=listener is not None)
            waiting = {work.job.key: work.job for work in works}
            for work in stream_works(works, settings, listener):
                assert work.outcome is not None
                waiting.pop(work.job.key, None)
                finish(work.outcome, work.store.journal)
            for job in waiting.values():  # finish keeps the reason in the library
                finish(TrackOutcome(job.path, "failed", LOST), None)
    finally:
        with contextlib.suppress(Exception):  # a dead driver's claim is taken over anyway
            db.release(DRIVER_CLAIM, os.getpid())


def planned_work(
    db: LibraryDB, job: TrackJob, listening: bool, force: bool
) -> TrackWork | TrackOutcome:
    """The work to send out for ``job``, or its "skipped" outcome when the library has
    finished it and nothing is to be listened to."""
    done = None if force else finished_outcome(db, job)
    if done is not None and not listening:
        return done
    return TrackWork(job, ShardStore(known_about(db, job)), done, force)


def stream_works(
    works: list[TrackWork], settings: RaySettings, listener: Listener | None
) -> Iterator[TrackWork]:
    """The works, measured (and listened to) on the cluster, in the order they finish (a work
    that already has an outcome passes the measuring stage untouched)."""
    if not works:
        return
    import ray.data

    dataset = one_row_per_block([w.row() for w in works])
    width = None if settings.workers is None else max(1, settings.workers)
    tasks = ray.data.TaskPoolStrategy(size=width)
    # measuring stays a task of its own (its memory reservation keeps Ray Data from fusing
    # it into the listen actors, which would leave the GPU idle while a track decodes); Ray
    # Data runs a task again when its worker dies
    dataset = dataset.map(measure_row, num_cpus=1, memory=MEASURE_MEMORY_BYTES, compute=tasks)
    if listener is not None:
        dataset = through_actors(dataset, listen_actor(listener), settings)
    for row in dataset.iter_rows():
        yield work_of(row)


def one_row_per_block(rows: list[dict[str, Any]]) -> Any:
    """A Ray dataset of ``rows``, one block each (a retry redoes one track), with Ray Data's
    progress bars and banners off."""
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.ERROR)
    # fewer tracks than measuring tasks is not worth a warning
    warnings.filterwarnings("ignore", "The maximum number of concurrent tasks", UserWarning)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    context.max_errored_blocks = -1  # a track whose task keeps failing fails alone
    return ray.data.from_items(rows, override_num_blocks=len(rows))


def through_actors(dataset: Any, actor: type, settings: RaySettings) -> Any:
    """``dataset`` mapped in batches of ``settings.batch`` rows by a pool of
    ``settings.actors`` actors of class ``actor`` (each with its GPUs and CPUs)."""
    import ray.data

    return dataset.map_batches(
        actor,
        batch_size=max(1, settings.batch),
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=max(1, settings.actors)),
        num_gpus=settings.gpus,
        num_cpus=settings.cpus,
    )
