"""Scanning: the audio files under a set of paths, and which of them are stems.

Stems that sit beside their mix are measured with it and never analysed as tracks of their
own. Two layouts are recognised, both case-insensitive:

- **Folder** (the MIR-feature-file layout, and MUSDB18's): a folder holding a mix named
  ``full_mix``, ``mixture`` or ``mix`` (or named like the folder itself) plus files named by
  stem type::

      Track Name/full_mix.flac  drums.mp3  bass.mp3  vocals.mp3  other.mp3  [piano.*, guitar.*]

- **Sibling**: ``<name>.<type>.<ext>`` or ``<name>_<type>.<ext>`` next to ``<name>.<ext>``
  (``song.vocals.wav``, ``song_drums.flac`` beside ``song.flac``), as separation tools write
  them when pointed at a folder.

A stem type file without a mix beside it (a separation tool's output folder on its own) is an
ordinary track. :func:`split_stems` is the pure mapping from a list of paths to tracks and the
stems of each; :func:`find_tracks` applies it to folders on disk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from linernotes.fileio import StrPath
from linernotes.models import MIX_NAMES, STEM_TYPES
from linernotes.pipeline.stems import StemFile

#: Extensions picked up when scanning folders (a file named explicitly is always tried).
AUDIO_EXTENSIONS = frozenset(
    [
        ".wav",
        ".wave",
        ".flac",
        ".mp3",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".mp4",
        ".aac",
        ".aif",
        ".aiff",
        ".aifc",
        ".wma",
        ".mka",
        ".webm",
        ".ac3",
        ".caf",
        ".wv",
        ".ape",
    ]
)

#: Preferred mix encodings when a folder offers several: lossless first.
_LOSSLESS = (".flac", ".wav", ".wave", ".aif", ".aiff", ".aifc", ".wv", ".ape")
_SIBLING = re.compile(r"^(?P<base>.+)[._](?P<type>" + "|".join(STEM_TYPES) + r")$", re.IGNORECASE)


def scan_audio(
    paths: Iterable[StrPath],
    unreadable: list[tuple[Path, str]] | None = None,
) -> list[Path]:
    """Every audio file under ``paths``, stems included: folders scanned recursively (hidden
    folders and files skipped), sorted, without duplicates; paths that are not folders are
    kept as given. A folder that cannot be read is added to ``unreadable`` with the reason
    (when given), never skipped in silence."""
    found: dict[Path, None] = {}

    def note(exc: OSError) -> None:
        if unreadable is not None:
            folder = Path(exc.filename).absolute() if exc.filename else Path()
            unreadable.append((folder, exc.strerror or str(exc)))

    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p, onerror=note):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if Path(name).suffix.lower() in AUDIO_EXTENSIONS and not name.startswith("."):
                        found[(Path(dirpath) / name).absolute()] = None
        else:
            found[p.absolute()] = None
    return list(found)


def find_audio(paths: Iterable[StrPath]) -> list[Path]:
    """The tracks under ``paths``: :func:`scan_audio` less the stems that belong to a mix
    beside them (see :func:`find_tracks`)."""
    return find_tracks(paths).tracks


@dataclass
class StemPlan:
    """Tracks to analyse, in input order, and the stems of each (mix path -> stems)."""

    tracks: list[Path] = field(default_factory=list)
    stems: dict[Path, list[StemFile]] = field(default_factory=dict)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def stem_of(self) -> dict[Path, StemFile]:
        """Every stem file, keyed by its path."""
        return {s.path: s for group in self.stems.values() for s in group}


def _type_of(path: Path) -> str | None:
    name = path.stem.lower()
    return name if name in STEM_TYPES else None


def _rank(path: Path) -> tuple[int, int, str]:
    """Sort key choosing the mix among candidates: the folder-layout names in order, then
    lossless before lossy, then by name."""
    name = path.stem.lower()
    named = MIX_NAMES.index(name) if name in MIX_NAMES else len(MIX_NAMES)
    lossy = 0 if path.suffix.lower() in _LOSSLESS else 1
    return named, lossy, path.name


def _stem_order(stem: StemFile) -> tuple[int, str]:
    return STEM_TYPES.index(stem.stem_type), stem.path.name


def split_stems(paths: Iterable[StrPath]) -> StemPlan:
    """Split audio paths into tracks and the stems that belong to them (pure: looks only at
    the names).

    A file is a stem only when its mix is in ``paths`` too; otherwise it is a track. In the
    folder layout every stem-type file of the folder belongs to the folder's mix; in the
    sibling layout ``<name>.<type>.<ext>`` / ``<name>_<type>.<ext>`` belongs to ``<name>.*``
    (the lossless one when there are several), unless that file is itself a sibling stem.

    Examples
    --------
    >>> plan = split_stems(["T/full_mix.flac", "T/Drums.mp3", "song.wav", "song_vocals.wav"])
    >>> [p.as_posix() for p in plan.tracks]
    ['T/full_mix.flac', 'song.wav']
    >>> [(s.stem_type, s.layout) for s in plan.stems[Path("T/full_mix.flac")]]
    [('drums', 'folder')]
    >>> [s.path.name for s in plan.stems[Path("song.wav")]]
    ['song_vocals.wav']
    """
    files = list(dict.fromkeys(Path(p) for p in paths))
    folders: dict[Path, list[Path]] = {}
    for f in files:
        folders.setdefault(f.parent, []).append(f)
    found: dict[Path, StemFile] = {}
    for folder, members in folders.items():
        typed = [p for p in members if _type_of(p)]
        if typed:
            mixes = [p for p in members if p.stem.lower() in MIX_NAMES] or [
                p
                for p in members
                if not _type_of(p) and folder.name and p.stem.lower() == folder.name.lower()
            ]
            if mixes:
                mix = min(mixes, key=_rank)
                for p in typed:
                    found[p] = StemFile(p, p.stem.lower(), mix, "folder")
        by_name: dict[str, list[Path]] = {}
        for p in members:
            by_name.setdefault(p.stem.lower(), []).append(p)
        candidates: dict[Path, tuple[str, list[Path]]] = {}
        for p in members:
            match = _SIBLING.match(p.stem)
            if p in found or match is None:
                continue
            bases = [b for b in by_name.get(match["base"].lower(), []) if b != p and b not in found]
            if bases:
                candidates[p] = (match["type"].lower(), bases)
        for p, (stem_type, bases) in candidates.items():
            bases = [b for b in bases if b not in candidates]
            if bases:
                found[p] = StemFile(p, stem_type, min(bases, key=_rank), "sibling")
    plan = StemPlan(tracks=[f for f in files if f not in found])
    for stem in found.values():
        plan.stems.setdefault(stem.mix, []).append(stem)
    for group in plan.stems.values():
        group.sort(key=_stem_order)
    return plan


def find_tracks(paths: Iterable[StrPath]) -> StemPlan:
    """The tracks under ``paths`` (folders scanned as :func:`scan_audio` does) with their
    stems; stem files are not tracks.

    A file named explicitly stays a track unless its mix is named too, and an explicitly
    named mix still gets the stems that sit beside it.
    """
    paths = list(paths)
    unreadable: list[tuple[Path, str]] = []
    files = scan_audio(paths, unreadable)
    given = set(files)
    extra: list[Path] = []
    for raw in paths:
        p = Path(raw).expanduser().absolute()
        if p.is_dir() or not p.parent.is_dir():
            continue
        try:
            siblings = sorted(p.parent.iterdir())
        except OSError:  # a folder that can be entered but not listed: no siblings to find
            continue
        for sibling in siblings:
            if (
                sibling.suffix.lower() in AUDIO_EXTENSIONS
                and not sibling.name.startswith(".")
                and sibling.is_file()
                and sibling not in given
            ):
                extra.append(sibling)
    plan = split_stems([*files, *dict.fromkeys(extra)])
    stem_of = plan.stem_of
    tracks = [f for f in files if f not in stem_of or stem_of[f].mix not in given]
    stems = {t: plan.stems[t] for t in tracks if t in plan.stems}
    return StemPlan(tracks=tracks, stems=stems, unreadable=unreadable)
