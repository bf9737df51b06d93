"""The batch runner: find audio, analyse each track (in worker processes if asked), write the
outputs, and report. Finished work is skipped on the next run; Ctrl-C stops cleanly and the
next run resumes; a broken file is reported in one line and the batch carries on.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from linernotes.errors import AudioError
from linernotes.features import FeatureParams
from linernotes.outputs import OutputLayout, write_outputs
from linernotes.pipeline import analyze_file, file_hash, record_is_current
from linernotes.record import TrackRecord
from linernotes.stems import StemFile, attach_stems, find_tracks, stems_current
from linernotes.store import Store, default_store_path

#: Extensions picked up when scanning folders (a file named explicitly is always tried).
AUDIO_EXTENSIONS = frozenset(
    [
        ".wav",
        ".wave",
        ".flac",
        ".mp3",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".mp4",
        ".aac",
        ".aif",
        ".aiff",
        ".aifc",
        ".wma",
        ".mka",
        ".webm",
        ".ac3",
        ".caf",
        ".wv",
        ".ape",
    ]
)

Status = Literal["done", "skipped", "failed", "busy"]


@dataclass
class TrackOutcome:
    """What happened to one track in a batch."""

    path: Path
    status: Status
    reason: str | None = None
    audio_s: float = 0.0
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    record_json: str | None = None


@dataclass
class BatchReport:
    """Totals of a batch, for the summary table and the exit code."""

    outcomes: list[TrackOutcome] = field(default_factory=list)
    wall_s: float = 0.0
    interrupted: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def audio_s(self) -> float:
        return sum(o.audio_s for o in self.outcomes if o.status == "done")

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.count("failed") else 0


def find_audio(
    paths: Iterable[str | os.PathLike[str]], *, include_stems: bool = False
) -> list[Path]:
    """The tracks under ``paths``: audio files (folders scanned recursively, hidden folders
    skipped), sorted, without duplicates, less the stems that belong to a mix beside them
    (see :mod:`linernotes.stems`) unless ``include_stems``. Paths that are not folders are
    kept as given."""
    if include_stems:
        return scan_audio(paths)
    return find_tracks(paths).tracks


def scan_audio(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every audio file under ``paths``, stems included (see :func:`find_audio`)."""
    found: dict[Path, None] = {}
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if Path(name).suffix.lower() in AUDIO_EXTENSIONS and not name.startswith("."):
                        found[(Path(dirpath) / name).absolute()] = None
        else:
            found[p.absolute()] = None
    return list(found)


_STORES: dict[str, Store] = {}


def _store_for(db_path: Path) -> Store:
    """One store connection per process, reused across the tracks it handles."""
    key = str(db_path)
    if key not in _STORES:
        _STORES[key] = Store(db_path)
    return _STORES[key]


def process_track(
    path: Path,
    *,
    db_path: Path,
    layout: OutputLayout,
    force: bool = False,
    write_files: bool = True,
    frontend: FeatureParams | None = None,
    stems: Sequence[StemFile] = (),
    separated_model: str | None = None,
) -> TrackOutcome:
    """Analyse one track of a batch (and its ``stems``, plus those separated from it for the
    types the user did not provide, of ``separated_model`` if given) and write its outputs;
    never raises for a bad file, and a bad stem is recorded in the stem's entry."""
    from linernotes.separate.layout import merge_stems, separated_stems

    start = time.monotonic()
    store = _store_for(db_path)
    try:
        digest = file_hash(path, store)
        stems = merge_stems(stems, separated_stems(db_path, digest, path, model=separated_model))
        if not store.claim(digest):
            return TrackOutcome(path, "busy", "being analysed by another process")
        try:
            outcome = _analyse_claimed(
                path, digest, store, layout, force, write_files, frontend, stems
            )
        finally:
            store.release(digest)
    except AudioError as exc:
        store.put_failure(path, exc.reason)
        return TrackOutcome(path, "failed", exc.reason, elapsed_s=time.monotonic() - start)
    except MemoryError:
        store.put_failure(path, "out of memory")
        return TrackOutcome(path, "failed", "out of memory", elapsed_s=time.monotonic() - start)
    except Exception as exc:  # a bug must not stop the batch; report it with the file
        reason = f"internal error: {type(exc).__name__}: {exc}"
        store.put_failure(path, reason)
        return TrackOutcome(path, "failed", reason, elapsed_s=time.monotonic() - start)
    outcome.elapsed_s = time.monotonic() - start
    return outcome


def _analyse_claimed(
    path: Path,
    digest: str,
    store: Store,
    layout: OutputLayout,
    force: bool,
    write_files: bool,
    frontend: FeatureParams | None,
    stems: Sequence[StemFile] = (),
) -> TrackOutcome:
    from linernotes.analyzers.registry import registered_stages

    stages = registered_stages()
    if not force:
        stored = store.get_record(digest)
        if stored is not None:
            record = TrackRecord.from_json(stored)
            if (
                record_is_current(record, stages, frontend)
                and record.file.path == str(path)
                and stems_current(record, stems, store)
            ):
                if write_files and not layout.complete(path):
                    write_outputs(record, layout.paths(path))
                return TrackOutcome(path, "skipped", "already analysed", record_json=stored)
    record = analyze_file(path, store=store, force=force, frontend=frontend, stages=stages)
    stem_s = attach_stems(record, stems, store=store, frontend=frontend, force=force)
    finalize(record, store)
    if write_files:
        write_outputs(record, layout.paths(path))
    audio_s = (record.file.decode.decoded_duration or 0.0) + stem_s
    return TrackOutcome(
        path,
        "done",
        audio_s=audio_s,
        warnings=list(record.file.decode.warnings),
        record_json=record.to_json(),
    )


