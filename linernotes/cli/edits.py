"""``edit``, ``history`` and ``undo``: the human layer of a track.

An edit goes into the track's library (found from the track's path, wherever the command is
run from) and the track's record and record files are refreshed at once, so ``show``,
``export`` and the JSON beside the audio carry the new value without another ``analyze``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from linernotes.cli.options import add_command, add_json, add_library, author, fail, print_json


def register(sub: Any) -> None:
    p = add_command(sub, cmd_edit)
    p.add_argument("track", nargs="?", help="an audio file")
    p.add_argument("assignments", nargs="*", metavar="FIELD=VALUE")
    p.add_argument("--from", dest="from_file", help="a CSV or JSON file of edits")
    p.add_argument("--root", help="find the --from file's tracks by name under this folder")
    p.add_argument("--lock", action="store_true", help="lock the field (verified)")
    p.add_argument("--author", help="who edits (default: $LINERNOTES_AUTHOR or your user name)")
    add_library(p)
    add_json(p, "the fields set")

    p = add_command(sub, cmd_history)
    p.add_argument("track", help="an audio file")
    add_library(p)
    add_json(p, "one JSON object per edit")

    p = add_command(sub, cmd_undo)
    p.add_argument("track", help="an audio file")
    p.add_argument("--field", help="undo the latest edit of this field")
    add_library(p)
    add_json(p, "the edit undone")


def _open(args: argparse.Namespace, path: Path) -> Any:
    from linernotes.library import Library

    return Library.find(path, db=args.db, records=args.records)


def cmd_edit(args: argparse.Namespace) -> int:
    """Set a track's fields by hand (a human edit, kept through automatic runs).

    FIELD=VALUE sets a value (checked and spelled canonically: key=Am -> A minor); a bare
    FIELD with --lock locks the current value as verified. --from imports a CSV (File, BPM,
    Key, Caption, ...) or JSON file of edits. The track's record and record files are
    refreshed at once.
    """
    from linernotes.reconcile.fields import canonical_field, parse_value

    if args.from_file:
        return _import_edits(args)
    if not args.track or not args.assignments:
        return fail("edit needs TRACK and FIELD=VALUE (or --from FILE)")
    track = Path(args.track).expanduser().absolute()
    try:
        library = _open(args, track)
    except LookupError as exc:
        return fail(str(exc))
    with library:
        try:
            record = library.record_of(track)
        except LookupError as exc:
            return fail(str(exc))
        current = library.final_of(record)
        changes: list[tuple[str, Any]] = []
        try:
            for item in args.assignments:
                name, sep, raw = item.partition("=")
                field = canonical_field(name)
                if not sep and not args.lock:
                    return fail(f"{item!r}: use FIELD=VALUE, or a bare FIELD with --lock")
                changes.append((field, parse_value(field, raw if sep else current.value(field))))
        except ValueError as exc:
            return fail(str(exc))
        library.add_edits(record, changes, locked=args.lock, author=author(args), path=track)
        final = library.final_of(library.record_of(track))
    items = {field: final.fields[field] for field, _ in changes}
    if args.json:
        print_json({f: i.model_dump(mode="json") for f, i in items.items()})
        return 0
    for field, item in items.items():
        lock = " (locked)" if item.locked else ""
        print(f"{field} = {json.dumps(item.value, ensure_ascii=False)}{lock}")
    return 0


def _import_edits(args: argparse.Namespace) -> int:
    """``edit --from FILE``: check every row, then store all edits (or none)."""
    source = Path(args.from_file)
    if not source.is_file():
        return fail(f"{source}: file not found")
    root = Path(args.root).absolute() if args.root else source.parent.absolute()
    try:
        with _open(args, root) as library:
            done = library.import_edits(source, root, locked=args.lock, author=author(args))
    except (ValueError, json.JSONDecodeError, LookupError) as exc:
        return fail(str(exc))
    if done.problems:
        for problem in done.problems:
            fail(problem)
        return fail(f"{source}: nothing imported ({len(done.problems)} problems)")
    print(f"{done.edits} edits of {len(done.tracks)} tracks imported from {source}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """List a track's human edits, oldest first."""
    track = Path(args.track).expanduser().absolute()
    try:
        with _open(args, track) as library:
            edits = library.db.edit_history(library.record_of(track).file.content_hash)
    except LookupError as exc:
        return fail(str(exc))
    if args.json:
        for edit in edits:
            print(edit.model_dump_json())
        return 0
    for edit in edits:
        flags = "".join([" locked" if edit.locked else "", " UNDONE" if edit.undone else ""])
        value = json.dumps(edit.value, ensure_ascii=False)
        print(f"#{edit.id} {edit.at} {edit.author}: {edit.field} = {value}{flags}")
    if not edits:
        print("no human edits")
    return 0


def cmd_undo(args: argparse.Namespace) -> int:
    """Undo a track's latest human edit (of --field if given)."""
    track = Path(args.track).expanduser().absolute()
    try:
        with _open(args, track) as library:
            edit = library.undo(library.record_of(track), args.field)
    except LookupError as exc:
        return fail(str(exc))
    if edit is None:
        return fail("nothing to undo")
    if args.json:
        print_json(edit.model_dump(mode="json"))
        return 0
    print(f"undone #{edit.id}: {edit.field} = {json.dumps(edit.value, ensure_ascii=False)}")
    return 0
