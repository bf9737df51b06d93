"""``linernotes review DIR``: the fields a person should look at, least confident first.

Every analysed track under DIR is reconciled as ``export`` does (human edits applied, so a
field someone already set or locked is no longer listed); each flagged field is printed with
its value, confidence, provenance, the reasons it was flagged and the alternatives to pick
from (the half/double tempo readings, the runner-up key, what the model said). The rules and
thresholds are in :mod:`linernotes.reconcile.review`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from linernotes.models.final import FINAL_FIELDS, Alternative
from linernotes.reconcile.review import ReviewItem

SORTS = ("confidence", "path", "field")


def build_review_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "review",
        help="list the fields flagged for review (low confidence, conflicts, tempo octave)",
        description="List every field reconcile flagged for review, with value, confidence,"
        " reasons and alternatives, least confident first. Fix one with `linernotes edit"
        " TRACK FIELD=VALUE` (or lock it as right with --lock); it then leaves this list.",
    )
    p.add_argument("dir", help="the dataset folder (analysed with `linernotes analyze`)")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--field", help="only these fields, comma-separated (e.g. bpm,key)")
    p.add_argument("--sort", choices=SORTS, default="confidence",
                   help="order of the list (default: confidence, lowest first)")  # fmt: skip
    p.add_argument("--records", help="the --out folder the tracks were analysed into")
    p.add_argument("--db", help="library database (default: found from DIR)")
    return p


def parse_fields(text: str | None) -> list[str] | None:
    """``"tempo, key"`` -> ``["bpm", "key"]`` (aliases as ``edit`` takes them).

    Raises
    ------
    ValueError
        A name that is not a final field.
    """
    if not text:
        return None
    from linernotes.edits.model import canonical_field

    names = [canonical_field(n) for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FINAL_FIELDS]
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)}; fields: {', '.join(FINAL_FIELDS)}")
    return names


def collect_review(
    root: Path,
    *,
    fields: list[str] | None = None,
    sort: str = "confidence",
    records: Path | None = None,
    db: Path | None = None,
) -> tuple[list[ReviewItem], int]:
    """The flagged fields of every analysed track under ``root``, sorted, and the number of
    tracks looked at."""
    from linernotes.export.registry import collect_tracks
    from linernotes.reconcile.review import review_items

    tracks, _ = collect_tracks(root, records=records, db=db)
    items = [
        item for track in tracks for item in review_items(track.final, track.rel.as_posix(), fields)
    ]
    order = {name: i for i, name in enumerate(FINAL_FIELDS)}
    keys = {
        "confidence": lambda i: (i.confidence, i.path, order.get(i.field, 99)),
        "path": lambda i: (i.path, order.get(i.field, 99)),
        "field": lambda i: (order.get(i.field, 99), i.confidence, i.path),
    }
    return sorted(items, key=keys[sort]), len(tracks)


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "[]"
    if value is None:
        return "(none)"
    text = str(value).replace("\n", " / ")
    return text if len(text) <= 60 else text[:57] + "..."


def _alternative(alt: Alternative) -> str:
    where = " ".join(x for x in (alt.source, alt.origin) if x)
    score = f" {alt.score:.2f}" if alt.score is not None else ""
    return f"{_value(alt.value)} [{where}{score}]"


def render(items: list[ReviewItem], n_tracks: int) -> str:
    """The list as text: one block per flagged field."""
    lines = []
    for item in items:
        lines.append(
            f"{item.path}  {item.field} = {_value(item.value)}  "
            f"({item.provenance}, confidence {item.confidence:.2f})"
        )
        lines += [f"    - {reason}" for reason in item.reasons]
        if item.alternatives:
            lines.append("    alternatives: " + "; ".join(map(_alternative, item.alternatives)))
    tracks = len({i.path for i in items})
    if items:
        lines.append(f"{len(items)} fields to review in {tracks} of {n_tracks} tracks")
    else:
        lines.append(f"nothing to review ({n_tracks} tracks)")
    return "\n".join(lines)


def cmd_review(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        print(f"linernotes: {root}: not a folder", file=sys.stderr)
        return 1
    try:
        fields = parse_fields(args.field)
    except ValueError as exc:
        print(f"linernotes: {exc}", file=sys.stderr)
        return 1
    items, n_tracks = collect_review(
        root,
        fields=fields,
        sort=args.sort,
        records=Path(args.records) if args.records else None,
        db=Path(args.db) if args.db else None,
    )
    if args.json:
        print(json.dumps([i.model_dump(mode="json") for i in items], indent=2, ensure_ascii=False))
    else:
        print(render(items, n_tracks))
    return 0
