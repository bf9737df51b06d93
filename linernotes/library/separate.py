"""``stems``: separate every track under some paths into their library, resumable, with
progress; a bad file never stops it.

Each path goes to its library by the one rule (:mod:`.location`; a new one is made where
``analyze`` would make it), and the stems to that library's stems folder (:mod:`.stems`).
A track is skipped when the user provided every stem type the model makes (their stems win),
or when its completion marker names this model, these weights and these settings and every
stem it lists is on disk; otherwise it is separated and its marker written last. Ctrl-C stops
between two writes: the track in progress leaves no file behind and the same command resumes
with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from linernotes.fileio import StrPath
from linernotes.library.core import Library, open_libraries
from linernotes.library.ray_stems import RaySeparation, separate_on_ray
from linernotes.library.scan import find_tracks
from linernotes.library.stems import (
    SeparationMarker,
    marker_path,
    read_marker,
    relative_to_marker,
    stem_folder,
    write_marker,
)
from linernotes.pipeline.runner import BatchReport, TrackOutcome
from linernotes.pipeline.track import file_hash
from linernotes.separate.model import Separator
from linernotes.separate.track import (
    DEFAULT_OVERLAP,
    SeparatedTrack,
    failure_reason,
    separate_file,
)


@dataclass
class StemsOutcome(TrackOutcome):
    """What happened to one track: ``done`` (separated now), ``skipped`` or ``failed`` (with
    the reason), and the stems it has now."""

    stems: dict[str, Path] = field(default_factory=dict)


@dataclass
class StemsReport(BatchReport):
    """A whole run (see :class:`~linernotes.pipeline.runner.BatchReport`) and the library
    databases whose stems folders hold the markers."""

    libraries: list[Path] = field(default_factory=list)


#: Called while a track is separated: (track, seconds done, seconds in the track).
OnProgress = Callable[[Path, float, float], None]


def separation_params(separator: Separator, overlap: float) -> dict[str, float | int]:
    """The settings that change a separation's result (its marker must match them)."""
    return {"overlap": overlap, "segment_s": round(separator.segment_s, 4), "shifts": 0}


def separate_paths(
    paths: Sequence[StrPath],
    separator: Separator,
    *,
    out_dir: StrPath | None = None,
    db_path: StrPath | None = None,
    force: bool = False,
    overlap: float = DEFAULT_OVERLAP,
    batch: int = 1,
    on_outcome: Callable[[StemsOutcome], None] | None = None,
    on_progress: OnProgress | None = None,
    ray: RaySeparation | None = None,
) -> StemsReport:
    """Separate the tracks under ``paths`` with ``separator`` into their libraries (see the
    module docstring); the FLAC files go under ``out_dir`` instead when it is given. With
    ``ray``, actors on a Ray cluster separate (:mod:`linernotes.library.ray_stems`) and this
    process decides what to separate and writes the markers."""
    report = StemsReport()
    params = separation_params(separator, overlap)
    out = Path(out_dir).expanduser().absolute() if out_dir else None
    with report.timed():
        for library, group in open_libraries(paths, db_path):
            plan = find_tracks(group)
            for folder, reason in plan.unreadable:  # reported, as analyze reports them
                report.add(StemsOutcome(folder, "failed", f"cannot read folder: {reason}"),
                           on_outcome)  # fmt: skip
            report.libraries.append(library.location.db)
            run = _Run(separator, library, params, out, force, overlap, batch, on_progress)
            remote: list[PendingSeparation] = []
            for track in plan.tracks:
                own = {s.stem_type for s in plan.stems.get(track, [])}
                if set(separator.sources) <= own:
                    outcome = StemsOutcome(track, "skipped", "has its own stems")
                elif ray is None:
                    outcome = _separate_one(track, run)
                else:
                    outcome = _pending_or_failed(track, run)
                    if isinstance(outcome, PendingSeparation):
                        remote.append(outcome)
                        continue
                report.add(outcome, on_outcome)
            if ray is not None:
                for pending, result, elapsed in separate_on_ray(
                    remote, ray, overlap=overlap, batch=batch
                ):
                    report.add(_finished(pending, result, run, elapsed), on_outcome)
    return report


