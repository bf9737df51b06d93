"""The analysed tracks under a folder, with their final fields, and exporting them.

Export, review and crops read tracks through here: each track's record comes from its
library, and its final fields are the stored ones (reconciled when it was analysed, edited or
scored) unless reconcile options ask for something else (an LLM structurer, hints, a
metadata lookup), in which case they are reconciled afresh for this run only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from linernotes.export.base import ExportTrack
from linernotes.export.registry import FormatReport, export_tracks
from linernotes.library.core import Library, LibraryNotFound
from linernotes.library.scan import find_audio
from linernotes.models import TrackRecord
from linernotes.pipeline.duplicates import find_duplicates
from linernotes.reconcile.core import ReconcileOptions
from linernotes.reconcile.musicbrainz import LookupMatch

#: A metadata lookup: a record in, a match (or none) out.
Lookup = Callable[[TrackRecord], "LookupMatch | None"]


@dataclass
class Collected:
    """The tracks found under a folder, those without a record (each with the reason), and
    how many audio files were looked at."""

    tracks: list[ExportTrack] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.tracks) + len(self.skipped)


def collect(
    root: str | Path,
    *,
    records: str | Path | None = None,
    db: str | Path | None = None,
    options: ReconcileOptions | None = None,
    exclude: Path | None = None,
    lookup: Lookup | None = None,
) -> Collected:
    """Every analysed track under ``root`` in its library (:func:`tracks_of`); all of them
    skipped, with the reason, when there is no library."""
    root = Path(root).expanduser().absolute()
    try:
        library = Library.find(root, db=db, records=records)
    except LibraryNotFound as exc:
        return Collected(skipped=[(f, str(exc)) for f in _audio_under(root, exclude)])
    with library:
        return tracks_of(library, root, options=options, exclude=exclude, lookup=lookup)


def _audio_under(root: Path, exclude: Path | None) -> list[Path]:
    files = find_audio([root])
    if exclude is None:
        return files
    return [f for f in files if not f.is_relative_to(exclude.expanduser().absolute())]


def tracks_of(
    library: Library,
    root: Path,
    *,
    options: ReconcileOptions | None = None,
    exclude: Path | None = None,
    lookup: Lookup | None = None,
) -> Collected:
    """The tracks under ``root`` with their records and final fields (``lookup`` consulted
    per track when given); audio without a record is listed as skipped with the reason."""
    root = root.expanduser().absolute()
    out = Collected()
    for audio in _audio_under(root, exclude):
        try:
            record = library.record_of(audio)
        except LookupError as exc:
            out.skipped.append((audio, str(exc)))
            continue
        track_options = options
        if lookup is not None:
            track_options = replace(options or ReconcileOptions(), lookup=lookup(record))
        out.tracks.append(
            ExportTrack(
                audio=audio,
                rel=audio.relative_to(root),
                record=record,
                final=library.final_of(record, track_options),
                stem=library.layout.stem_path(audio).name,
            )
        )
    return out


def collect_tracks(
    root: str | Path, **kwargs: object
) -> tuple[list[ExportTrack], list[tuple[Path, str]]]:
    """:func:`collect` as ``(tracks, skipped)``."""
    found = collect(root, **kwargs)  # type: ignore[arg-type]
    return found.tracks, found.skipped


@dataclass
class ExportReport:
    """The whole run: tracks exported, tracks skipped (with reasons), per-format results."""

    tracks: list[ExportTrack] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    formats: list[FormatReport] = field(default_factory=list)
    #: Copies of a recording left out (another file holds it; see ``keep_duplicates``).
    duplicates: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.problems for f in self.formats)


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
    keep_duplicates: bool = False,
    stems_as_samples: bool = False,
) -> ExportReport:
    """Export every analysed track under ``root`` to ``formats`` (see :mod:`linernotes.export`);
    ``stems_as_samples``: formats that can (stable-audio) make each stem a sample too.

    A recording held in several files (another format or folder, found by acoustic
    fingerprint, :mod:`linernotes.pipeline.duplicates`) is exported once, lossless first;
    each copy left out is in ``duplicates`` with the reason. ``keep_duplicates`` exports all.
    """
    root_path = Path(root).expanduser().absolute()
    out_path = Path(out).expanduser().absolute() if out else None
    found = collect(root_path, records=records, db=db, options=options, exclude=out_path,
                    lookup=lookup)  # fmt: skip
    report = ExportReport(tracks=found.tracks, skipped=found.skipped)
    if not keep_duplicates:
        groups = find_duplicates([(t.audio, t.record) for t in found.tracks])
        left_out = {p: g.describe(p) for g in groups for p in g.others}
        report.duplicates = sorted(left_out.items())
        report.tracks = [t for t in found.tracks if t.audio not in left_out]
    report.formats = export_tracks(
        report.tracks, root_path, formats, out=out_path, copy_audio=copy_audio,
        validate=validate, stems_as_samples=stems_as_samples,
    )
    return report
