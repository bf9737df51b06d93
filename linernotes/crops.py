"""Training crops: fixed-length pieces of each analysed track, cut on downbeats.

``linernotes crops DIR --seconds 30 --align downbeat`` cuts non-overlapping crops that each
start on a downbeat (no crop starts mid-bar), skips silent ones, analyses every crop (its own
bpm, key, grids) and carries the source track's caption, tags and vocals (human edits
included) to it; ``--to FORMATS`` then exports the crops like tracks. Audio is streamed
(one crop in memory at a time), crops are written atomically (temporary file, rename), and
originals are never moved or changed. A crop already cut from the same source at the same
time is not cut again (``--force`` cuts and analyses it again).

A crop is a track of its own: ``linernotes edit CROP bpm=...`` stores a human edit keyed by
the crop's content hash, in the library found from the crop's folder (or ``--db``). Every
run puts those edits on top of the crop's final fields, after the fields carried from the
source, so a crop's own bpm, key or caption edit wins. When a crop is cut again and its bytes
change (``--force`` after an encoder change, ``--format wav`` after flac), its edits are
carried to the new bytes as long as it is the same piece of the same source (at least
:data:`SAME_PIECE` of it overlapping); otherwise the run says which edits were left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

from linernotes.edits.store import EditStore, find_library
from linernotes.export.base import ExportTrack, dumps
from linernotes.fileio import write_atomic
from linernotes.models import Edit, FinalFields, FinalValue, TrackRecord
from linernotes.reconcile.core import apply_edits, reconcile

Align = Literal["downbeat", "beat", "none"]
CROP_SUFFIX = ".crop.json"
MANIFEST = "crops.jsonl"
#: Final fields a crop inherits from its source track (the rest it measures itself).
CARRIED = ("caption", "genres", "moods", "instruments", "is_instrumental", "vocal_language",
           "title", "artist")  # fmt: skip
#: A crop cut again keeps its human edits when at least this fraction of it overlaps the
#: previous cut of the same source (the same piece of music, give or take a shifted downbeat).
SAME_PIECE = 0.5


class CropInfo(BaseModel):
    """Where a crop came from (``<crop>.crop.json`` beside it)."""

    source: str
    source_hash: str
    index: int
    start: float
    end: float
    align: Align
    rms_dbfs: float


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


class CropEdits:
    """The human-edit layers crops are edited in: the library ``linernotes edit CROP`` uses
    (found from the crop's folder) and ``db`` when given (``linernotes edit CROP --db``).
    Databases are opened only when they exist, and never created here."""

    def __init__(self, db: Path | None = None) -> None:
        self.db = db
        self._stores: dict[Path, EditStore] = {}

    def stores(self, crop: Path) -> list[EditStore]:
        libraries = dict.fromkeys([find_library(crop.absolute()), *([self.db] if self.db else [])])
        out = []
        for library in libraries:
            if library not in self._stores and library.is_file():
                self._stores[library] = EditStore(library)
            if library in self._stores:
                out.append(self._stores[library])
        return out

    def active(self, crop: Path, digest: str) -> dict[str, Edit]:
        """``{field: edit}`` of the crop with content hash ``digest`` (latest edit wins)."""
        merged: dict[str, Edit] = {}
        for store in self.stores(crop):
            for name, edit in store.active(digest).items():
                if name not in merged or edit.at >= merged[name].at:
                    merged[name] = edit
        return merged

    def carry(self, crop: Path, old: str, new: str) -> list[Edit]:
        """Copy the crop's edits from its previous bytes ``old`` to its new bytes ``new``."""
        return [e for s in self.stores(crop) for e in s.carry(old, new, path=str(crop))]

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()


def cut_crops(
    track: ExportTrack,
    out: Path,
    *,
    seconds: float = 30.0,
    align: Align = "downbeat",
    silence_db: float = -50.0,
    suffix: str = ".flac",
    report: CropReport | None = None,
    force: bool = False,
    edits: CropEdits | None = None,
) -> CropReport:
    """Cut ``track``'s crops into ``out`` (mirroring its subfolder), analyse each and return
    them as export-ready tracks (in ``report.tracks``) with the crops' own human edits on
    top; ``force`` cuts and analyses crops that are already there again."""
    from linernotes.audio.decode import open_audio

    if edits is None:
        with contextlib.closing(CropEdits()) as opened:
            return cut_crops(track, out, seconds=seconds, align=align, silence_db=silence_db,
                             suffix=suffix, report=report, force=force, edits=opened)  # fmt: skip
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
    folder = out / track.rel.parent
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
            samples = audio[:, a : a + round(seconds * sr)]
            _emit(track, samples, sr, index, start, seconds, align, silence_db, folder,
                  suffix, report, force, edits)  # fmt: skip
            keep_from = round(pending[0][1] * sr) - offset if pending else audio.shape[1]
            buffer, offset = [audio[:, keep_from:]], offset + keep_from
        if not pending:
            break
    return report


def _emit(
    track: ExportTrack,
    samples: np.ndarray,
    sr: int,
    index: int,
    start: float,
    seconds: float,
    align: Align,
    silence_db: float,
    folder: Path,
    suffix: str,
    report: CropReport,
    force: bool,
    edits: CropEdits,
) -> None:
    from linernotes.audio.encode import write_audio
    from linernotes.outputs import OutputLayout, write_outputs
    from linernotes.pipeline import analyze_file

    name = f"{track.stem}_crop{index:03d}"
    path = folder / (name + suffix)
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    rms_db = round(20 * np.log10(max(rms, 1e-12)), 2)
    if rms_db < silence_db:
        report.skipped.append((name, f"silent ({rms_db:g} dBFS < {silence_db:g})"))
        return
    info = CropInfo(source=track.rel.as_posix(), source_hash=track.record.file.content_hash,
                    index=index, start=start, end=round(start + seconds, 4), align=align,
                    rms_dbfs=rms_db)  # fmt: skip
    info_path = folder / (name + CROP_SUFFIX)
    layout = OutputLayout([path], root=folder, out_dir=None)
    record_path = layout.paths(path)["record"]
    previous = _previous_cut(info_path, record_path)
    if not force and path.is_file() and previous is not None and previous[0] == info:
        record = TrackRecord.load(record_path)
        report.reused.append(path)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.tmp{suffix}"
        try:
            write_audio(tmp, samples, sr)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        record = analyze_file(path)
        if track.record.listen is not None:
            record.listen = track.record.listen.model_copy(deep=True)
        write_outputs(record, layout.paths(path))
        write_atomic(info_path, dumps(info.model_dump()))
        report.written.append(path)
        if previous is not None and previous[1] != record.file.content_hash:
            _carry_edits(path, name, previous, info, record.file.content_hash, edits, report)
    crop_edits = edits.active(path, record.file.content_hash)
    final = carry(track.final, reconcile(record), record=record, edits=crop_edits)
    report.tracks.append(
        ExportTrack(audio=path.absolute(), rel=Path(track.rel.parent, path.name), record=record,
                    final=final, stem=name)
    )  # fmt: skip


def _previous_cut(info_path: Path, record_path: Path) -> tuple[CropInfo, str] | None:
    """Where the crop already on disk came from and its content hash (from its record),
    or ``None`` when there is none (or it cannot be read)."""
    try:
        info = CropInfo.model_validate_json(info_path.read_text())
        return info, TrackRecord.load(record_path).file.content_hash
    except (OSError, ValueError):
        return None


def same_piece(a: CropInfo, b: CropInfo) -> bool:
    """Whether two cuts are the same piece of the same source: same source bytes, and at
    least :data:`SAME_PIECE` of the shorter cut overlapping the other."""
    overlap = min(a.end, b.end) - max(a.start, b.start)
    shorter = min(a.end - a.start, b.end - b.start)
    return a.source_hash == b.source_hash and shorter > 0 and overlap >= SAME_PIECE * shorter


def _carry_edits(
    path: Path,
    name: str,
    previous: tuple[CropInfo, str],
    info: CropInfo,
    digest: str,
    edits: CropEdits,
    report: CropReport,
) -> None:
    """A crop was cut again into different bytes: bring its human edits along when it is
    the same piece, else say which edits stay with the old cut."""
    old_info, old_hash = previous
    left = edits.active(path, old_hash)
    if not left:
        return
    fields = ", ".join(sorted(left))
    if same_piece(old_info, info):
        carried = edits.carry(path, old_hash, digest)
        if carried:
            report.notes.append(f"{name}: human edits of {', '.join(e.field for e in carried)}"
                                " kept on the crop cut again")  # fmt: skip
    else:
        report.notes.append(
            f"{name}: human edits of {fields} not carried: the crop now covers "
            f"{info.start:g}-{info.end:g} s of {info.source}, not {old_info.start:g}-"
            f"{old_info.end:g} s (see `linernotes history` of the old cut)"
        )


def carry(
    source: FinalFields,
    crop: FinalFields,
    *,
    record: TrackRecord | None = None,
    edits: dict[str, Edit] | None = None,
) -> FinalFields:
    """``crop`` with the source track's descriptive fields (:data:`CARRIED`); bpm, key,
    meter and duration stay the crop's own. Lyrics are not carried (a crop holds only part
    of them): ``[Instrumental]`` for an instrumental source, else none. The crop's own human
    ``edits`` go on last, so they win over both its measurements and what was carried;
    review flags are then set from ``record`` (the crop's)."""
    out = crop.model_copy(deep=True)
    for name in CARRIED:
        item = source.fields.get(name)
        if item is not None:
            out.fields[name] = item.model_copy(
                update={"note": f"carried from the source track ({item.provenance})"}
            )
    instrumental = source.value("is_instrumental") is True
    out.fields["lyrics"] = FinalValue(
        value="[Instrumental]" if instrumental else None,
        confidence=source.fields["lyrics"].confidence if instrumental else 0.0,
        provenance=source.fields["lyrics"].provenance if instrumental else "default",
        note="lyrics of the whole track are not carried to a crop",
    )
    out.conflicts = [c for c in out.conflicts if c.field not in CARRIED]
    return apply_edits(out, record, edits)


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
) -> CropReport:
    """Crops of every analysed track under ``root`` into ``out``, and ``out/crops.jsonl``;
    ``force`` cuts and analyses every crop again (their human edits are kept)."""
    from linernotes.export.registry import collect_tracks

    tracks, skipped = collect_tracks(root, records=records, db=db, exclude=out)
    report = CropReport(skipped=[(str(p), r) for p, r in skipped])
    edits = CropEdits(db)
    try:
        for track in tracks:
            try:
                cut_crops(track, out, seconds=seconds, align=align, silence_db=silence_db,
                          suffix=suffix, report=report, force=force, edits=edits)  # fmt: skip
            except Exception as exc:  # one bad file must not stop the batch
                report.skipped.append((str(track.rel), f"{type(exc).__name__}: {exc}"))
    finally:
        edits.close()
    lines = []
    for crop in report.tracks:
        info = json.loads(crop.audio.with_name(crop.stem + CROP_SUFFIX).read_text())
        row: dict[str, Any] = {"path": crop.rel.as_posix(), **info}
        row.update({k: crop.final.value(k) for k in ("bpm", "key", "time_signature", "caption")})
        lines.append(json.dumps(row, ensure_ascii=False))
    if lines:
        write_atomic(out / MANIFEST, "".join(line + "\n" for line in lines))
    return report


