"""Where a track's files go and how they are written: the record JSON and the beat and
downbeat grids, beside the audio or mirrored under an output folder, always atomically."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from linernotes.fileio import format_times, write_atomic
from linernotes.models import TrackRecord

RECORD_SUFFIX = ".linernotes.json"
BEATS_SUFFIX = ".BEATS_GRID"
DOWNBEATS_SUFFIX = ".DOWNBEATS"


class OutputLayout:
    """Maps each audio file to its output stem.

    The stem is the file name without its extension; where two audio files in one folder
    share a stem (``song.mp3`` and ``song.flac``) both keep their extension in the stem so
    neither overwrites the other. With ``out_dir``, the folder structure below ``root`` is
    mirrored there.
    """

    def __init__(self, files: Iterable[Path], *, root: Path | None, out_dir: Path | None) -> None:
        self.root = root
        self.out_dir = out_dir
        counts = Counter((f.parent, f.stem) for f in files)
        self._clashing = {key for key, n in counts.items() if n > 1}

    def stem_path(self, audio: Path) -> Path:
        stem = audio.name if (audio.parent, audio.stem) in self._clashing else audio.stem
        folder = audio.parent
        if self.out_dir is not None:
            try:
                rel = audio.parent.relative_to(self.root) if self.root else Path()
            except ValueError:
                rel = Path()
            folder = self.out_dir / rel
        return folder / stem

    def paths(self, audio: Path) -> dict[str, Path]:
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
