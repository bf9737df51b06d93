"""The ``linernotes`` command line: one parser, one dispatch, safe to pipe.

Each command group is a module with a ``register(sub)`` function that adds its commands,
each bound to a ``cmd_*(args) -> int`` function; :func:`main` parses and calls it. A reader
that stops early (``linernotes show ... | head``) ends the command quietly, and Ctrl-C exits
with 130.
"""

from __future__ import annotations

import argparse
import os
import sys

from linernotes.cli import analyze, chat, edits, export, listen, quality, review, serve, stems
from linernotes.cli.options import CliError, fail
from linernotes.version import __version__

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
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as exc:
        return fail(str(exc))
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python's final flush of
        # stdout from raising again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("linernotes: interrupted", file=sys.stderr)
        return 130
