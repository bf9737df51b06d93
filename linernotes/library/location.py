"""Where the library is: the one rule every command follows.

1. ``--db FILE`` given on the command line: that database.
2. Otherwise walk up from the path a command was given (a file's folder, or the folder
   itself) to the nearest folder holding ``.linernotes/``, as git finds ``.git``: the library
   of the dataset that contains the path, however deep the path is.
3. Otherwise ``$LINERNOTES_DB``, then ``db`` in the ``[library]`` table of the config file.
4. Otherwise there is no library yet: ``analyze`` creates one at the folder it was given
   (``<folder>/.linernotes/library.db``); other commands say to run ``analyze`` first.

The walk stops below the folders listed in ``$LINERNOTES_CEILING_DIRECTORIES`` (separated
by ``:``, as ``GIT_CEILING_DIRECTORIES``), so a stray ``.linernotes`` high up the tree can be
fenced off.

The library's root (the folder tracks are named relative to) is the folder holding
``.linernotes/``; a database elsewhere remembers the root it was created for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from linernotes.config import config_table
from linernotes.fileio import StrPath

LIBRARY_DIR = ".linernotes"
DB_NAME = "library.db"
ENV_DB = "LINERNOTES_DB"
ENV_CEILING = "LINERNOTES_CEILING_DIRECTORIES"


@dataclass(frozen=True)
class Location:
    """A library database and how it was found (``--db``, ``found``, ``LINERNOTES_DB``,
    ``config`` or ``new``); ``root`` is ``None`` when the database itself must say."""

    db: Path
    root: Path | None
    how: str


def folder_of(path: Path) -> Path:
    """The folder a path stands for: itself when it is a folder, else its parent."""
    path = path.expanduser().absolute()
    return path if path.is_dir() else path.parent


def _ceilings() -> list[Path]:
    raw = os.environ.get(ENV_CEILING, "")
    return [Path(p).expanduser().absolute() for p in raw.split(os.pathsep) if p]


def nearest_library(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds a ``.linernotes/`` folder."""
    ceilings = _ceilings()
    for folder in (folder_of(start), *folder_of(start).parents):
        if folder in ceilings:
            return None
        if (folder / LIBRARY_DIR).is_dir():
            return folder
    return None


def root_of_db(db: Path) -> Path | None:
    """The dataset folder of a database kept in its ``.linernotes/`` folder."""
    db = db.expanduser().absolute()
    return db.parent.parent if db.parent.name == LIBRARY_DIR else None


def locate(start: Path, db: StrPath | None = None) -> Location | None:
    """The library for ``start`` by the rule in the module docstring (``None``: no library
    yet)."""
    if db:
        path = Path(db).expanduser().absolute()
        return Location(path, root_of_db(path), "--db")
    found = nearest_library(start)
    if found is not None:
        return Location(found / LIBRARY_DIR / DB_NAME, found, "found")
    configured = os.environ.get(ENV_DB)
    how = ENV_DB
    if not configured:
        configured = config_table("library").get("db")
        how = "config"
    if configured:
        path = Path(str(configured)).expanduser().absolute()
        return Location(path, root_of_db(path), how)
    return None


def new_location(folder: Path) -> Location:
    """Where ``analyze`` creates a library for ``folder`` when none is found."""
    root = folder_of(folder)
    return Location(root / LIBRARY_DIR / DB_NAME, root, "new")


def libraries_for(
    paths: Iterable[StrPath], db: StrPath | None = None
) -> list[tuple[Location, list[Path]]]:
    """The library of each path, with the paths of each, in the order first met: the one
    found for it, else a new one at the outermost folder given that holds it (so ``analyze
    A A/b/c.flac`` makes one library, at ``A``)."""
    given = [Path(p).expanduser().absolute() for p in paths]
    found = {p: locate(p, db) for p in given}
    roots: list[Path] = []
    for folder in sorted({folder_of(p) for p, loc in found.items() if loc is None},
                         key=lambda f: len(f.parts)):  # fmt: skip
        if not any(r == folder or r in folder.parents for r in roots):
            roots.append(folder)
    groups: dict[Path, tuple[Location, list[Path]]] = {}
    for path in given:
        location = found[path] or new_location(
            next(r for r in roots if r == folder_of(path) or r in folder_of(path).parents)
        )
        groups.setdefault(location.db, (location, []))[1].append(path)
    return list(groups.values())
