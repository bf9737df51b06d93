"""The flags every command spells the same way, and the few helpers every command uses.

===============  =====================================================================
``--db FILE``    the library database (default: found from the path, see
                 :mod:`linernotes.library.location`)
``--records DIR`` where the records were written, for this command only (default: the
                 folder ``analyze --out`` remembered, else beside the audio)
``--json``       print the command's data as JSON on stdout
``--quiet``      no progress and no summary on stderr
``--workers N``  worker processes for analysis
===============  =====================================================================
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any


def add_library(parser: argparse.ArgumentParser, *, records: bool = True) -> None:
    """``--db`` (and ``--records``)."""
    parser.add_argument("--db", help="library database (default: found from the path)")
    if records:
        parser.add_argument(
            "--records",
            help="folder the records were written to (default: the one analyze --out"
            " remembered, else beside the audio)",
        )


def add_json(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress or summary")


def add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=int, default=1, help="parallel worker processes (default 1)"
    )


def add_command(sub: Any, name: str, run: Any, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand whose function is ``run(args) -> int`` (the one dispatch calls it)."""
    parser = sub.add_parser(name, **kwargs)
    parser.set_defaults(run=run)
    return parser


def fail(message: str, code: int = 1) -> int:
    """Print ``linernotes: message`` on stderr and return ``code``."""
    print(f"linernotes: {message}", file=sys.stderr)
    return code


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def author(args: argparse.Namespace) -> str:
    """Who edits: ``--author``, else ``$LINERNOTES_AUTHOR``, else the user name."""
    return args.author or os.environ.get("LINERNOTES_AUTHOR") or getpass.getuser()
