"""The export formats by name, and :func:`export_dataset`, which runs them over a folder.

Each format module provides ``export(tracks, target, writer)`` and ``validate(folder)``
(which reads the files back the way the format's trainer does); adding a format means
adding a module and one line to :data:`FORMATS`. A module that declares which audio its
trainer reads (``AUDIO_EXTENSIONS``, ``FILES_BY_STEM``, ``TRAINER``) gets its tracks through
:func:`linernotes.export.placement.plan` first: renamed where stems clash, transcoded to
FLAC where the trainer cannot read the container, or skipped with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

from linernotes.edits.store import EditStore, find_library
from linernotes.export import ace_step, audiocraft, bark, hf, info, stable_audio, table
from linernotes.export.base import ExportTarget, ExportTrack, FileWriter
from linernotes.export.placement import TrainerAudio, Transcoder, plan
from linernotes.reconcile.core import ReconcileOptions, reconcile
from linernotes.reconcile.musicbrainz import LookupMatch
from linernotes.record import TrackRecord

#: A metadata lookup: a record in, a match (or none) out.
Lookup = Callable[[TrackRecord], "LookupMatch | None"]


@dataclass(frozen=True)
class Format:
    """One export dialect."""

    name: str
    module: ModuleType
    help: str

    @property
    def export(self) -> Callable[[list[ExportTrack], ExportTarget, FileWriter], None]:
        return self.module.export

    @property
    def validate(self) -> Callable[[Path], list[str]]:
        return self.module.validate

    @property
    def audio(self) -> TrainerAudio | None:
        """What the format's trainer reads, when the module declares it."""
        return TrainerAudio.of(self.module)


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("ace-step", ace_step, "ACE-Step 1.5 sidecars, dataset JSON and CSV"),
        Format("stable-audio", stable_audio, "stable-audio-tools JSON, metadata module, shards"),
        Format("audiocraft", audiocraft, "audiocraft/MusicGen JSONL manifest and .json info"),
        Format("hf", hf, "Hugging Face audiofolder metadata.jsonl"),
        Format("info", info, ".INFO feature JSON (merged), .BEATS_GRID, .DOWNBEATS"),
        Format("bark", bark, "Bark-style dataset JSON, training notes, manifest"),
        Format("table", table, "CSV and Parquet of every final field and scalar feature"),
    )
}


def parse_formats(text: str) -> list[str]:
    """``"ace-step,hf"`` -> ``["ace-step", "hf"]``; ``all`` for every format.

    Raises
    ------
    ValueError
        An unknown format name.
    """
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(FORMATS)
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise ValueError(
            f"unknown format {', '.join(unknown) or text!r}; choose from {', '.join(FORMATS)}"
        )
    return list(dict.fromkeys(names))


@dataclass
class FormatReport:
    """What one format's export did; ``skipped`` lists the tracks this format left out
    (its trainer cannot read them there, or they would share another track's files), each
    with the reason."""

    name: str
    folder: Path
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class ExportReport:
    """The whole run: tracks exported, tracks skipped (with reasons), per-format results."""

    tracks: list[ExportTrack] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    formats: list[FormatReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.problems for f in self.formats)


def collect_tracks(
    root: Path,
    *,
    records: Path | None = None,
    db: Path | None = None,
    options: ReconcileOptions | None = None,
    exclude: Path | None = None,
    lookup: Lookup | None = None,
) -> tuple[list[ExportTrack], list[tuple[Path, str]]]:
    """Every analysed track under ``root`` with its reconciled fields (human edits from the
    library applied, ``lookup`` consulted per track when given); tracks without a record are
    returned as skipped."""
    from linernotes.lookup import find_record
    from linernotes.outputs import OutputLayout
    from linernotes.runner import find_audio

    root = root.absolute()
    files = [
        f
        for f in find_audio([root])
        if exclude is None or not f.absolute().is_relative_to(exclude.absolute())
    ]
    layout = OutputLayout(files, root=root, out_dir=None)
    library = db or find_library(root)
    tracks: list[ExportTrack] = []
    skipped: list[tuple[Path, str]] = []
    store = EditStore(library) if library.is_file() else None
    try:
        for audio in files:
            try:
                record = find_record(audio, out_dir=records, db_path=db)
            except LookupError as exc:
                skipped.append((audio, str(exc)))
                continue
            edits = store.active(record.file.content_hash) if store else {}
            track_options = options or ReconcileOptions()
            if lookup is not None:
                track_options = replace(track_options, lookup=lookup(record))
            tracks.append(
                ExportTrack(
                    audio=audio.absolute(),
                    rel=audio.absolute().relative_to(root),
                    record=record,
                    final=reconcile(record, edits, track_options),
                    stem=layout.stem_path(audio).name,
                )
            )
    finally:
        if store is not None:
            store.close()
    return tracks, skipped


def export_tracks(
    tracks: list[ExportTrack],
    root: Path,
    formats: list[str],
    *,
    out: Path | None = None,
    copy_audio: bool = False,
    validate: bool = True,
    stems_as_samples: bool = False,
) -> list[FormatReport]:
    """Write ``formats`` for ``tracks``; validate each as its consumer would.
    ``stems_as_samples``: formats that can (stable-audio) make each stem a sample too."""
    root = root.absolute()
    protected = {t.audio for t in tracks} | {t.audio.resolve() for t in tracks}
    transcoder = Transcoder()
    reports = []
    for name in formats:
        fmt = FORMATS[name]
        folder = out.absolute() / name if out is not None else None
        target = ExportTarget(root=root, out=folder, copy_audio=copy_audio, name=root.name,
                              stems_as_samples=stems_as_samples)  # fmt: skip
        writer = FileWriter(protected=protected)
        chosen, skipped = tracks, []
        audio = fmt.audio
        if audio is not None:
            chosen, skipped = plan(tracks, target, audio, writer, transcoder)
        fmt.export(chosen, target, writer)
        report = FormatReport(name, target.folder, writer.written, writer.unchanged,
                              skipped=skipped)  # fmt: skip
        if validate:
            report.problems = fmt.validate(target.folder)
        reports.append(report)
    return reports


def export_dataset(
    root: str | Path,
    formats: list[str],
    *,
    out: str | Path | None = None,
    copy_audio: bool = False,
    records: str | Path | None = None,
    db: str | Path | None = None,
    options: ReconcileOptions | None = None,
    validate: bool = True,
    lookup: Lookup | None = None,
    stems_as_samples: bool = False,
) -> ExportReport:
    """Export every analysed track under ``root`` to ``formats`` (see :mod:`linernotes.export`)."""
    root_path = Path(root)
    out_path = Path(out) if out else None
    tracks, skipped = collect_tracks(
        root_path,
        records=Path(records) if records else None,
        db=Path(db) if db else None,
        options=options,
        exclude=out_path,
        lookup=lookup,
    )
    report = ExportReport(tracks=tracks, skipped=skipped)
    report.formats = export_tracks(
        tracks, root_path, formats, out=out_path, copy_audio=copy_audio, validate=validate,
        stems_as_samples=stems_as_samples,
    )
    return report