@dataclass
class _Run:
    """The settings every track of one library's run shares."""

    separator: Separator
    library: Library
    params: dict
    out_dir: Path | None
    force: bool
    overlap: float
    batch: int
    on_progress: OnProgress | None


def _separate_one(track: Path, run: _Run) -> StemsOutcome:
    start = time.monotonic()
    try:
        pending = _pending(track, run)
        if isinstance(pending, StemsOutcome):
            return pending

        def progress(done_s: float, total_s: float) -> None:
            if run.on_progress is not None:
                run.on_progress(track, done_s, total_s)

        result = separate_file(track, run.separator, pending.folder, overlap=run.overlap,
                               batch=run.batch, on_progress=progress)  # fmt: skip
        return _finish(pending, result, run, time.monotonic() - start)
    except Exception as exc:  # a bug or a model failure must not stop the batch
        return _failed(track, exc, time.monotonic() - start)


@dataclass(frozen=True)
class PendingSeparation:
    """A track to separate: its content hash, its completion marker and its stems folder."""

    track: Path
    digest: str
    marker_file: Path
    folder: Path


def _pending_or_failed(track: Path, run: _Run) -> PendingSeparation | StemsOutcome:
    try:
        return _pending(track, run)
    except Exception as exc:  # an unreadable file fails alone
        return _failed(track, exc, 0.0)


def _pending(track: Path, run: _Run) -> PendingSeparation | StemsOutcome:
    """What separating ``track`` needs, or the "skipped" outcome when its marker says it is
    done with this model, these weights and these settings."""
    db = run.library.location.db
    digest = file_hash(track, run.library.db)
    marker_file = marker_path(db, digest, run.separator.name)
    marker = None if run.force else read_marker(marker_file)
    if (
        marker is not None
        and marker.model_version == run.separator.version
        and marker.params == run.params
        and marker.complete(marker_file)
    ):
        return StemsOutcome(track, "skipped", "already separated",
                            stems=marker.stem_paths(marker_file))  # fmt: skip
    folder = stem_folder(db, digest, run.separator.name, track=track, root=run.library.root,
                         out=run.out_dir)  # fmt: skip
    return PendingSeparation(track, digest, marker_file, folder)


def _finish(
    pending: PendingSeparation, result: SeparatedTrack, run: _Run, elapsed: float
) -> StemsOutcome:
    """Write the completion marker of a separated track (last, atomically)."""
    write_marker(
        pending.marker_file,
        SeparationMarker(
            model=run.separator.name,
            model_version=run.separator.version,
            params=run.params,
            content_hash=pending.digest,
            source=str(pending.track),
            sample_rate=result.sample_rate,
            channels=result.channels,
            duration_s=round(result.duration_s, 3),
            stems={t: relative_to_marker(pending.marker_file, p) for t, p in result.stems.items()},
            elapsed_s=round(elapsed, 2),
        ),
    )
    return StemsOutcome(pending.track, "done", audio_s=result.duration_s, elapsed_s=elapsed,
                        stems=result.stems)  # fmt: skip


def _finished(
    pending: PendingSeparation, result: SeparatedTrack | str, run: _Run, elapsed: float
) -> StemsOutcome:
    """The outcome of a track separated on the cluster (``result``: its stems, or why it
    failed), its marker written; an error while writing it fails this track alone."""
    if isinstance(result, str):
        return StemsOutcome(pending.track, "failed", result, elapsed_s=elapsed)
    try:
        return _finish(pending, result, run, elapsed)
    except Exception as exc:
        return _failed(pending.track, exc, elapsed)


def _failed(track: Path, exc: BaseException, elapsed: float) -> StemsOutcome:
    return StemsOutcome(track, "failed", failure_reason(exc), elapsed_s=elapsed)
