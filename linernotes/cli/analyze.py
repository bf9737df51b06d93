"""``analyze`` and ``show``: measure tracks into their library, and read one back."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from linernotes.cli.listen import add_listen_options, settings_from_args
from linernotes.cli.options import (
    add_command,
    add_executor,
    add_json,
    add_library,
    add_quiet,
    add_workers,
    fail,
    ray_settings,
)
from linernotes.cli.stems import add_separate_options, separate_for_analyze


def register(sub: Any) -> None:
    p = add_command(sub, cmd_analyze)
    p.add_argument("paths", nargs="+", help="audio files and/or folders (scanned recursively)")
    p.add_argument(
        "--out",
        help="write records and grids under this folder instead of beside the audio"
        " (remembered: later commands find them there)",
    )
    add_library(p, records=False)
    add_workers(p)
    add_executor(p)
    p.add_argument("--force", action="store_true", help="redo finished work")
    add_json(p, "the records (one per line for several) instead of writing files")
    add_quiet(p)
    add_listen_options(p)
    add_separate_options(p)

    p = add_command(sub, cmd_show)
    p.add_argument("path", help="an audio file (or its .linernotes.json record)")
    add_library(p)
    add_json(p, "the record")


def cmd_analyze(args: argparse.Namespace) -> int:
    """Measure tracks (tempo, beats, meter, key, loudness, timbre) into records.

    Analyse audio files and folders into their library (the nearest .linernotes/ folder
    above them, else a new one in the folder given). Finished tracks are skipped on the
    next run; Ctrl-C stops cleanly and the same command resumes.
    """
    from linernotes.cli.display import failure_line, render_report
    from linernotes.cli.progress import Progress
    from linernotes.errors import LinernotesError
    from linernotes.library import analyze_paths
    from linernotes.library.scan import find_tracks

    plan = find_tracks(args.paths)
    total = len(plan.tracks) + len(plan.unreadable)
    if total == 0:
        return fail("no audio files found in " + ", ".join(map(str, args.paths)))
    separated = separate_for_analyze(args)
    if separated != 0:
        return separated
    progress = Progress(total, enabled=not args.quiet)
    several = total > 1

    def on_outcome(outcome: Any) -> None:
        progress.advance(outcome.path.name, outcome.audio_s)
        if outcome.status == "failed":  # --quiet too: a failure is never hidden
            progress.note(f"failed: {failure_line(outcome)}")
        if args.json and outcome.record_json:
            text = json.dumps(json.loads(outcome.record_json)) if several else outcome.record_json
            print(text, flush=True)

    listener = None
    if args.listen:
        from linernotes.listen.choose import make_listener, selected_prompts

        settings = settings_from_args(args)
        try:
            listener = make_listener(settings, selected_prompts(settings), force=args.force,
                                     announce=lambda note: fail(note, 0))  # fmt: skip
        except LinernotesError as exc:
            return fail(str(exc))
    try:
        report = analyze_paths(
            args.paths, out_dir=args.out, db_path=args.db, workers=args.workers or 1,
            force=args.force, write_files=not args.json,
            on_start=lambda path: progress.start(path.name), on_outcome=on_outcome,
            listener=listener, separated_model=args.separate, ray=ray_settings(args),
        )  # fmt: skip
    finally:  # an error (one line, its exit code from cli.main) starts on a clean line
        progress.close()
    if report.stopped:  # one line, even with --quiet
        fail(f"stopped: {report.stopped}")
    if not args.quiet:
        print(render_report(report), file=sys.stderr)
    elif report.stopped or report.count("failed"):
        print(f"linernotes: {summary_line(report)}", file=sys.stderr)
    return report.exit_code


def summary_line(report: Any) -> str:
    """The summary in one line, for ``--quiet`` runs where something went wrong."""
    counts = [f"{n} {s}" for s in ("done", "skipped", "failed", "busy") if (n := report.count(s))]
    return f"{len(report.outcomes)} tracks: " + ", ".join(counts)


def cmd_show(args: argparse.Namespace) -> int:
    """Print a track's record: final fields with their provenance, then the measurements."""
    from linernotes.cli.display import render_record
    from linernotes.library import Library
    from linernotes.library.layout import RECORD_SUFFIX
    from linernotes.models import TrackRecord

    path = Path(args.path).expanduser().absolute()
    if path.name.endswith(RECORD_SUFFIX) and path.is_file():
        record, final = TrackRecord.load(path), None
    else:
        try:
            with Library.find(path, db=args.db, records=args.records) as library:
                record = library.record_of(path)
                final = library.final_of(record)
        except LookupError as exc:
            return fail(str(exc))
        record.final = final
    print(record.to_json() if args.json else render_record(record, final))
    return 0
