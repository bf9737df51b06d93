"""How the benchmarks start a measured tool: a fresh child with every thread pool at one
thread (set before numpy loads) and, optionally, the CPU it is pinned to, so per-core figures
from bench/speed and bench/accuracy mean the same thing."""

from __future__ import annotations

import os
from pathlib import Path

THREAD_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS", "NUMBA_NUM_THREADS",
)
ROOT = Path(__file__).resolve().parent.parent


def child_env(cpu: int | None) -> dict[str, str]:
    """The environment of a benchmark child: one thread per pool, the repo importable, and
    the CPU to pin to in ``LINERNOTES_BENCH_CPU``."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = "1"
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    if cpu is not None:
        env["LINERNOTES_BENCH_CPU"] = str(cpu)
    return env