def build_crops_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "crops",
        help="cut downbeat-aligned training crops of analysed tracks",
        description="Cut non-overlapping crops that start on downbeats, skip silent ones,"
        " analyse each crop and carry the track's caption and tags; originals are untouched.",
    )
    p.add_argument("dir", help="the dataset folder (analysed with `linernotes analyze`)")
    p.add_argument("--seconds", type=float, default=30.0, help="crop length (default 30)")
    p.add_argument("--align", choices=("downbeat", "beat", "none"), default="downbeat")
    p.add_argument("--out", help="crops folder (default: <DIR>_crops beside DIR)")
    p.add_argument("--format", default="flac", choices=("flac", "wav"), help="crop audio format")
    p.add_argument("--silence-db", type=float, default=-50.0, help="skip crops quieter (RMS)")
    p.add_argument("--to", help="also export the crops to these formats (beside the crops)")
    p.add_argument("--records", help="the --out folder the tracks were analysed into")
    p.add_argument("--db", help="library database (default: found from DIR)")
    p.add_argument("--force", action="store_true",
                   help="cut and analyse crops again (their human edits are kept)")  # fmt: skip
    return p


def cmd_crops(args: argparse.Namespace) -> int:
    from linernotes.export.registry import export_tracks, parse_formats

    root = Path(args.dir).absolute()
    if not root.is_dir():
        print(f"linernotes: {root}: not a folder", file=sys.stderr)
        return 1
    formats = []
    if args.to:
        try:
            formats = parse_formats(args.to)
        except ValueError as exc:
            print(f"linernotes: {exc}", file=sys.stderr)
            return 1
    out = Path(args.out).absolute() if args.out else root.parent / f"{root.name}_crops"
    report = make_crops(root, out, seconds=args.seconds, align=args.align,
                        silence_db=args.silence_db, suffix="." + args.format,
                        records=Path(args.records) if args.records else None,
                        db=Path(args.db) if args.db else None, force=args.force)  # fmt: skip
    for what, reason in report.skipped:
        print(f"skipped: {what}: {reason}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"crops: {len(report.written)} cut, {len(report.reused)} kept -> {out}")
    ok = True
    if formats and report.tracks:
        for fmt in export_tracks(report.tracks, out, formats):
            print(f"{fmt.name}: {len(fmt.written)} written, {len(fmt.unchanged)} unchanged")
            for path, reason in fmt.skipped:
                print(f"  skipped for {fmt.name}: {path}: {reason}", file=sys.stderr)
            for problem in fmt.problems:
                print(f"  invalid: {problem}", file=sys.stderr)
                ok = False
    return 0 if report.tracks and ok else 1
