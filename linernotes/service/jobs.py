"""Long work started from the UI (analyze, listen, export, crops), one job at a time.

Each job runs in a worker process (:mod:`linernotes.service.worker`), so a heavy analysis
neither blocks the API nor can take the server down with it. The worker prints one JSON line
per progress step; they are kept on the job and streamed to the browser as server-sent
events. Cancel sends SIGINT, which the batch runner treats as Ctrl-C (tracks in progress
finish, nothing is left half-written), and kills the worker if it has not stopped in
:data:`CANCEL_GRACE_S` seconds.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linernotes.service.schemas import JobOut
from linernotes.service.security import ServeSettings

CANCEL_GRACE_S = 10.0


class JobBusy(Exception):
    """Another job is still running."""


@dataclass
class Job:
    """One job: its state, latest progress and every progress event so far."""

    id: str
    kind: str
    params: dict[str, Any]
    state: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    out: Path | None = None
    cancel_requested: bool = False
    process: subprocess.Popen[str] | None = None

    def view(self) -> JobOut:
        download = None
        if self.kind == "export" and self.state == "done":
            download = f"/api/jobs/{self.id}/download"
        return JobOut(
            id=self.id,
            kind=self.kind,
            state=self.state,
            done=self.done,  # type: ignore[arg-type]
            total=self.total,
            message=self.message,
            started_at=self.started_at,
            finished_at=self.finished_at,
            download_url=download,
        )


class JobManager:
    """Starts, follows and cancels jobs; ``on_finish`` runs after each (index refresh)."""

    def __init__(self, settings: ServeSettings, on_finish: Callable[[Job], None]) -> None:
        self.settings = settings
        self.on_finish = on_finish
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def start(self, kind: str, params: dict[str, Any]) -> Job:
        """Start a job.

        Raises
        ------
        JobBusy
            A job is running.
        """
        with self._lock:
            running = [j for j in self.jobs.values() if j.state in ("queued", "running")]
            if running:
                raise JobBusy(f"job {running[0].id} ({running[0].kind}) is still running")
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, params=dict(params))
            if kind == "export":
                job.out = self.settings.cache_dir / "exports" / job.id
                job.params["out"] = str(job.out)
            self.jobs[job.id] = job
        spec = {
            "root": str(self.settings.root),
            "records": str(self.settings.records) if self.settings.records else None,
            "db": str(self.settings.db) if self.settings.db else None,
            "kind": kind,
            "params": job.params,
        }
        job.process = subprocess.Popen(
            [sys.executable, "-m", "linernotes.service.worker", json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        job.state = "running"
        threading.Thread(target=self._follow, args=(job,), daemon=True).start()
        return job

    def _follow(self, job: Job) -> None:
        assert job.process is not None and job.process.stdout is not None
        for line in job.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"log": line.rstrip()}
            if not isinstance(event, dict):
                event = {"log": line.rstrip()}
            job.done = int(event.get("done", job.done))
            job.total = int(event.get("total", job.total))
            job.message = str(event.get("message") or event.get("log") or job.message)
            job.events.append(event)
        code = job.process.wait()
        if code == 0:
            job.state = "done"
        else:  # 130: the worker stopped on SIGINT; negative: killed by a signal
            job.state = "cancelled" if job.cancel_requested or code == 130 else "failed"
        job.finished_at = time.time()
        job.events.append({"state": job.state, "message": job.message})
        try:
            self.on_finish(job)
        finally:
            job.process = None

    def cancel(self, job: Job) -> None:
        """Ask the worker to stop (SIGINT), and kill it after the grace period."""
        process = job.process
        if process is None or process.poll() is not None:
            return
        job.cancel_requested = True
        process.send_signal(signal.SIGINT)

        def reap() -> None:
            try:
                process.wait(CANCEL_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()

        threading.Thread(target=reap, daemon=True).start()

    async def stream(self, job: Job, poll_s: float = 0.2) -> AsyncIterator[str]:
        """The job's progress as server-sent events, from the first; ends with the job."""
        sent = 0
        while True:
            while sent < len(job.events):
                event = job.events[sent]
                sent += 1
                kind = "state" if "state" in event else "progress"
                yield f"event: {kind}\ndata: {json.dumps({**event, 'job': job.id})}\n\n"
            if job.finished_at is not None and sent >= len(job.events):
                yield "event: end\ndata: {}\n\n"
                return
            await asyncio.sleep(poll_s)
