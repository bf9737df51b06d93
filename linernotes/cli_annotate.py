"""Command-line pieces for reconcile, human edits and export, for ``linernotes.cli`` to mount.

:func:`build_annotate_parsers` adds ``export``, ``edit``, ``history``, ``undo``, ``review``
(and ``crops``) to a subparsers object; :data:`COMMANDS` maps each command name to its
function.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from linernotes.cli_review import build_review_parser, cmd_review
from linernotes.reconcile.core import ReconcileOptions


def build_export_parser(sub: Any) -> argparse.ArgumentParser:
    from linernotes.export.registry import FORMATS

    p = sub.add_parser(
        "export",
        help="write reconciled annotations in trainers' formats",
        description="Export every analysed track of DIR. Without --out, sidecars go beside the"
        " audio; with --out each format is a self-contained OUT/<format>/ folder. Unchanged"
        " files are not rewritten; audio is never modified. Formats: "
        + "; ".join(f"{f.name}: {f.help}" for f in FORMATS.values()),
    )
    p.add_argument("dir", help="the dataset folder (analysed with `linernotes analyze`)")
    p.add_argument("--to", required=True, help="comma-separated formats, or 'all'")
    p.add_argument("--out", help="write each format to OUT/<format>/ instead of beside the audio")
    p.add_argument("--copy-audio", action="store_true", help="copy audio into --out (else link)")
    p.add_argument("--records", help="the --out folder the tracks were analysed into")
    p.add_argument("--db", help="library database (default: found from DIR)")
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
    add_structure_options(p)
    return p


def add_structure_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("structuring (default: deterministic rules, no model)")
    group.add_argument("--llm-base-url", help="OpenAI-compatible server for LLM structuring")
    group.add_argument("--llm-model", help="model name on that server")
    group.add_argument(
        "--hint",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="artist=..., title=..., context=... for the structuring step",
    )


def build_edit_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "edit",
        help="set a track's fields by hand (a human edit, kept through automatic runs)",
        description="FIELD=VALUE sets a value (checked and spelled canonically: key=Am ->"
        " A minor); a bare FIELD with --lock locks the current value as verified. --from"
        " imports a CSV (File, BPM, Key, Caption, ...) or JSON file of edits.",
    )
    p.add_argument("track", nargs="?", help="an audio file")
    p.add_argument("assignments", nargs="*", metavar="FIELD=VALUE")
    p.add_argument("--from", dest="from_file", help="a CSV or JSON file of edits")
    p.add_argument("--root", help="find the --from file's tracks by name under this folder")
    p.add_argument("--lock", action="store_true", help="lock the field (verified)")
    p.add_argument("--author", help="who edits (default: $LINERNOTES_AUTHOR or your user name)")
    p.add_argument("--records", help="the --out folder the track was analysed into")
    p.add_argument("--db", help="library database (default: found from the track)")
    return p


def build_history_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("history", help="list a track's human edits, oldest first")
    p.add_argument("track", help="an audio file")
    p.add_argument("--records", help="the --out folder the track was analysed into")
    p.add_argument("--db", help="library database (default: found from the track)")
    p.add_argument("--json", action="store_true", help="one JSON object per edit")
    return p


def build_undo_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("undo", help="undo a track's latest human edit (of --field if given)")
    p.add_argument("track", help="an audio file")
    p.add_argument("--field", help="undo the latest edit of this field")
    p.add_argument("--records", help="the --out folder the track was analysed into")
    p.add_argument("--db", help="library database (default: found from the track)")
    return p


def build_annotate_parsers(sub: Any) -> None:
    """Add every command of this module to ``sub`` (an ``add_subparsers`` object)."""
    build_export_parser(sub)
    build_edit_parser(sub)
    build_history_parser(sub)
    build_undo_parser(sub)
    build_review_parser(sub)
    try:
        from linernotes.crops import build_crops_parser
    except ImportError:  # pragma: no cover - crops is optional in this layer
        return
    build_crops_parser(sub)


def _fail(message: str) -> int:
    print(f"linernotes: {message}", file=sys.stderr)
    return 1


def options_from_args(args: argparse.Namespace) -> ReconcileOptions:
    hints = {}
    for item in getattr(args, "hint", []) or []:
        key, sep, value = item.partition("=")
        if sep:
            hints[key.strip()] = value.strip()
    structurer = None
    if getattr(args, "llm_base_url", None):
        from linernotes.reconcile.llm import LLMStructurer

        structurer = LLMStructurer(base_url=args.llm_base_url, model=args.llm_model or "default")
    return ReconcileOptions(structurer=structurer, hints=hints)


def _lookup(args: argparse.Namespace) -> Any:
    if not getattr(args, "lookup", False):
        return None
    from linernotes.reconcile.musicbrainz import DEFAULT_URL, MusicBrainzLookup

    return MusicBrainzLookup(base_url=args.musicbrainz_url or DEFAULT_URL)


def cmd_export(args: argparse.Namespace) -> int:
    from linernotes.export.registry import export_dataset, parse_formats

    try:
        formats = parse_formats(args.to)
    except ValueError as exc:
        return _fail(str(exc))
    root = Path(args.dir)
    if not root.is_dir():
        return _fail(f"{root}: not a folder")
    lookup = _lookup(args)
    report = export_dataset(
        root,
        formats,
        out=args.out,
        copy_audio=args.copy_audio,
        records=args.records,
        db=args.db,
        options=options_from_args(args),
        validate=not args.no_validate,
        lookup=lookup,
        stems_as_samples=args.stems_as_samples,
    )
    lookup_failures = getattr(lookup, "failures", [])
    for path, reason in lookup_failures:
        print(f"lookup failed: {path}: {reason}", file=sys.stderr)
    for path, reason in report.skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    for fmt in report.formats:
        skipped = f", {len(fmt.skipped)} tracks skipped" if fmt.skipped else ""
        print(
            f"{fmt.name}: {len(fmt.written)} written, {len(fmt.unchanged)} unchanged{skipped}"
            f" -> {fmt.folder}"
        )
        for path, reason in fmt.skipped:
            print(f"  skipped for {fmt.name}: {path}: {reason}", file=sys.stderr)
        for problem in fmt.problems:
            print(f"  invalid: {problem}", file=sys.stderr)
    if not report.tracks:
        return _fail(f"no analysed tracks under {root}; run `linernotes analyze {root}` first")
    return 0 if report.ok and not lookup_failures else 1


def _track(args: argparse.Namespace) -> tuple[Any, Path]:
    """The record of ``args.track`` and its library database."""
    from linernotes.edits.store import find_library
    from linernotes.lookup import find_record

    path = Path(args.track)
    record = find_record(path, out_dir=args.records, db_path=args.db)
    return record, Path(args.db) if args.db else find_library(path.absolute())


def _author(args: argparse.Namespace) -> str:
    return args.author or os.environ.get("LINERNOTES_AUTHOR") or getpass.getuser()


def cmd_edit(args: argparse.Namespace) -> int:
    from linernotes.edits.model import canonical_field, parse_value
    from linernotes.edits.store import EditStore
    from linernotes.reconcile.core import reconcile

    if args.from_file:
        return _import_edits(args)
    if not args.track or not args.assignments:
        return _fail("edit needs TRACK and FIELD=VALUE (or --from FILE)")
    try:
        record, db = _track(args)
    except LookupError as exc:
        return _fail(str(exc))
    digest = record.file.content_hash
    with EditStore(db) as store:
        current = reconcile(record, store.active(digest))
        changes: list[tuple[str, Any]] = []
        try:
            for item in args.assignments:
                name, sep, raw = item.partition("=")
                field = canonical_field(name)
                if not sep:
                    if not args.lock:
                        return _fail(f"{item!r}: use FIELD=VALUE, or a bare FIELD with --lock")
                    changes.append((field, parse_value(field, current.value(field))))
                else:
                    changes.append((field, parse_value(field, raw)))
        except ValueError as exc:
            return _fail(str(exc))
        for field, value in changes:
            store.add(digest, field, value, locked=args.lock, author=_author(args),
                      path=str(Path(args.track).absolute()), parse=False)  # fmt: skip
        final = reconcile(record, store.active(digest))
    for field, _ in changes:
        item = final.fields[field]
        lock = " (locked)" if item.locked else ""
        print(f"{field} = {json.dumps(item.value, ensure_ascii=False)}{lock}")
    return 0


def _import_edits(args: argparse.Namespace) -> int:
    """``edit --from FILE``: check every row, then store all edits (or none)."""
    from linernotes.edits.importer import plan_edits
    from linernotes.edits.store import EditStore, find_library
    from linernotes.lookup import find_record

    source = Path(args.from_file)
    if not source.is_file():
        return _fail(f"{source}: file not found")
    try:
        pending, problems = plan_edits(source, Path(args.root) if args.root else None)
    except (ValueError, json.JSONDecodeError) as exc:
        return _fail(str(exc))
    hashes: dict[Path, str] = {}
    for edit in pending:
        if edit.audio not in hashes:
            try:
                record = find_record(edit.audio, out_dir=args.records, db_path=args.db)
                hashes[edit.audio] = record.file.content_hash
            except LookupError as exc:
                problems.append(str(exc))
    if problems:
        for problem in problems:
            print(f"linernotes: {problem}", file=sys.stderr)
        return _fail(f"{source}: nothing imported ({len(problems)} problems)")
    db = Path(args.db) if args.db else find_library(Path(args.root or source.parent).absolute())
    with EditStore(db) as store:
        for edit in pending:
            store.add(hashes[edit.audio], edit.field, edit.value, locked=args.lock,
                      author=_author(args), path=str(edit.audio), parse=False)  # fmt: skip
    print(f"{len(pending)} edits of {len(hashes)} tracks imported from {source}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from linernotes.edits.store import EditStore

    try:
        record, db = _track(args)
    except LookupError as exc:
        return _fail(str(exc))
    with EditStore(db) as store:
        edits = store.history(record.file.content_hash)
    for edit in edits:
        if args.json:
            print(edit.model_dump_json())
            continue
        flags = "".join([" locked" if edit.locked else "", " UNDONE" if edit.undone else ""])
        value = json.dumps(edit.value, ensure_ascii=False)
        print(f"#{edit.id} {edit.at} {edit.author}: {edit.field} = {value}{flags}")
    if not edits and not args.json:
        print("no human edits")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    from linernotes.edits.store import EditStore

    try:
        record, db = _track(args)
    except LookupError as exc:
        return _fail(str(exc))
    with EditStore(db) as store:
        edit = store.undo(record.file.content_hash, args.field)
    if edit is None:
        return _fail("nothing to undo")
    print(f"undone #{edit.id}: {edit.field} = {json.dumps(edit.value, ensure_ascii=False)}")
    return 0


def _cmd_crops(args: argparse.Namespace) -> int:
    from linernotes.crops import cmd_crops

    return cmd_crops(args)


#: Command name -> function, for ``linernotes.cli.main`` to dispatch.
COMMANDS = {
    "export": cmd_export,
    "edit": cmd_edit,
    "history": cmd_history,
    "undo": cmd_undo,
    "review": cmd_review,
    "crops": _cmd_crops,
}
