"""``stems`` and ``analyze --separate``: separate tracks into stems with Demucs.

:func:`register` adds the ``stems`` command; :func:`add_separate_options` adds
``--separate[=MODEL]`` and its settings to ``analyze``, and :func:`separate_for_analyze` runs
the separation before the analysis, into the same library.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from linernotes.cli.options import (
    CliError,
    add_command,
    add_executor,
    add_json,
    add_library,
    add_quiet,
    fail,
    ray_settings,
)
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


def register(sub: Any) -> None:
    models = "; ".join(f"{name}: {text}" for name, text in MODELS.items())
    p = add_command(sub, cmd_stems, f"Models: {models}.")
    p.add_argument("paths", nargs="+", help="audio files and/or folders (scanned recursively)")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"model name (default {DEFAULT_MODEL})")
    _add_model_options(p)
    p.add_argument("--out", help="write the stems under OUT/<track's folder>/<track name>/")
    add_library(p, records=False)
    p.add_argument("--force", action="store_true", help="separate again even if finished")
    add_json(p, "each track's outcome and stems, one JSON object a line")
    add_quiet(p)
    add_executor(p)


def add_separate_options(parser: argparse.ArgumentParser) -> None:
    """``analyze --separate[=MODEL]`` and its settings."""
    group = parser.add_argument_group("separation (Demucs; see `linernotes stems --help`)")
    group.add_argument(
        "--separate", nargs="?", const=DEFAULT_MODEL, metavar="MODEL",
        help=f"separate tracks without stems first (default model {DEFAULT_MODEL})",
    )  # fmt: skip
    _add_model_options(group, prefix="separate-")


def run_separation(
    paths: list[str], *, model: str, model_dir: str | None, device: str, overlap: float,
    batch: int, out_dir: str | None = None, db: str | None = None, force: bool = False,
    quiet: bool = False, as_json: bool = False, ray: Any = None,
) -> int:  # fmt: skip
    """Load the model and separate ``paths``, with progress and a summary on stderr; the
    exit code (0 all fine, 1 a track failed or the model could not load, 130 interrupted)."""
    from linernotes.cli.progress import Progress, format_duration
    from linernotes.library.scan import find_audio
    from linernotes.library.separate import StemsOutcome, separate_paths
    from linernotes.separate.model import SeparationError, load_separator

    total = len(find_audio(paths))
    if total == 0:
        return fail("no audio files found in " + ", ".join(paths))
    try:
        separator = load_separator(model, model_dir=model_dir, device=device)
    except SeparationError as exc:
        return fail(str(exc))
    progress = Progress(total, enabled=not quiet)

    def on_progress(track: Any, done_s: float, total_s: float) -> None:
        progress.start(f"{track.name} {100 * done_s / max(total_s, 1e-9):3.0f}%")

    def on_outcome(outcome: StemsOutcome) -> None:
        progress.advance(outcome.path.name, outcome.audio_s)
        if outcome.status == "failed":  # --quiet too: a failure is never hidden
            progress.note(f"failed: {outcome.path}: {outcome.reason or ''}")
        if as_json:
            print(json.dumps({"path": str(outcome.path), "status": outcome.status,
                              "reason": outcome.reason,
                              "stems": {t: str(p) for t, p in outcome.stems.items()}}),
                  flush=True)  # fmt: skip

    remote = None
    if ray is not None:
        from linernotes.library.ray_stems import RaySeparation

        if out_dir is None and ray.address != "local":
            progress.close()
            raise CliError("stems --executor ray: give --out, a folder every node can write"
                           " (the library's own folder is this machine's)")  # fmt: skip

        remote = RaySeparation(ray, model, model_dir, device)
    try:
        report = separate_paths(
            paths, separator, out_dir=out_dir, db_path=db, force=force, overlap=overlap,
            batch=batch, on_outcome=on_outcome, on_progress=on_progress, ray=remote,
        )  # fmt: skip
    finally:  # an error (one line, its exit code from cli.main) starts on a clean line
        progress.close()
    if not quiet:
        speed = f", {report.audio_s / report.wall_s:.2f}x real time" if report.audio_s else ""
        skipped: dict[str | None, int] = {}
        for o in report.outcomes:
            if o.status == "skipped":
                skipped[o.reason] = skipped.get(o.reason, 0) + 1
        detail = "".join(f", {n} {reason}" for reason, n in skipped.items())
        print(f"stems ({separator.name} {separator.version}, {separator.device}):"
              f" {report.count('done')} separated{detail}, {report.count('failed')} failed"
              f" in {format_duration(report.wall_s)}{speed}"
              + (" (interrupted)" if report.interrupted else ""), file=sys.stderr)  # fmt: skip
    return report.exit_code


def cmd_stems(args: argparse.Namespace) -> int:
    """Separate tracks into stems (drums, bass, vocals, other) with Demucs.

    Separate every track that has no stems of its own into FLAC stems at its own sample
    rate, into its library (.linernotes/stems/<content hash>/<model>/) or --out. Finished
    tracks are skipped on the next run; Ctrl-C stops cleanly and the same command resumes.
    `linernotes analyze` then measures the stems into the records (the user's own stems
    always win).
    """
    return run_separation(
        args.paths, model=args.model, model_dir=args.model_dir, device=args.device,
        overlap=args.overlap, batch=args.batch, out_dir=args.out, db=args.db,
        force=args.force, quiet=args.quiet, as_json=args.json, ray=ray_settings(args),
    )  # fmt: skip


def separate_for_analyze(args: argparse.Namespace) -> int:
    """``analyze --separate``: separate into the library ``analyze`` uses (0 when done)."""
    if not args.separate:
        return 0
    return run_separation(
        args.paths, model=args.separate, model_dir=args.separate_model_dir,
        device=args.separate_device, overlap=args.separate_overlap, batch=args.separate_batch,
        db=args.db, quiet=args.quiet,
    )  # fmt: skip
