"""Training crops: fixed-length pieces of each analysed track, cut on downbeats.

``linernotes crops DIR --seconds 30 --align downbeat`` cuts non-overlapping crops that each
start on a downbeat (no crop starts mid-bar), skips silent ones, analyses every crop and
makes it a view of its source track (:mod:`linernotes.library.crop_view`: the track's grid,
tempo, key, meter and described fields over the crop's span, human edits and locks included;
a confident disagreeing measurement of the crop is recorded as a conflict); ``--to FORMATS``
then exports the crops like tracks. Audio is streamed
(one crop in memory at a time), crops are written atomically (temporary file, rename), and
originals are never moved or changed. A crop already cut from the same source at the same
time is not cut again (``--force`` cuts and analyses it again).

A crop is a track of its own, in the library found from the crops folder (created there when
there is none): ``linernotes edit CROP bpm=...`` stores a human edit keyed by the crop's
content hash. Every run puts those edits on top of the crop's final fields, after the fields
carried from the source, so a crop's own bpm, key or caption edit wins; an edit or undo of a
crop between runs makes it a view of its track again too
(:func:`~linernotes.library.crop_view.crop_final`, from :meth:`Library.save`; the source's
library is named in the ``.crop.json``). When a crop is cut
again and its bytes change (``--force`` after an encoder change, ``--format wav`` after
flac), its edits are carried to the new bytes as long as it is the same piece of the same
source (at least :data:`SAME_PIECE` of it overlapping); otherwise the run says which edits
were left behind.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from linernotes.audio.decode import open_audio
from linernotes.audio.encode import write_audio
from linernotes.export.base import ExportTrack, dumps
from linernotes.fileio import is_utf8_name, write_atomic
from linernotes.library.core import Library
from linernotes.library.crop_view import CROP_SUFFIX, Align, CropInfo, view_of
from linernotes.library.location import libraries_for, locate
from linernotes.library.scan import AUDIO_EXTENSIONS
from linernotes.library.tracks import collect
from linernotes.pipeline.track import analyze_file

MANIFEST = "crops.jsonl"
#: A crop cut again keeps its human edits when at least this fraction of it overlaps the
#: previous cut of the same source (the same piece of music, give or take a shifted downbeat).
SAME_PIECE = 0.5


def crop_starts(grid: list[float], duration: float, seconds: float, align: Align) -> list[float]:
    """Non-overlapping crop starts: each on a ``grid`` time (downbeats or beats) at least
    ``seconds`` after the previous start, or every ``seconds`` from 0 with ``align="none"``;
    only crops that end within ``duration``."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    points = [i * seconds for i in range(int(duration // seconds) + 1)] if align == "none" else grid
    starts: list[float] = []
    for t in sorted(points):
        if t + seconds > duration + 1e-6:
            break
        if not starts or t >= starts[-1] + seconds - 1e-6:
            starts.append(round(float(t), 4))
    return starts


@dataclass
class CropReport:
    """Crops written, reused, skipped (with reasons) and tracks that gave none; ``notes``
    says what happened to human edits of crops that were cut again."""

    written: list[Path] = field(default_factory=list)
    reused: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    tracks: list[ExportTrack] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CropSettings:
    """How crops are cut: ``seconds`` long, starting on a downbeat, a beat or every
    ``seconds`` (``align``), skipped below ``silence_db`` RMS, written as ``suffix`` audio;
    ``force`` cuts and analyses crops that are already there again."""

    seconds: float = 30.0
    align: Align = "downbeat"
    silence_db: float = -50.0
    suffix: str = ".flac"
    force: bool = False


