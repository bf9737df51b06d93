"""What every exporter shares: the tracks to export, where each format's files go, and a
writer that never rewrites an unchanged file and never touches audio.

Without an output folder (``out=None``) sidecar files are written beside the audio and the
dataset-level files at the top of the dataset folder. With one, each format gets
``OUT/<format>/`` as a self-contained folder that mirrors the dataset's layout, the audio
symlinked (or copied with ``copy_audio``) into it.
"""

from __future__ import annotations

import contextlib
import fcntl
import filecmp
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linernotes.fileio import temp_beside, write_atomic
from linernotes.models import Provenance, StemInfo, TrackRecord
from linernotes.models.final import FinalFields


@dataclass
class ExportTrack:
    """One track to export: its audio, record and reconciled fields."""

    audio: Path
    rel: Path
    record: TrackRecord
    final: FinalFields
    stem: str

    @property
    def rel_stem(self) -> Path:
        """The output stem relative to the dataset folder (``sub/song``)."""
        return self.rel.parent / self.stem

    @property
    def stems(self) -> list[ExportStem]:
        """The track's measured stems whose audio is still on disk, in record order; silent
        or unreadable stems (those with an ``error``) are left out of training data. A
        separated stem (kept in the library) is placed beside the mix as
        ``<track>.<type>.flac``; a user's stem where it sits beside the mix."""
        out = []
        for info in self.record.stems:
            if info.error is not None or info.features is None:
                continue
            candidates = (  # beside the mix as found now, then where it was analysed
                self.audio.parent / info.relpath,
                Path(self.record.file.path).parent / info.relpath,
                Path(info.path),
            )
            source = next((c for c in candidates if c.is_file()), None)
            if source is None:
                continue
            rel = self.rel.parent / info.relpath
            if info.provenance == Provenance.SEPARATED:  # from the library: beside the mix
                rel = self.rel.parent / f"{self.stem}.{info.stem_type}{source.suffix}"
            out.append(ExportStem(info, source.absolute(), rel))
        return out


@dataclass(frozen=True)
class ExportStem:
    """One stem of an exported track: its record entry, its audio, and its path relative to
    the dataset folder (beside the mix, as in the source)."""

    info: StemInfo
    source: Path
    rel: Path

    @property
    def stem_type(self) -> str:
        return self.info.stem_type


class AudioWriteRefused(RuntimeError):
    """An exporter tried to write over an audio file (a bug: exports never modify audio)."""


