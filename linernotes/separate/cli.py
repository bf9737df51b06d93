"""``linernotes stems`` and ``analyze --separate``: the command-line side of separation.

:func:`register` adds the ``stems`` command to a subparsers object and returns its
dispatch table; :func:`add_separate_options` adds ``--separate`` and its settings to
``analyze``, and :func:`separate_for_analyze` runs the separation before the analysis.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from linernotes.progress import Progress, format_duration
from linernotes.separate.model import DEFAULT_MODEL, MODELS

DEVICES = ("auto", "cpu", "cuda")


def _add_model_options(group: Any, *, prefix: str = "") -> None:
    group.add_argument(
        f"--{prefix}model-dir",
        help="a local folder of Demucs models (its --repo layout: <signature>-<checksum>.th"
        " and <name>.yaml), for machines without internet",
    )
    group.add_argument(
        f"--{prefix}device", choices=DEVICES, default="auto",
        help="where the model runs (default auto: cuda when a GPU is visible)",
    )  # fmt: skip
    group.add_argument(
        f"--{prefix}overlap", type=float, default=0.25,
        help="share of each segment overlapping the next (default 0.25, as Demucs)",
    )  # fmt: skip
    group.add_argument(
        f"--{prefix}batch", type=int, default=1,
        help="segments separated at once (more is faster on a GPU; default 1)",
    )  # fmt: skip


def register(sub: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``stems`` to ``sub``; returns ``{"stems": cmd_stems}`` for dispatch."""
    models = "; ".join(f"{name}: {text}" for name, text in MODELS.items())
    p = sub.add_parser(
        "stems",
        help="separate tracks into stems (drums, bass, vocals, other) with Demucs",
        description="Separate every track of DIR that has no stems of its own into FLAC stems at"
        " its own sample rate, into the library (DIR/.linernotes/stems/<content hash>/<model>/)"
        " or --out. Finished tracks are skipped on the next run; Ctrl-C stops cleanly and the"
        " same command resumes. `linernotes analyze DIR` then measures the stems into the"
        f" records. Models: {models}.",
    )
    p.add_argument("paths", nargs="+", help="audio files and/or folders (scanned recursively)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    _add_model_options(p)
    p.add_argument("--out", help="write the stems under OUT/<track's folder>/<track name>/")
    p.add_argument("--db", help="library database (default: DIR/.linernotes/library.db)")
    p.add_argument("--force", action="store_true", help="separate again even if finished")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress or summary")
    return {"stems": cmd_stems}


def add_separate_options(parser: argparse.ArgumentParser) -> None:
    """``analyze --separate[=MODEL]`` and its settings."""
    group = parser.add_argument_group("separation (Demucs; see `linernotes stems --help`)")
    group.add_argument(
        "--separate", nargs="?", const=DEFAULT_MODEL, metavar="MODEL",
        help=f"separate tracks without stems first (default model {DEFAULT_MODEL})",
    )  # fmt: skip
    _add_model_options(group, prefix="separate-")


class StemsProgress(Progress):
    """Tracks done, the current track's share, speed against real time and ETA on one line
    (see :class:`~linernotes.progress.Progress`)."""

    def __init__(self, total: int, **kwargs: Any) -> None:
        super().__init__(total, **{"interval_s": 10.0, **kwargs})
        self._current = (0.0, 0.0)

    def line(self, name: str = "") -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        done_s, total_s = self._current
        share = (self.count + (done_s / total_s if total_s else 0.0)) / self.total
        eta = format_duration(elapsed * (1 - share) / share) if share > 0 else "?"
        speed = (self.audio_s + done_s) / elapsed
        current = f" {name} {100 * done_s / total_s:3.0f}%" if name and total_s else ""
        return (f"[{self.count}/{self.total}]{current} | {speed:.2f}x real time"
                f" | elapsed {format_duration(elapsed)} | ETA {eta}")  # fmt: skip

    def track(self, path: Path, done_s: float, total_s: float) -> None:
        """The current track has ``done_s`` of its ``total_s`` seconds separated."""
        self._current = (done_s, total_s)
        self.show(self.line(path.name))

    def advance(self, audio_s: float = 0.0) -> None:
        self._current = (0.0, 0.0)
        super().advance(audio_s)


def run_separation(
    paths: list[str], *, model: str, model_dir: str | None, device: str, overlap: float,
    batch: int, out_dir: str | None = None, db: str | None = None,
    library_out: str | None = None, force: bool = False, quiet: bool = False,
) -> int:  # fmt: skip
    """Load the model and separate ``paths``, printing progress and a summary; the exit
    code (0 all fine, 1 a track failed or the model could not load, 130 interrupted)."""
    from linernotes.runner import find_audio
    from linernotes.separate.batch import separate_paths
    from linernotes.separate.model import SeparationError, load_separator

    total = len(find_audio(paths))
    if total == 0:
        print("linernotes: no audio files found in " + ", ".join(paths), file=sys.stderr)
        return 1
    try:
        separator = load_separator(model, model_dir=model_dir, device=device)
    except SeparationError as exc:
        print(f"linernotes: {exc}", file=sys.stderr)
        return 1
    progress = StemsProgress(total, enabled=not quiet)

    def on_outcome(outcome: Any) -> None:
        progress.advance(outcome.audio_s)
        if outcome.status == "failed" and not quiet:
            prefix = "\r\033[K" if progress.tty else ""
            print(f"{prefix}failed: {outcome.path}: {outcome.reason}", file=sys.stderr)

    report = separate_paths(
        paths, separator, out_dir=out_dir, db_path=db, library_out=library_out, force=force,
        overlap=overlap, batch=batch, on_outcome=on_outcome, on_progress=progress.track,
    )  # fmt: skip
    progress.close()
    if not quiet:
        audio = sum(o.audio_s for o in report.outcomes if o.status == "separated")
        speed = f", {audio / report.wall_s:.2f}x real time" if audio and report.wall_s else ""
        skipped = {}
        for o in report.outcomes:
            if o.status == "skipped":
                skipped[o.reason] = skipped.get(o.reason, 0) + 1
        detail = "".join(f", {n} {reason}" for reason, n in skipped.items())
        print(f"stems ({separator.name} {separator.version}, {separator.device}):"
              f" {report.count('separated')} separated{detail}, {report.count('failed')} failed"
              f" in {format_duration(report.wall_s)}{speed}"
              + (" (interrupted)" if report.interrupted else ""), file=sys.stderr)  # fmt: skip
    return report.exit_code


def cmd_stems(args: argparse.Namespace) -> int:
    return run_separation(
        args.paths, model=args.model, model_dir=args.model_dir, device=args.device,
        overlap=args.overlap, batch=args.batch, out_dir=args.out, db=args.db,
        force=args.force, quiet=args.quiet,
    )  # fmt: skip


def separate_for_analyze(args: argparse.Namespace) -> int:
    """``analyze --separate``: separate into the library ``analyze`` uses (0 when done)."""
    if not getattr(args, "separate", None):
        return 0
    return run_separation(
        args.paths, model=args.separate, model_dir=args.separate_model_dir,
        device=args.separate_device, overlap=args.separate_overlap, batch=args.separate_batch,
        db=args.db, library_out=args.out, force=False, quiet=args.quiet,
    )  # fmt: skip