def cut_crops(
    track: ExportTrack, out: Path, library: Library, settings: CropSettings | None = None,
    report: CropReport | None = None, source_db: Path | None = None,
) -> CropReport:
    """Cut ``track``'s crops into ``out`` (mirroring its subfolder), analyse each into
    ``library`` (the crops' library) and return them as export-ready tracks (in
    ``report.tracks``) with the crops' own human edits on top; ``source_db`` (the database
    of ``track``'s library) is remembered beside each crop."""
    settings = settings or CropSettings()
    seconds, align = settings.seconds, settings.align
    report = report or CropReport()
    summary = track.record.summary
    grid = summary.downbeats if align == "downbeat" else summary.beats
    duration = track.record.file.decode.decoded_duration or summary.duration or 0.0
    if align != "none" and not grid:
        report.skipped.append((str(track.rel), f"no {align}s measured: nothing to align to"))
        return report
    starts = crop_starts(grid, duration, seconds, align)
    if not starts:
        report.skipped.append((str(track.rel), f"shorter than one {seconds:g} s crop"))
        return report
    cut = _Cut(track, library, settings, out / track.rel.parent, report, source_db)
    pending = list(enumerate(starts))
    source = open_audio(track.audio)
    sr = source.info.sample_rate
    buffer: list[np.ndarray] = []
    offset = 0  # samples before buffer[0]
    for chunk in source.chunks():
        buffer.append(chunk)
        available = offset + sum(b.shape[1] for b in buffer)
        while pending and available >= round((pending[0][1] + seconds) * sr):
            index, start = pending.pop(0)
            audio = np.concatenate(buffer, axis=1)
            a = round(start * sr) - offset
            cut.emit(audio[:, a : a + round(seconds * sr)], sr, index, start)
            keep_from = round(pending[0][1] * sr) - offset if pending else audio.shape[1]
            buffer, offset = [audio[:, keep_from:]], offset + keep_from
        if not pending:
            break
    return report


@dataclass
class _Cut:
    """Cutting one track's crops: where they go and what to do with each."""

    track: ExportTrack
    library: Library
    settings: CropSettings
    folder: Path
    report: CropReport
    source_db: Path | None = None

    def emit(self, samples: np.ndarray, sr: int, index: int, start: float) -> None:
        """Write, analyse and store one crop (or reuse it when it is already there)."""
        track, report, settings = self.track, self.report, self.settings
        name = f"{track.stem}_crop{index:03d}"
        path = self.folder / (name + settings.suffix)
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0
        rms_db = round(20 * np.log10(max(rms, 1e-12)), 2)
        if rms_db < settings.silence_db:
            report.skipped.append((name, f"silent ({rms_db:g} dBFS < {settings.silence_db:g})"))
            return
        info = CropInfo(source=track.rel.as_posix(), source_hash=track.record.file.content_hash,
                        index=index, start=start, end=round(start + settings.seconds, 4),
                        align=settings.align, rms_dbfs=rms_db,
                        source_db=str(self.source_db) if self.source_db else None)  # fmt: skip
        info_path = self.folder / (name + CROP_SUFFIX)
        previous = _previous_cut(info_path, self.library, path)
        if (not settings.force and path.is_file() and previous is not None
                and previous[0].same_cut(info)):  # fmt: skip
            record = self.library.record_of(path)
            if previous[0] != info:  # the source's library moved: say where it is now
                write_atomic(info_path, dumps(info.model_dump()))
            report.reused.append(path)
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{name}.tmp{settings.suffix}"
            try:
                write_audio(tmp, samples, sr)
                os.replace(tmp, path)
            finally:
                if tmp.exists():
                    tmp.unlink()
            record = analyze_file(path, store=self.library.db)
            if track.record.listen is not None:
                record.listen = track.record.listen.model_copy(deep=True)
            write_atomic(info_path, dumps(info.model_dump()))
            report.written.append(path)
            if previous is not None and previous[1] != record.file.content_hash:
                self._carry_edits(name, previous, info, record.file.content_hash)
        crop_edits = self.library.db.active_edits(record.file.content_hash)
        final = view_of(record, info, track.record, track.final, crop_edits)
        self.library.save(path, record, final=final)
        report.tracks.append(
            ExportTrack(audio=path.absolute(), rel=Path(track.rel.parent, path.name),
                        record=record, final=final, stem=name)
        )  # fmt: skip

    def _carry_edits(
        self, name: str, previous: tuple[CropInfo, str], info: CropInfo, digest: str
    ) -> None:
        """A crop was cut again into different bytes: bring its human edits along when it is
        the same piece, else say which edits stay with the old cut."""
        old_info, old_hash = previous
        db = self.library.db
        left = db.active_edits(old_hash)
        if not left:
            return
        if same_piece(old_info, info):
            carried = db.carry_edits(old_hash, digest, path=str(self.folder / name))
            if carried:
                fields = ", ".join(e.field for e in carried)
                self.report.notes.append(f"{name}: human edits of {fields} kept on the crop cut"
                                         " again")  # fmt: skip
        else:
            self.report.notes.append(
                f"{name}: human edits of {', '.join(sorted(left))} not carried: the crop now"
                f" covers {info.start:g}-{info.end:g} s of {info.source}, not {old_info.start:g}-"
                f"{old_info.end:g} s (see `linernotes history` of the old cut)"
            )


