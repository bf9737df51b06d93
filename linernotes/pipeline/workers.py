"""A pool of worker processes that survives the death of one of them.

``ProcessPoolExecutor`` gives up when a worker dies (the OOM killer, ``kill -9``): every
pending future raises ``BrokenProcessPool`` and the batch is lost. Here each worker says
which job it starts (a queue shared at start-up), so when the pool breaks the job whose
worker was killed is known: it becomes a failure with the signal as its reason ("worker
killed, signal 9"), the jobs that were merely queued or running beside it are handed to a
fresh pool, and the batch goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from multiprocessing.queues import SimpleQueue
from pathlib import Path
from typing import Any, Protocol, TypeVar


class _Job(Protocol):
    @property
    def path(self) -> Path: ...


J = TypeVar("J", bound=_Job)
O = TypeVar("O")  # noqa: E741

#: How often a job may be handed to a fresh pool after a worker died beside it.
MAX_RETRIES = 2

_started: SimpleQueue[tuple[int, Path]] | None = None


def _init_worker(started: SimpleQueue[tuple[int, Path]]) -> None:
    global _started
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # a worker the pool terminates must die by SIGTERM, whatever handler the parent set
    # (ray.init installs one that exits 0): that is how the killed worker is told apart
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _started = started


def _announced(measure: Callable[[J], O], job: J) -> O:
    if _started is not None:
        _started.put((os.getpid(), job.path))
    return measure(job)


def death_reason(exitcode: int | None) -> str:
    """How a worker ended, in words: ``worker killed, signal 9``."""
    if exitcode is not None and exitcode < 0:
        return f"worker killed, signal {-exitcode}"
    return f"worker exited (code {exitcode})" if exitcode is not None else "worker died"


class _Pool:
    """One ``ProcessPoolExecutor`` and what is needed to tell which job killed it."""

    def __init__(self, workers: int) -> None:
        # forkserver, not fork: a forked worker inherits the parent's threads' locks and its
        # uncollected PyAV filter graphs, and one such worker hung for good in the collector
        # freeing a graph (avfilter_graph_free joining a slice thread). Python 3.14 makes
        # forkserver the default on Linux for this reason (Windows has only spawn).
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else None)
        self.started: SimpleQueue[tuple[int, Path]] = context.SimpleQueue()
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                            initializer=_init_worker,
                                            initargs=(self.started,))  # fmt: skip
        self.processes: dict[int, BaseProcess] = {}
        self.running: dict[int, Path] = {}

    def submit(self, measure: Callable[[J], O], job: J) -> Future[O]:
        future = self.executor.submit(_announced, measure, job)
        self.processes.update(getattr(self.executor, "_processes", None) or {})
        return future

    def dead(self) -> dict[Path, str]:
        """Shut the broken pool down and return ``{path: reason}`` of the jobs whose worker
        was killed (its exit code is only certain once the pool has joined its workers)."""
        while not self.started.empty():
            pid, path = self.started.get()
            self.running[pid] = path
        self.close()
        for proc in self.processes.values():
            proc.join(timeout=5)
        found: dict[Path, str] = {}
        ended = {pid: proc for pid, proc in self.processes.items() if not proc.is_alive()}
        # The pool terminates the other workers (SIGTERM) once one died: blame those last.
        killed = {pid: p for pid, p in ended.items() if p.exitcode != -signal.SIGTERM} or ended
        for pid, proc in killed.items():
            if pid in self.running:
                found[self.running[pid]] = death_reason(proc.exitcode)
        return found

    def close(self, *, wait_for_workers: bool = True) -> None:
        self.executor.shutdown(wait=wait_for_workers, cancel_futures=True)
        with contextlib.suppress(OSError):
            self.started.close()


def run_in_workers(
    jobs: Sequence[J],
    measure: Callable[[J], O],
    on_outcome: Callable[[O], None],
    *,
    workers: int,
    failed: Callable[[J, str], O],
) -> None:
    """Run ``measure`` on every job in ``workers`` processes (at most ``2 * workers``
    queued at a time), calling ``on_outcome`` here after each; a job whose worker died is
    reported as ``failed(job, reason)`` and the others go on in a fresh pool.

    ``measure`` and the jobs must be picklable. On Ctrl-C, queued jobs are cancelled and
    those in progress finish (a second Ctrl-C terminates the workers); ``KeyboardInterrupt``
    is raised again.
    """
    queue: deque[J] = deque(jobs)
    retries: dict[int, int] = {}
    pool = _Pool(workers)
    pending: dict[Future[O], J] = {}
    try:
        while queue or pending:
            while queue and len(pending) < 2 * workers:
                job = queue.popleft()
                pending[pool.submit(measure, job)] = job
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken: list[J] = []
            for future in done:
                job = pending.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken.append(job)
                    continue
                on_outcome(outcome)
            if broken:
                wait(pending, return_when=ALL_COMPLETED)
                for future, job in pending.items():
                    if future.exception() is None:
                        on_outcome(future.result())
                    else:
                        broken.append(job)
                pending.clear()
                dead = pool.dead()
                pool = _Pool(workers)
                again: list[J] = []
                for job in broken:
                    tries = retries.get(id(job), 0)
                    if job.path in dead or tries >= MAX_RETRIES:
                        on_outcome(failed(job, dead.get(job.path, "worker died")))
                    else:
                        retries[id(job)] = tries + 1
                        again.append(job)
                queue.extendleft(reversed(again))
    except KeyboardInterrupt:
        _interrupt(pool, pending, on_outcome)
        raise
    except BaseException:
        pool.close(wait_for_workers=False)
        raise
    pool.close()


def _interrupt(
    pool: _Pool, pending: dict[Future[Any], Any], on_outcome: Callable[..., None]
) -> None:
    for future in pending:
        future.cancel()
    try:
        done, _ = wait(pending, return_when=ALL_COMPLETED)
        for future in done:
            if not future.cancelled() and future.exception() is None:
                on_outcome(future.result())
    except KeyboardInterrupt:
        for proc in list(pool.processes.values()):
            proc.terminate()
    pool.close(wait_for_workers=False)
