"""Jobs over the library (the adapter's second half): analyze, listen, export and crops,
run in a worker process with a progress callback; SIGINT (Ctrl-C) cancels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from linernotes.library.scan import find_audio
from linernotes.service.library_access import LibraryAccess

Progress = Callable[[int, int, str], None]


def run_job(access: LibraryAccess, kind: str, params: dict[str, Any], progress: Progress) -> str:
    """Run one job (in the worker process; Ctrl-C/SIGINT cancels) and return its summary.
    ``params``: ``ids``, ``force``, ``formats``, ``out``, ``seconds``, ``prompts``."""
    if kind in ("analyze", "listen"):
        return _analyze(access, kind, params, progress)
    if kind == "export":
        return _export(access, params, progress)
    if kind == "crops":
        return _crops(access, params, progress)
    raise ValueError(f"unknown job {kind!r}")


def _analyze(access: LibraryAccess, kind: str, params: dict[str, Any], progress: Progress) -> str:
    from linernotes.library import analyze_paths

    ids = params.get("ids") or []
    paths = [access.library.audio_path(i) for i in ids] if ids else [access.root]
    total = len(find_audio(paths))
    listener = None
    if kind == "listen":
        from linernotes.listen.choose import make_listener, selected_prompts
        from linernotes.listen.settings import ListenSettings

        settings = ListenSettings.load(prompts=params.get("prompts") or None)
        listener = make_listener(settings, selected_prompts(settings),
                                 force=bool(params.get("force")))  # fmt: skip
    done = [0]

    def on_outcome(outcome: Any) -> None:
        done[0] += 1
        note = f": {outcome.reason}" if outcome.status == "failed" else ""
        progress(done[0], total, f"{outcome.status} {outcome.path.name}{note}")

    progress(0, total, f"{kind}: {total} tracks")
    report = analyze_paths(
        paths,
        out_dir=access.records,
        db_path=access.db,
        force=bool(params.get("force")),
        on_outcome=on_outcome,
        listener=listener,
    )
    if report.interrupted:
        raise KeyboardInterrupt
    return (
        f"{report.count('done')} analysed, {report.count('skipped')} skipped, "
        f"{report.count('failed')} failed"
    )


def _export(access: LibraryAccess, params: dict[str, Any], progress: Progress) -> str:
    from linernotes.export.registry import export_tracks, parse_formats
    from linernotes.library import collect_tracks

    formats = parse_formats(",".join(params.get("formats") or []) or "all")
    out = Path(params["out"])
    progress(0, len(formats) + 1, "reading records")
    tracks, skipped = collect_tracks(
        access.root, records=access.records, db=access.db, exclude=out
    )
    lines = [f"{len(tracks)} tracks ({len(skipped)} without a record)"]
    for n, name in enumerate(formats, 1):
        (report,) = export_tracks(tracks, access.root, [name], out=out)
        lines.append(
            f"{name}: {len(report.written)} written, {len(report.unchanged)} unchanged"
            + (f", {len(report.problems)} invalid" if report.problems else "")
        )
        progress(n, len(formats) + 1, lines[-1])
    progress(len(formats) + 1, len(formats) + 1, "done")
    return "; ".join(lines)


def _crops(access: LibraryAccess, params: dict[str, Any], progress: Progress) -> str:
    from linernotes.library.crops import make_crops

    out = Path(params.get("out") or access.root.parent / f"{access.root.name}_crops")
    progress(0, 0, f"cutting {params.get('seconds', 30.0):g} s crops into {out}")
    report = make_crops(
        access.root,
        out,
        seconds=float(params.get("seconds", 30.0)),
        records=access.records,
        db=access.db,
        force=bool(params.get("force")),
    )
    return f"{len(report.written)} crops cut, {len(report.reused)} kept -> {out}"
