"""``export`` and ``crops``: analysed tracks in trainers' formats, and training crops."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from linernotes.cli import options
from linernotes.fileio import printable


def register(sub: Any) -> None:
    from linernotes.export.registry import FORMATS

    formats = "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values())
    p = options.add_command(sub, cmd_export, f"Formats: {formats}.")
    p.add_argument("dir", help="the dataset folder (analysed with `linernotes analyze`)")
    p.add_argument("--to", required=True, help="comma-separated formats, or 'all'")
    p.add_argument("--out", help="write each format to OUT/<format>/ instead of beside the audio")
    p.add_argument("--copy-audio", action="store_true", help="copy audio into --out (else link)")
    p.add_argument("--keep-duplicates", action="store_true",
                   help="export every copy of a recording found in several files (by acoustic "
                        "fingerprint); by default one is kept, lossless first")  # fmt: skip
    options.add_library(p)
    p.add_argument("--no-validate", action="store_true", help="skip reading the export back")
    p.add_argument(
        "--lookup",
        action="store_true",
        help="fill missing title/artist from a MusicBrainz search (tags first)",
    )
    p.add_argument("--musicbrainz-url", help="MusicBrainz server (default musicbrainz.org)")
    p.add_argument(
        "--stems-as-samples",
        action="store_true",
        help="stable-audio: each stem is a training sample too, with its own prompt",
    )
    options.add_json(p, "what was written, per format")
    options.add_quiet(p)
    group = p.add_argument_group(
        "structuring (default: the final fields stored with each record, made by the"
        " deterministic rules; these options reconcile again for this export)"
    )
    group.add_argument("--llm-base-url", help="OpenAI-compatible server for LLM structuring")
    group.add_argument("--llm-model", help="model name on that server")
    group.add_argument(
        "--hint",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="artist=..., title=..., context=... for the structuring step",
    )

    p = options.add_command(sub, cmd_crops)
    p.add_argument("dir", help="the dataset folder (analysed with `linernotes analyze`)")
    p.add_argument("--seconds", type=float, default=30.0, help="crop length (default 30)")
    p.add_argument("--align", choices=("downbeat", "beat", "none"), default="downbeat")
    p.add_argument("--out", help="crops folder (default: <DIR>_crops beside DIR)")
    p.add_argument("--format", default="flac", choices=("flac", "wav"), help="crop audio format")
    p.add_argument("--silence-db", type=float, default=-50.0, help="skip crops quieter (RMS)")
    p.add_argument("--to", help="also export the crops to these formats (beside the crops)")
    options.add_library(p)
    p.add_argument("--force", action="store_true",
                   help="cut and analyse crops again (their human edits are kept)")  # fmt: skip
    options.add_json(p, "the crops and what was written")
    options.add_quiet(p)


def reconcile_options(args: argparse.Namespace) -> Any:
    """Reconcile options asked for on the command line (``None``: the stored fields)."""
    from linernotes.reconcile.core import ReconcileOptions

    hints = dict(h.partition("=")[::2] for h in args.hint if "=" in h)
    hints = {k.strip(): v.strip() for k, v in hints.items()}
    if not hints and not args.llm_base_url:
        return None
    structurer = None
    if args.llm_base_url:
        from linernotes.reconcile.llm import LLMStructurer

        structurer = LLMStructurer(base_url=args.llm_base_url, model=args.llm_model or "default")
    return ReconcileOptions(structurer=structurer, hints=hints)


def _lookup(args: argparse.Namespace) -> Any:
    if not args.lookup:
        return None
    from linernotes.reconcile.musicbrainz import DEFAULT_URL, MusicBrainzLookup

    return MusicBrainzLookup(base_url=args.musicbrainz_url or DEFAULT_URL)


def _formats(text: str | None) -> list[str]:
    """Format names (``all``: every format), none for ``None``."""
    from linernotes.export.registry import parse_formats

    return parse_formats(text) if text else []


def _report_formats(reports: list[Any], *, quiet: bool = False) -> tuple[list[dict], bool]:
    """Print each format's line (and its skips and problems on stderr); the JSON view."""
    data, ok = [], True
    for fmt in reports:
        ok = ok and not fmt.problems
        data.append({"format": fmt.name, "folder": str(fmt.folder),
                     "written": [str(p) for p in fmt.written],
                     "unchanged": [str(p) for p in fmt.unchanged],
                     "skipped": [{"path": str(p), "reason": r} for p, r in fmt.skipped],
                     "problems": fmt.problems})  # fmt: skip
        for path, reason in fmt.skipped:
            print(f"  skipped for {fmt.name}: {printable(path)}: {printable(reason)}",
                  file=sys.stderr)
        for problem in fmt.problems:
            print(f"  invalid: {printable(problem)}", file=sys.stderr)
    return data, ok