def _previous_cut(
    info_path: Path, library: Library, audio: Path
) -> tuple[CropInfo, str] | None:
    """Where the crop already on disk under this name came from and its content hash (from
    its stored record; it may be in another format), or ``None`` when there is none."""
    try:
        info = CropInfo.model_validate_json(info_path.read_text())
    except (OSError, ValueError):
        return None
    stem = info_path.name[: -len(CROP_SUFFIX)]
    for candidate in [audio, *sorted(audio.parent.glob(glob.escape(stem) + ".*"))]:
        if candidate.suffix.lower() in AUDIO_EXTENSIONS and candidate.is_file():
            try:
                return info, library.record_of(candidate).file.content_hash
            except LookupError:
                continue
    return None


def same_piece(a: CropInfo, b: CropInfo) -> bool:
    """Whether two cuts are the same piece of the same source: same source bytes, and at
    least :data:`SAME_PIECE` of the shorter cut overlapping the other."""
    overlap = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    return a.source_hash == b.source_hash and shorter > 0 and overlap >= SAME_PIECE * shorter


def make_crops(
    root: Path,
    out: Path,
    *,
    seconds: float = 30.0,
    align: Align = "downbeat",
    silence_db: float = -50.0,
    suffix: str = ".flac",
    records: Path | None = None,
    db: Path | None = None,
    force: bool = False,
    on_track: Callable[[ExportTrack, int], None] | None = None,
) -> CropReport:
    """Crops of every analysed track under ``root`` (its library: ``db``, ``records``) into
    ``out``, and ``out/crops.jsonl``; ``force`` cuts and analyses every crop again (their
    human edits are kept). ``on_track(track, n_tracks)`` is called after each track."""
    out = out.expanduser().absolute()
    settings = CropSettings(seconds, align, silence_db, suffix, force)
    found = collect(root, records=records, db=db, exclude=out)
    report = CropReport(skipped=[(str(p), r) for p, r in found.skipped])
    if not found.tracks:
        return report
    source = locate(Path(root).expanduser().absolute(), db)
    (location, _), = libraries_for([out])
    with Library(location, default_root=out) as library:
        for track in found.tracks:
            if not is_utf8_name(track.rel):
                report.skipped.append((str(track.rel), "its file name is not valid UTF-8, which"
                                       " the crops' names and manifest cannot hold"))  # fmt: skip
            else:
                try:
                    cut_crops(track, out, library, settings, report,
                              source.db if source else None)  # fmt: skip
                except Exception as exc:  # one bad file must not stop the batch
                    report.skipped.append((str(track.rel), f"{type(exc).__name__}: {exc}"))
            if on_track is not None:
                on_track(track, len(found.tracks))
    lines = []
    for crop in report.tracks:
        info = json.loads(crop.audio.with_name(crop.stem + CROP_SUFFIX).read_text())
        info.pop("source_db", None)  # where the source's library lies is not the dataset's
        row: dict[str, Any] = {"path": crop.rel.as_posix(), **info}
        row.update({k: crop.final.value(k) for k in ("bpm", "key", "time_signature", "caption")})
        lines.append(json.dumps(row, ensure_ascii=False))
    if lines:
        write_atomic(out / MANIFEST, "".join(line + "\n" for line in lines))
    return report
