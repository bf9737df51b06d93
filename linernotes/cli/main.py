"""The ``linernotes`` command line: one parser, one dispatch, safe to pipe.

Each command group is a module with a ``register(sub)`` function that adds its commands,
each bound to a ``cmd_*(args) -> int`` function; :func:`main` parses and calls it. A reader
that stops early (``linernotes show ... | head``) ends the command quietly; every way a command
can end maps to one exit code here (:mod:`linernotes.cli.exits`).
"""

from __future__ import annotations

import argparse
import os
import sys

from linernotes.cli import analyze, chat, edits, export, listen, quality, review, serve, stems
from linernotes.cli.exits import Exit
from linernotes.cli.options import CliError, fail
from linernotes.errors import LinernotesError, OutputError, describe
from linernotes.fileio import is_disk_full
from linernotes.version import __version__

#: Set to show the traceback of an internal error instead of one line.
DEBUG_ENV = "LINERNOTES_DEBUG"

GROUPS = (analyze, stems, listen, edits, review, export, quality, serve, chat)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linernotes",
        description="Trustworthy, training-ready annotations for folders of music.",
    )
    parser.add_argument("--version", action="version", version=f"linernotes {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, run the command and turn how it ended into an exit code
    (:class:`~linernotes.cli.exits.Exit`): this is the one place that does so."""
    args = build_parser().parse_args(argv)  # a usage error exits 2 here
    try:
        return int(args.run(args))
    except (CliError, OutputError) as exc:
        return fail(str(exc), Exit.USAGE)
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's final flush of
        # stdout from raising again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return Exit.CLOSED_PIPE
    except KeyboardInterrupt:
        print("linernotes: interrupted", file=sys.stderr)
        return Exit.INTERRUPTED
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        if is_disk_full(exc):
            return fail(f"stopped: disk full: {describe(exc)}", Exit.FAILED)
        if isinstance(exc, LinernotesError):
            return fail(str(exc), Exit.FAILED)
        return fail(f"internal error: {describe(exc)} (set {DEBUG_ENV}=1 for the"
                    " traceback)", Exit.INTERNAL)  # fmt: skip
