"""How the benchmarks start a measured tool: a fresh child with every thread pool at one
thread (set before numpy loads) and, optionally, the CPU it is pinned to, so per-core figures
from bench/speed and bench/accuracy mean the same thing."""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
from pathlib import Path
from types import ModuleType

THREAD_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS", "NUMBA_NUM_THREADS",
)
ROOT = Path(__file__).resolve().parent.parent


class Unavailable(Exception):
    """A measured tool cannot be imported (not installed, or not written yet)."""


def need(module: str, install: str | None = None) -> ModuleType:
    """``import module`` for a measured tool, or :class:`Unavailable` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        how = f"pip install {install}; " if install else ""
        raise Unavailable(f"not installed ({how}{exc!r})") from exc


def essentia_standard() -> ModuleType:
    """``essentia.standard``, its logging quiet (essentia is AGPL: benchmark comparisons only,
    never imported by linernotes)."""
    standard = need("essentia.standard", "essentia, AGPL, bench only")
    log = sys.modules["essentia"].log
    log.infoActive = log.warningActive = False
    return standard


def add_child_options(parser: argparse.ArgumentParser) -> None:
    """The hidden options a benchmark passes to the child that runs one tool."""
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", default=None, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)


def pin_child() -> None:
    """Pin this child to the CPU :func:`child_env` named, where the platform can."""
    cpu = os.environ.get("LINERNOTES_BENCH_CPU")
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(cpu)})


def command_line(script: str) -> str:
    """The command that started this benchmark, as a person would retype it."""
    argv0 = os.environ.get("LINERNOTES_BENCH_ARGV0") or f"{Path(sys.executable).name} {script}"
    return " ".join([argv0, *(shlex.quote(a) for a in sys.argv[1:])])


def cpu_model() -> str:
    """The processor's name (Linux), else ``unknown``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


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