class Listener(Protocol):
    """Adds a listen section to a record (see :class:`linernotes.listen.attach.TrackListener`)."""

    def __call__(self, path: Path, record: TrackRecord, db_path: Path) -> TrackRecord: ...


def _listen(
    outcome: TrackOutcome, listener: Listener, db: Path, layout: OutputLayout, write_files: bool
) -> None:
    """Run the listener on a measured track and save the extended record; a model failure
    fails the track (its measurements stay saved, and the next run asks again)."""
    from linernotes.errors import LinernotesError

    assert outcome.record_json is not None
    record = TrackRecord.from_json(outcome.record_json)
    try:
        record = listener(outcome.path, record, db)
    except (LinernotesError, OSError) as exc:
        outcome.status, outcome.reason = "failed", f"listen: {exc}"
        return
    finalize(record, _store_for(db))
    outcome.record_json = record.to_json()
    _store_for(db).put_record(record.file.content_hash, outcome.path, outcome.record_json)
    if write_files:
        write_outputs(record, layout.paths(outcome.path))


def finalize(record: TrackRecord, store: Store) -> None:
    """Refresh the record's final fields (measured + model + the library's human edits) and
    save it, so every written record carries reconciled values that respect locked edits."""
    from linernotes.edits.apply import reconcile_with_edits

    record.final = reconcile_with_edits(record, store.path)
    store.put_record(record.file.content_hash, Path(record.file.path), record.to_json())


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def analyze_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    db_path: str | os.PathLike[str] | None = None,
    workers: int = 1,
    force: bool = False,
    write_files: bool = True,
    on_outcome: Callable[[TrackOutcome], None] | None = None,
    listener: Listener | None = None,
    separated_model: str | None = None,
) -> BatchReport:
    """Analyse every audio file under ``paths``; see the module docstring for the guarantees.

    ``on_outcome`` is called in the parent process after each track (progress display).
    ``listener`` (``analyze --listen``) adds the audio model's section to each measured record,
    in this process, so a model is loaded once however many workers measure. Stems separated
    earlier (``linernotes stems``) join each track's own; ``separated_model`` picks the model
    when a track was separated by several (default: the newest separation).
    """
    plan = find_tracks(paths)
    files = plan.tracks
    root, db = library_of(paths, files, out_dir=out_dir, db_path=db_path)
    out = Path(out_dir).absolute() if out_dir else None
    layout = OutputLayout(files, root=root, out_dir=out)
    report = BatchReport()
    start = time.monotonic()

    def record(outcome: TrackOutcome) -> None:
        if listener is not None and outcome.status in ("done", "skipped"):
            _listen(outcome, listener, db, layout, write_files)
        report.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    kwargs = {"db_path": db, "layout": layout, "force": force, "write_files": write_files,
              "separated_model": separated_model}  # fmt: skip
    try:
        if workers <= 1:
            for path in files:
                record(process_track(path, stems=plan.stems.get(path, ()), **kwargs))
        else:
            _run_pool(files, workers, kwargs, record, plan.stems)
    except KeyboardInterrupt:
        report.interrupted = True
    report.wall_s = time.monotonic() - start
    return report


def library_of(
    paths: Sequence[str | os.PathLike[str]],
    files: Sequence[Path],
    *,
    out_dir: str | os.PathLike[str] | None = None,
    db_path: str | os.PathLike[str] | None = None,
) -> tuple[Path | None, Path]:
    """The root folder of a batch (the folder given, else the tracks' common folder) and its
    library database (``db_path``, else the one in ``out_dir`` or the root)."""
    roots = [Path(p).expanduser().absolute() for p in paths]
    root = roots[0] if len(roots) == 1 and roots[0].is_dir() else None
    if root is None and files:
        root = Path(os.path.commonpath([f.parent for f in files]))
    out = Path(out_dir).absolute() if out_dir else None
    return root, Path(db_path) if db_path else default_store_path(out or root or Path.cwd())


def _run_pool(
    files: list[Path],
    workers: int,
    kwargs: dict,
    record: Callable[[TrackOutcome], None],
    stems: dict[Path, list[StemFile]] | None = None,
) -> None:
    """Run tracks in worker processes, at most ``2 * workers`` queued at a time.

    On Ctrl-C, queued tracks are cancelled and the tracks in progress are allowed to finish
    (a second Ctrl-C terminates the workers at once); either way nothing is half-written.
    """
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
    pending: set[Future[TrackOutcome]] = set()

    def collect(block: bool) -> None:
        nonlocal pending
        done, pending = wait(pending, return_when=FIRST_COMPLETED if block else ALL_COMPLETED)
        for fut in done:
            if not fut.cancelled():
                record(fut.result())

    try:
        for path in files:
            stems_of = (stems or {}).get(path, [])
            pending.add(pool.submit(process_track, path, stems=stems_of, **kwargs))
            if len(pending) >= 2 * workers:
                collect(block=True)
        while pending:
            collect(block=True)
    except KeyboardInterrupt:
        for fut in pending:
            fut.cancel()
        try:
            collect(block=False)
        except KeyboardInterrupt:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
