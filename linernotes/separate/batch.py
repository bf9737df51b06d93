"""Separate every track of a folder: resumable, with progress, a bad file never stops it.

A track is skipped when the user provided every stem type the model makes (their stems win),
or when its completion marker (:mod:`~linernotes.separate.layout`) names this model, these
weights and these settings and every stem it lists is on disk; otherwise it is separated and
its marker written last. Ctrl-C stops between two writes: the track in progress leaves no
file behind and the same command resumes with it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from linernotes.errors import AudioError
from linernotes.pipeline import file_hash
from linernotes.runner import BatchReport, TrackOutcome, library_of
from linernotes.separate.layout import (
    SeparationMarker,
    marker_path,
    read_marker,
    relative_to_marker,
    stem_folder,
    write_marker,
)
from linernotes.separate.model import Separator
from linernotes.separate.track import DEFAULT_OVERLAP, separate_file
from linernotes.stems import find_tracks
from linernotes.store import Store


@dataclass
class StemsOutcome(TrackOutcome):
    """What happened to one track: ``separated``, ``skipped`` or ``failed`` (with the
    reason), and the stems it has now."""

    stems: dict[str, Path] = field(default_factory=dict)


@dataclass
class StemsReport(BatchReport):
    """A whole run (see :class:`~linernotes.runner.BatchReport`) and the library database
    whose stems folder holds the markers."""

    library: Path | None = None


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
    library_out: str | os.PathLike[str] | None = None,
    force: bool = False,
    overlap: float = DEFAULT_OVERLAP,
    batch: int = 1,
    on_outcome: Callable[[StemsOutcome], None] | None = None,
    on_progress: OnProgress | None = None,
) -> StemsReport:
    """Separate the tracks under ``paths`` with ``separator`` (see the module docstring).

    Stems go to the library of the folder (``db_path``, else the library that ``analyze``
    with ``--out library_out`` would use) unless ``out_dir`` is given.
    """
    plan = find_tracks(paths)
    root, db = library_of(paths, plan.tracks, out_dir=library_out, db_path=db_path)
    report = StemsReport(library=db)
    params = separation_params(separator, overlap)
    store = Store(db)
    run = _Run(separator, store, db, params, root, out_dir, force, overlap, batch, on_progress)
    start = time.monotonic()
    try:
        for track in plan.tracks:
            own = {s.stem_type for s in plan.stems.get(track, [])}
            if set(separator.sources) <= own:
                outcome = StemsOutcome(track, "skipped", "has its own stems")
            else:
                outcome = _separate_one(track, run)
            report.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        store.close()
    report.wall_s = time.monotonic() - start
    return report


@dataclass
class _Run:
    """The settings every track of one run shares."""

    separator: Separator
    store: Store
    db: Path
    params: dict
    root: Path | None
    out_dir: str | os.PathLike[str] | None
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
        folder = stem_folder(db, digest, separator.name, track=track, root=root,
                             out=Path(out_dir) if out_dir else None)  # fmt: skip

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
    return StemsOutcome(track, "separated", audio_s=result.duration_s, elapsed_s=elapsed,
                        stems=result.stems)  # fmt: skip
