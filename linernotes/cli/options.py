"""The flags every command spells the same way, and the few helpers every command uses.

===============  =====================================================================
``--db FILE``    the library database (default: found from the path, see
                 :mod:`linernotes.library.location`)
``--records DIR`` where the records were written, for this command only (default: the
                 folder ``analyze --out`` remembered, else beside the audio)
``--json``       print the command's data as JSON on stdout
``--quiet``      no progress and no summary on stderr
``--workers N``  worker processes for analysis (measuring tasks at a time on Ray)
``--executor``   ``local`` (this machine) or ``ray`` (a Ray cluster: ``--ray-address``...)
===============  =====================================================================
"""

from __future__ import annotations

import argparse
import getpass
import inspect
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from linernotes.fileio import printable


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
        "--workers",
        type=int,
        help="parallel worker processes (default 1); with --executor ray, measuring tasks at a"
        " time (default: as many as the cluster's CPUs)",
    )


def add_command(
    sub: Any, run: Callable[[argparse.Namespace], int], extra: str = ""
) -> argparse.ArgumentParser:
    """The subcommand ``run`` implements (``cmd_export_template`` -> ``export-template``),
    with the first line of its docstring as help and the rest (plus ``extra``) as the
    description; the one dispatch calls ``run(args)``."""
    summary, _, rest = (inspect.getdoc(run) or "").partition("\n")
    name = run.__name__.removeprefix("cmd_").replace("_", "-")
    parser = sub.add_parser(
        name,
        help=summary[:1].lower() + summary[1:].rstrip("."),
        description=" ".join([rest.strip() or summary, extra]).strip(),
    )
    parser.set_defaults(run=run)
    return parser


class CliError(Exception):
    """The command as given cannot run (a usage error): :func:`linernotes.cli.main.main`
    prints the message and exits 2."""


def need_folder(path: str) -> Path:
    """``path`` as a folder (absolute), or a :class:`CliError` saying it is not one."""
    folder = Path(path).expanduser().absolute()
    if not folder.is_dir():
        raise CliError(f"{path}: not a folder")
    return folder


def parsed(parse: Callable[[str], Any], text: str) -> Any:
    """``parse(text)``, its ``ValueError`` turned into a :class:`CliError`."""
    try:
        return parse(text)
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def fail(message: str, code: int = 1) -> int:
    """Print ``linernotes: message`` on stderr, on one line (control characters and
    undecodable bytes escaped, as a path in it may hold them), and return ``code``."""
    print(f"linernotes: {printable(message)}", file=sys.stderr)
    return code


def nothing_analysed(root: Path, hint: str = "") -> int:
    """Fail with the message every command gives for a folder without analysed tracks."""
    return fail(f"no analysed tracks under {root}; run `linernotes analyze {root}` first{hint}")


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout; a file name that is not UTF-8 is written with
    ``\\udcXX`` escapes (valid JSON, and ``json.loads`` gives the same name back)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    print(text.encode("utf-8", "backslashreplace").decode("utf-8"))


def author(args: argparse.Namespace) -> str:
    """Who edits: ``--author``, else ``$LINERNOTES_AUTHOR``, else the user name."""
    return args.author or os.environ.get("LINERNOTES_AUTHOR") or getpass.getuser()


def add_executor(parser: argparse.ArgumentParser) -> None:
    """``--executor local|ray`` and the Ray options."""
    group = parser.add_argument_group("running on a Ray cluster (pip install 'linernotes[ray]')")
    group.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: worker processes on this machine; ray: tasks and actors on a Ray cluster,"
        " results merged into the library by this process (default local)",
    )
    group.add_argument(
        "--ray-address",
        default="auto",
        help="the cluster: auto (the one this machine belongs to), ray://HOST:10001, or local"
        " (start Ray here with --workers CPUs) (default auto)",
    )
    group.add_argument(
        "--ray-actors", type=int, default=1, help="listen actors, each holding a model (default 1)"
    )
    group.add_argument(
        "--ray-gpus", type=float, default=0.0, help="GPUs per listen actor (default 0)"
    )
    group.add_argument(
        "--ray-batch", type=int, default=4, help="tracks per listen actor call (default 4)"
    )
    group.add_argument(
        "--ray-chunk",
        type=int,
        default=1000,
        help="tracks the driver sends per dataset run (default 1000)",
    )


def ray_settings(args: argparse.Namespace) -> Any:
    """The :class:`~linernotes.library.ray_batch.RaySettings` of ``--executor ray``, else
    ``None``."""
    if args.executor != "ray":
        return None
    from linernotes.library.ray_batch import RaySettings

    return RaySettings(
        address=args.ray_address, workers=getattr(args, "workers", None), actors=args.ray_actors,
        gpus=args.ray_gpus, cpus=0.0 if args.ray_gpus else 1.0, batch=args.ray_batch,
        chunk=args.ray_chunk,
    )  # fmt: skip
