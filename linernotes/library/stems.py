"""Separated stems in the library: where they live, how a finished separation is marked, and
how they are found again for a track.

The rule: stems belong to the library, keyed by the mix's content, never beside the audio
(where they would pass for stems the user provided)::

    <library folder>/stems/<content hash>/<model>/drums.flac  bass.flac  other.flac  vocals.flac
    <library folder>/stems/<content hash>/<model>.json          # the completion marker

``<library folder>`` is the folder of the library database (``DIR/.linernotes``, hidden, so
folder scans never take stems for tracks). With ``--out OUT`` the FLAC files go to
``OUT/<the track's folder below the library root>/<track name>/<type>.flac`` instead and the
marker, still in the library, points there. A marker is written last, atomically, once every
stem file is in place: a track is separated when its marker names the model, weights and
settings of the run and every stem it lists exists. Paths in a marker are relative to the
marker's folder, so a moved library (or output folder moved with it) still finds its stems.

For a track, :func:`separated_stems` returns the stems of the requested model (else of the
newest separation), and :func:`merge_stems` puts the user's own stems first: a separated stem
is used only for a type the user did not provide. :func:`track_stems` does both for a track
of a batch.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from linernotes.errors import AudioError
from linernotes.fileio import write_atomic
from linernotes.models import STEM_TYPES
from linernotes.pipeline.stems import SEPARATED, StemFile
from linernotes.pipeline.track import ResultStore, file_hash


class SeparationMarker(BaseModel):
    """A finished separation of one mix by one model."""

    model: str
    model_version: str
    params: dict[str, Any] = Field(default_factory=dict)
    content_hash: str
    source: str
    sample_rate: int
    channels: int
    duration_s: float
    stems: dict[str, str]  # type -> path relative to the marker's folder (POSIX)
    created_at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    elapsed_s: float = 0.0

    def stem_paths(self, marker: Path) -> dict[str, Path]:
        """Absolute stem paths, by type."""
        base = marker.parent.absolute()
        return {t: Path(os.path.normpath(base / rel)) for t, rel in self.stems.items()}

    def complete(self, marker: Path) -> bool:
        return all(p.is_file() for p in self.stem_paths(marker).values())


def stems_root(library_db: Path) -> Path:
    """The folder of a library's separated stems: ``<folder of library.db>/stems``."""
    return Path(library_db).absolute().parent / "stems"


def marker_path(library_db: Path, digest: str, model: str) -> Path:
    return stems_root(library_db) / digest / f"{model}.json"


def stem_folder(
    library_db: Path, digest: str, model: str, *, track: Path, root: Path, out: Path | None
) -> Path:
    """Where one separation's FLAC files go: ``<library folder>/stems/<digest>/<model>``, or
    with ``out`` (``--out``) ``out/<the track's folder below root>/<track name>`` (see the
    module docstring)."""
    if out is None:
        return stems_root(library_db) / digest / model
    try:
        rel = track.absolute().parent.relative_to(root.absolute())
    except ValueError:
        rel = Path()
    return Path(out).absolute() / rel / track.stem


def write_marker(path: Path, marker: SeparationMarker) -> None:
    write_atomic(path, marker.model_dump_json(indent=2) + "\n")


def read_marker(path: Path) -> SeparationMarker | None:
    """The marker at ``path``; ``None`` when missing or unreadable (the track is redone)."""
    try:
        return SeparationMarker.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


def relative_to_marker(marker: Path, stem: Path) -> str:
    return Path(os.path.relpath(stem.absolute(), marker.parent.absolute())).as_posix()


def separated_stems(
    library_db: Path, digest: str, mix: Path, *, model: str | None = None
) -> list[StemFile]:
    """The separated stems of the mix with content ``digest``: those of ``model`` when it has
    a complete separation, else those of the newest complete one; ``[]`` when none."""
    folder = stems_root(library_db) / digest
    if not folder.is_dir():
        return []
    found: list[tuple[str, Path, SeparationMarker]] = []
    for path in sorted(folder.glob("*.json")):
        marker = read_marker(path)
        if marker is not None and marker.complete(path):
            found.append((marker.created_at, path, marker))
    if not found:
        return []
    chosen = [f for f in found if f[2].model == model] or found
    _, path, marker = max(chosen, key=lambda f: (f[0], f[1].name))
    stems = [
        StemFile(p, t, mix, SEPARATED, model=marker.model, model_version=marker.model_version)
        for t, p in marker.stem_paths(path).items()
    ]
    return sorted(stems, key=_order)


def merge_stems(user: Sequence[StemFile], separated: Sequence[StemFile]) -> list[StemFile]:
    """The user's stems, plus separated stems of the types the user did not provide.

    Examples
    --------
    >>> mix = Path("song.flac")
    >>> user = [StemFile(Path("song.vocals.wav"), "vocals", mix, "sibling")]
    >>> sep = [StemFile(Path(f"{t}.flac"), t, mix, SEPARATED) for t in ("drums", "vocals")]
    >>> [(s.stem_type, s.layout) for s in merge_stems(user, sep)]
    [('drums', 'separated'), ('vocals', 'sibling')]
    """
    have = {s.stem_type for s in user}
    return sorted([*user, *(s for s in separated if s.stem_type not in have)], key=_order)


def track_stems(
    library_db: Path,
    store: ResultStore,
    mix: Path,
    own: Sequence[StemFile],
    *,
    model: str | None = None,
) -> list[StemFile]:
    """The stems a track is measured with: its ``own`` plus the separated ones (of ``model``,
    else the newest) of the types it lacks. A library that never separated anything costs no
    hashing here; an unreadable mix keeps its own stems (its failure is reported when it is
    measured)."""
    if not stems_root(library_db).is_dir():
        return list(own)
    try:
        digest = file_hash(mix, store)
    except AudioError:
        return list(own)
    return merge_stems(own, separated_stems(library_db, digest, mix, model=model))


def _order(stem: StemFile) -> tuple[int, str]:
    known = STEM_TYPES.index(stem.stem_type) if stem.stem_type in STEM_TYPES else len(STEM_TYPES)
    return known, stem.path.name
