"""The ``linernotes`` command line: a thin layer over :mod:`linernotes.runner` and friends."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from linernotes import __version__
from linernotes.chat.cli import COMMANDS as CHAT_COMMANDS
from linernotes.chat.cli import build_chat_parsers
from linernotes.cli_annotate import COMMANDS as ANNOTATE_COMMANDS
from linernotes.cli_annotate import build_annotate_parsers
from linernotes.cli_quality import build_filter_parser, build_quality_parser, run_command
from linernotes.listen.cli import (
    add_listen_options,
    build_endpoint_parser,
    build_listen_parser,
    cmd_endpoint_template,
    cmd_listen,
    selected_prompts,
    settings_from_args,
)
from linernotes.separate.cli import add_separate_options, separate_for_analyze
from linernotes.separate.cli import register as register_stems
from linernotes.service import add_serve_parser, cmd_serve

STEMS_COMMANDS: dict = {}


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linernotes",
        description="Trustworthy, training-ready annotations for folders of music.",
    )
    parser.add_argument("--version", action="version", version=f"linernotes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    analyze = sub.add_parser(
        "analyze",
        help="measure tracks (tempo, beats, meter, key, loudness, timbre) into records",
        description="Analyse audio files and folders. Finished tracks are skipped on the next run;"
        " Ctrl-C stops cleanly and the same command resumes.",
    )
    analyze.add_argument(
        "paths", nargs="+", help="audio files and/or folders (scanned recursively)"
    )
    analyze.add_argument(
        "--out", help="write records and grids under this folder instead of beside the audio"
    )
    analyze.add_argument("--db", help="library database (default: <folder>/.linernotes/library.db)")
    analyze.add_argument(
        "--workers", type=int, default=1, help="parallel worker processes (default 1)"
    )
    analyze.add_argument("--force", action="store_true", help="redo finished work")
    analyze.add_argument(
        "--json",
        action="store_true",
        help="print records to stdout (JSON; one per line for several)",
    )
    analyze.add_argument("--quiet", "-q", action="store_true", help="no progress or summary")
    add_listen_options(analyze)
    add_separate_options(analyze)

    show = sub.add_parser("show", help="print a track's record, human-readable")
    show.add_argument("path", help="an audio file (or its .linernotes.json record)")
    show.add_argument("--out", help="the --out folder the track was analysed into")
    show.add_argument("--db", help="library database to look in")
    show.add_argument("--json", action="store_true", help="print the record as JSON")

    build_listen_parser(sub)
    build_endpoint_parser(sub)
    build_annotate_parsers(sub)
    build_quality_parser(sub)
    build_filter_parser(sub)
    build_chat_parsers(sub)
    add_serve_parser(sub)
    STEMS_COMMANDS.update(register_stems(sub))
    return parser


def _cmd_analyze(args: argparse.Namespace) -> int:
    from linernotes.display import render_report
    from linernotes.progress import Progress
    from linernotes.runner import analyze_paths, find_audio

    total = len(find_audio(args.paths))
    if total == 0:
        print("linernotes: no audio files found in " + ", ".join(args.paths), file=sys.stderr)
        return 1
    separated = separate_for_analyze(args)
    if separated != 0:
        return separated
    progress = Progress(total, enabled=not args.quiet)
    several = total > 1

    def on_outcome(outcome) -> None:
        progress.advance(outcome.audio_s)
        if outcome.status == "failed" and not args.quiet:
            prefix = "\r\033[K" if progress.tty else ""
            print(f"{prefix}failed: {outcome.path}: {outcome.reason}", file=sys.stderr)
        if args.json and outcome.record_json:
            text = json.dumps(json.loads(outcome.record_json)) if several else outcome.record_json
            print(text, flush=True)

    listener = None
    if args.listen:
        from linernotes.errors import LinernotesError
        from linernotes.listen.choose import make_listener

        settings = settings_from_args(args)
        try:
            listener = make_listener(settings, selected_prompts(settings), force=args.force,
                                     announce=lambda note: print(f"linernotes: {note}",
                                                                 file=sys.stderr))  # fmt: skip
        except LinernotesError as exc:
            print(f"linernotes: {exc}", file=sys.stderr)
            return 1

    report = analyze_paths(
        args.paths,
        out_dir=args.out,
        db_path=args.db,
        workers=args.workers,
        force=args.force,
        write_files=not args.json,
        on_outcome=on_outcome,
        listener=listener,
        separated_model=args.separate,
    )
    progress.close()
    if not args.quiet:
        print(render_report(report), file=sys.stderr)
    return report.exit_code


def _cmd_show(args: argparse.Namespace) -> int:
    from linernotes.display import render_record
    from linernotes.lookup import find_record

    try:
        record = find_record(Path(args.path), out_dir=args.out, db_path=args.db)
    except LookupError as exc:
        print(f"linernotes: {exc}", file=sys.stderr)
        return 1
    print(record.to_json() if args.json else render_record(record))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    if args.command == "analyze":
        return _cmd_analyze(args)
    if args.command == "show":
        return _cmd_show(args)
    if args.command == "listen":
        return cmd_listen(args)
    if args.command == "endpoint-template":
        return cmd_endpoint_template(args)
    if args.command in ("quality", "filter"):
        return run_command(args)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command in ANNOTATE_COMMANDS:
        return ANNOTATE_COMMANDS[args.command](args)
    if args.command in STEMS_COMMANDS:
        return STEMS_COMMANDS[args.command](args)
    if args.command in CHAT_COMMANDS:
        return CHAT_COMMANDS[args.command](args)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
