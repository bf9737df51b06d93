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

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from linernotes.errors import AudioError
from linernotes.library.core import open_libraries
from linernotes.library.db import LibraryDB
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
from linernotes.separate.track import DEFAULT_OVERLAP, separate_file


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
    paths: Sequence[str | os.PathLike[str]],
    separator: Separator,
    *,
    out_dir: str | os.PathLike[str] | None = None,
    db_path: str | os.PathLike[str] | None = None,
    force: bool = False,
    overlap: float = DEFAULT_OVERLAP,
    batch: int = 1,
    on_outcome: Callable[[StemsOutcome], None] | None = None,
    on_progress: OnProgress | None = None,
) -> StemsReport:
    """Separate the tracks under ``paths`` with ``separator`` into their libraries (see the
    module docstring); the FLAC files go under ``out_dir`` instead when it is given."""
    report = StemsReport()
    params = separation_params(separator, overlap)
    out = Path(out_dir).expanduser().absolute() if out_dir else None
    with report.timed():
        for library, group in open_libraries(paths, db_path):
            plan = find_tracks(group)
            report.libraries.append(library.location.db)
            run = _Run(separator, library.db, library.location.db, params, library.root, out,
                       force, overlap, batch, on_progress)  # fmt: skip
            for track in plan.tracks:
                own = {s.stem_type for s in plan.stems.get(track, [])}
                if set(separator.sources) <= own:
                    outcome = StemsOutcome(track, "skipped", "has its own stems")
                else:
                    outcome = _separate_one(track, run)
                report.outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
    return report


@dataclass
class _Run:
    """The settings every track of one run shares."""

    separator: Separator
    store: LibraryDB
    db: Path
    params: dict
    root: Path
    out_dir: Path | None
    force: bool
    overlap: float
    batch: int
    on_progress: OnProgress | None


def _separate_one(track: Path, run: _Run) -> StemsOutcome:
    separator, store, db, params = run.separator, run.store, run.db, run.params
    root, out_dir, force, on_progress = run.root, run.out_dir, run.force, run.on_progress
    overlap, batch = run.overlap, run.batch
    start = time.monotonic()
    try:
        digest = file_hash(track, store)
        marker_file = marker_path(db, digest, separator.name)
        marker = None if force else read_marker(marker_file)
        if (
            marker is not None
            and marker.model_version == separator.version
            and marker.params == params
            and marker.complete(marker_file)
        ):
            return StemsOutcome(track, "skipped", "already separated",
                                stems=marker.stem_paths(marker_file))  # fmt: skip
        folder = stem_folder(db, digest, separator.name, track=track, root=root, out=out_dir)

        def progress(done_s: float, total_s: float) -> None:
            if on_progress is not None:
                on_progress(track, done_s, total_s)

        result = separate_file(track, separator, folder, overlap=overlap, batch=batch,
                               on_progress=progress)  # fmt: skip
        elapsed = time.monotonic() - start
        write_marker(
            marker_file,
            SeparationMarker(
                model=separator.name,
                model_version=separator.version,
                params=params,
                content_hash=digest,
                source=str(track),
                sample_rate=result.sample_rate,
                channels=result.channels,
                duration_s=round(result.duration_s, 3),
                stems={t: relative_to_marker(marker_file, p) for t, p in result.stems.items()},
                elapsed_s=round(elapsed, 2),
            ),
        )
    except AudioError as exc:
        return StemsOutcome(track, "failed", exc.reason, elapsed_s=time.monotonic() - start)
    except MemoryError:
        return StemsOutcome(track, "failed", "out of memory", elapsed_s=time.monotonic() - start)
    except Exception as exc:  # a bug or a model failure must not stop the batch
        reason = f"internal error: {type(exc).__name__}: {exc}"
        return StemsOutcome(track, "failed", reason, elapsed_s=time.monotonic() - start)
    return StemsOutcome(track, "done", audio_s=result.duration_s, elapsed_s=elapsed,
                        stems=result.stems)  # fmt: skip
