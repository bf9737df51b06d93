"""Exporting into a staging folder, renamed into place once complete.

A trainer pointed at an export folder trusts what it finds: a folder half-written by a run
that met a full disk (links and sidecars, no manifest) looks usable and is not. So a format's
folder is built beside its final place (``.<name>.staging-<pid>``, starting from hard links of
the current export so unchanged files stay unchanged), checked, and only then swapped in by
renames; a failed run removes its staging folder and leaves the previous export as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: File names an export run uses for itself and never leaves in a finished folder.
SCRATCH_NAMES = (".linernotes-export.lock",)


@contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """A staging folder to build ``folder`` in; on a clean exit it replaces ``folder``, on
    an exception it is removed (``folder`` untouched) and the exception goes on."""
    folder = folder.absolute()
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = folder.with_name(f".{folder.name}.staging-{os.getpid()}")
    _remove(stage)
    try:
        if folder.is_dir():
            _link_tree(folder, stage)
        else:
            stage.mkdir()
        yield stage
        _drop_scratch(stage)
        _swap(stage, folder)
    except BaseException:
        _remove(stage)
        raise


def moved(path: Path, stage: Path, folder: Path) -> Path:
    """Where ``path``, written under ``stage``, lies once the stage became ``folder``."""
    try:
        return folder / path.relative_to(stage)
    except ValueError:
        return path


def _link_tree(source: Path, dest: Path) -> None:
    """Copy the tree ``source`` to ``dest`` as hard links (symlinks as symlinks; a copy
    where the file system cannot link); writes in ``dest`` replace files by rename, so
    they never change ``source``."""
    for dirpath, dirnames, filenames in os.walk(source):
        here = Path(dirpath)
        there = dest / here.relative_to(source)
        there.mkdir(parents=True, exist_ok=True)
        for name in [*filenames, *(d for d in dirnames if (here / d).is_symlink())]:
            src, dst = here / name, there / name
            if src.is_symlink():
                dst.symlink_to(os.readlink(src))
            elif name not in SCRATCH_NAMES:
                try:
                    os.link(src, dst)
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                        raise
                    shutil.copy2(src, dst)


def _drop_scratch(stage: Path) -> None:
    for dirpath, _, filenames in os.walk(stage):
        for name in filenames:
            if name in SCRATCH_NAMES:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(dirpath, name))


def _swap(stage: Path, folder: Path) -> None:
    """Put ``stage`` in ``folder``'s place: two renames, the old export removed after."""
    if not folder.exists() and not folder.is_symlink():
        os.rename(stage, folder)
        return
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    _remove(old)
    os.rename(folder, old)
    try:
        os.rename(stage, folder)
    except BaseException:
        os.rename(old, folder)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
