"""Where a track's files go: the record JSON and the beat and downbeat grids, beside the audio
or mirrored under the library's records folder (``analyze --out``), always written atomically.

A file's stem is its name without the extension; where two audio files in one folder share a
stem (``song.mp3`` and ``song.flac``) both keep their extension in it, so neither overwrites
the other. With a records folder, the folder structure below the library root is mirrored
there, so tracks with the same name in different folders keep apart.
"""

from __future__ import annotations

from pathlib import Path

from linernotes.fileio import format_times, write_atomic
from linernotes.library.scan import AUDIO_EXTENSIONS
from linernotes.models import TrackRecord

RECORD_SUFFIX = ".linernotes.json"
BEATS_SUFFIX = ".BEATS_GRID"
DOWNBEATS_SUFFIX = ".DOWNBEATS"


class Layout:
    """Maps each audio file to its output stem and files (see the module docstring).

    A folder's audio files are listed when a file of it is first asked about, and again
    when a file appears that the listing did not hold.
    """

    def __init__(self, *, root: Path | None, out_dir: Path | None) -> None:
        self.root = root
        self.out_dir = out_dir
        self._listed: dict[Path, set[str]] = {}

    def _audio_names(self, audio: Path) -> set[str]:
        names = self._listed.get(audio.parent)
        if names is None or (audio.name not in names and audio.exists()):
            folder = audio.parent
            names = {
                p.name
                for p in (folder.iterdir() if folder.is_dir() else ())
                if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
            }
            self._listed[folder] = names
        return names | {audio.name}

    def stem_path(self, audio: Path) -> Path:
        """``<folder>/<stem>``: the track's files without their suffixes."""
        clash = sum(Path(n).stem == audio.stem for n in self._audio_names(audio)) > 1
        stem = audio.name if clash else audio.stem
        folder = audio.parent
        if self.out_dir is not None:
            try:
                rel = audio.parent.relative_to(self.root) if self.root else Path()
            except ValueError:
                rel = Path()
            folder = self.out_dir / rel
        return folder / stem

    def paths(self, audio: Path) -> dict[str, Path]:
        """The record and grid files of ``audio``."""
        base = self.stem_path(audio)
        return {
            "record": base.with_name(base.name + RECORD_SUFFIX),
            "beats": base.with_name(base.name + BEATS_SUFFIX),
            "downbeats": base.with_name(base.name + DOWNBEATS_SUFFIX),
        }

    def complete(self, audio: Path) -> bool:
        return all(p.exists() for p in self.paths(audio).values())


def write_outputs(record: TrackRecord, paths: dict[str, Path]) -> list[Path]:
    """Write the record and its grid files, each via temp file + rename."""
    write_atomic(paths["record"], record.to_json() + "\n")
    write_atomic(paths["beats"], format_times(record.summary.beats))
    write_atomic(paths["downbeats"], format_times(record.summary.downbeats))
    return [paths["record"], paths["beats"], paths["downbeats"]]