def cmd_export(args: argparse.Namespace) -> int:
    """Write reconciled annotations in trainers' formats.

    Export every analysed track of DIR. Without --out, sidecars go beside the audio; with
    --out each format is a self-contained OUT/<format>/ folder. Unchanged files are not
    rewritten; audio is never modified.
    """
    from linernotes.library import export_dataset

    formats = options.parsed(_formats, args.to)
    root = options.need_folder(args.dir)
    lookup = _lookup(args)
    report = export_dataset(root, formats, out=args.out, copy_audio=args.copy_audio,
                            records=args.records, db=args.db, options=reconcile_options(args),
                            validate=not args.no_validate, lookup=lookup,
                            keep_duplicates=args.keep_duplicates,
                            stems_as_samples=args.stems_as_samples)  # fmt: skip
    lookup_failures = lookup.failures if lookup is not None else []
    for path, reason in lookup_failures:
        print(f"lookup failed: {printable(path)}: {printable(reason)}", file=sys.stderr)
    for path, reason in report.skipped:
        print(f"skipped: {printable(path)}: {printable(reason)}", file=sys.stderr)
    for path, reason in report.duplicates:
        print(f"duplicate left out: {printable(path)}: {printable(reason)}", file=sys.stderr)
    data, ok = _report_formats(report.formats)
    if args.json:
        skipped = [{"path": str(p), "reason": r} for p, r in report.skipped]
        failed = [{"path": p, "reason": r} for p, r in lookup_failures]
        duplicates = [{"path": str(p), "reason": r} for p, r in report.duplicates]
        options.print_json({"tracks": len(report.tracks), "formats": data, "skipped": skipped,
                            "duplicates": duplicates, "lookup_failed": failed})
    else:
        for fmt in report.formats:
            skipped = f", {len(fmt.skipped)} tracks skipped" if fmt.skipped else ""
            print(f"{fmt.name}: {len(fmt.written)} written, {len(fmt.unchanged)} unchanged"
                  f"{skipped} -> {printable(fmt.folder)}")  # fmt: skip
    if not report.tracks:
        return options.nothing_analysed(root)
    return 0 if ok and not report.skipped and not lookup_failures else 1


def cmd_crops(args: argparse.Namespace) -> int:
    """Cut downbeat-aligned training crops of analysed tracks.

    Cut non-overlapping crops that start on downbeats, skip silent ones, analyse each crop
    and carry the track's caption and tags; originals are untouched.
    """
    from linernotes.cli.progress import Progress
    from linernotes.export.registry import export_tracks
    from linernotes.library.crops import make_crops

    root = options.need_folder(args.dir)
    formats = options.parsed(_formats, args.to)
    out = Path(args.out).absolute() if args.out else root.parent / f"{root.name}_crops"
    bars: list[Progress] = []

    def on_track(track: Any, total: int) -> None:
        if not bars:
            bars.append(Progress(total, enabled=not args.quiet))
        bars[0].advance(track.rel.as_posix())

    report = make_crops(root, out, seconds=args.seconds, align=args.align,
                        silence_db=args.silence_db, suffix="." + args.format,
                        records=args.records, db=args.db, force=args.force,
                        on_track=on_track)  # fmt: skip
    for bar in bars:
        bar.close()
    for what, reason in report.skipped:
        print(f"skipped: {printable(what)}: {printable(reason)}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {printable(note)}", file=sys.stderr)
    data, ok = [], True
    if formats and report.tracks:
        reports = export_tracks(report.tracks, out, formats)
        data, ok = _report_formats(reports)
    if args.json:
        options.print_json({"folder": str(out), "cut": [str(p) for p in report.written],
                    "kept": [str(p) for p in report.reused],
                    "skipped": [{"what": w, "reason": r} for w, r in report.skipped],
                    "notes": report.notes, "formats": data})  # fmt: skip
    else:
        print(f"crops: {len(report.written)} cut, {len(report.reused)} kept -> {printable(out)}")
        for fmt in data:
            print(f"{fmt['format']}: {len(fmt['written'])} written,"
                  f" {len(fmt['unchanged'])} unchanged")  # fmt: skip
    return 0 if report.tracks and ok else 1