@dataclass
class FileWriter:
    """Atomic writes that skip files whose bytes would not change, and audio placement.

    ``written`` and ``unchanged`` list what happened, for the report and for tests. With
    ``within`` set, an existing file is read (to merge it, or to see it is unchanged) only
    when it really lies inside that folder: a sidecar that is a symlink out of the dataset is
    replaced, never read.
    """

    protected: set[Path] = field(default_factory=set)
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    within: Path | None = None
    lock_file: Path | None = None

    def may_read(self, path: Path) -> bool:
        """Whether ``path`` (symlinks followed) lies inside ``within``."""
        if self.within is None:
            return True
        return path.resolve().is_relative_to(self.within.resolve())

    def write(self, path: Path, data: str | bytes) -> bool:
        """Write ``data`` to ``path`` unless it already holds exactly that; True if written."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        if path.absolute() in self.protected or path.resolve() in self.protected:
            raise AudioWriteRefused(f"refusing to write over audio file {path}")
        try:
            if self.may_read(path) and path.is_file() and path.read_bytes() == payload:
                self.unchanged.append(path)
                return False
        except OSError:
            pass
        write_atomic(path, payload)
        self.written.append(path)
        return True

    def write_json(self, path: Path, obj: Any) -> bool:
        return self.write(path, dumps(obj))

    def merge_json(self, path: Path, updates: dict[str, Any], drop: tuple[str, ...] = ()) -> bool:
        """Update the JSON object in ``path`` with ``updates``, keeping every other key (so
        several formats, or other tools, can share one sidecar) except those in ``drop`` (a
        value an earlier export wrote that is no longer known); under ``lock_file``'s lock
        when set (a staging folder is this run's alone and needs none)."""
        with locked(self.lock_file) if self.lock_file is not None else nullcontext():
            current: dict[str, Any] = {}
            if self.may_read(path) and path.is_file():
                try:
                    loaded = json.loads(path.read_text(encoding="utf-8"))
                    current = loaded if isinstance(loaded, dict) else {}
                except (json.JSONDecodeError, UnicodeDecodeError):
                    current = {}
            kept = {k: v for k, v in current.items() if k not in drop}
            return self.write_json(path, {**kept, **updates})

    def place_audio(self, source: Path, target: Path, *, copy: bool) -> bool:
        """Make ``target`` show ``source``: a symlink, or an atomic copy; True if changed."""
        if target.absolute() == source.absolute():
            return False
        if copy:
            if (
                target.is_file()
                and not target.is_symlink()
                and filecmp.cmp(source, target, shallow=False)
            ):
                self.unchanged.append(target)
                return False
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = temp_beside(target)
            os.close(fd)
            try:
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        else:
            if target.is_symlink() and Path(os.readlink(target)) == source.absolute():
                self.unchanged.append(target)
                return False
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.link")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            tmp.symlink_to(source.absolute())
            try:
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        self.written.append(target)
        return True


@dataclass
class ExportTarget:
    """Where one format's files go for one export run."""

    root: Path
    out: Path | None
    copy_audio: bool = False
    name: str = "dataset"
    stems_as_samples: bool = False  # formats that can: each stem a training sample too
    published: Path | None = None

    @property
    def folder(self) -> Path:
        """The folder that holds the dataset-level files (while exporting: the staging
        folder, see :mod:`linernotes.export.staging`)."""
        return self.out if self.out is not None else self.root

    def shown(self, path: Path) -> Path:
        """``path`` as a trainer will find it: where a file written in the staging folder
        lies once the export is in place (an absolute path written into a dataset file
        must name that place)."""
        if self.published is None or self.out is None:
            return path
        try:
            return self.published / path.relative_to(self.out)
        except ValueError:
            return path

    def audio_path(self, track: ExportTrack) -> Path:
        """Where the trainer finds the track's audio."""
        return track.audio if self.out is None else self.out / track.rel

    def sidecar(self, track: ExportTrack, suffix: str) -> Path:
        """``<folder of the audio>/<stem><suffix>`` in this target."""
        return self.folder / track.rel.parent / (track.stem + suffix)

    def place(self, track: ExportTrack, writer: FileWriter) -> Path:
        """Link or copy the audio into the target (nothing to do beside the audio)."""
        target = self.audio_path(track)
        if self.out is not None:
            writer.place_audio(track.audio, target, copy=self.copy_audio)
        return target

    def place_stem(self, stem: ExportStem, writer: FileWriter) -> Path:
        """Link or copy a stem beside its mix in the target; the stem's audio is protected
        from every write of this export."""
        writer.protected |= {stem.source, stem.source.resolve()}
        if self.out is None:
            return stem.source
        target = self.out / stem.rel
        writer.place_audio(stem.source, target, copy=self.copy_audio)
        return target


def dumps(obj: Any) -> str:
    """Stable JSON: indented, UTF-8, newline-terminated (same input, same bytes)."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


@contextmanager
def locked(lock: Path) -> Iterator[None]:
    """An exclusive lock on the file ``lock``, for read-merge-write of sidecars among
    concurrent exporters."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def known_value(final: FinalFields, name: str) -> Any:
    """``name``'s final value when something measured, modelled, tagged or human says it;
    ``None`` when it is unknown (absent, null, or only a default)."""
    item = final.fields.get(name)
    if item is None or item.value is None or item.provenance == "default":
        return None
    return item.value


def bpm_int(value: Any) -> int | None:
    """BPM as the integer trainers take, ``None`` outside 30..300."""
    if value is None:
        return None
    bpm = round(float(value))
    return bpm if 30 <= bpm <= 300 else None
