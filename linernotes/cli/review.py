"""``linernotes review DIR``: the fields a person should look at, least confident first.

Every analysed track under DIR is read with its final fields (human edits applied, so a field
someone already set or locked is no longer listed); each flagged field is printed with its
value, confidence, provenance, the reasons it was flagged and the alternatives to pick from
(the half/double tempo readings, the runner-up key, what the model said). Model fields that
are empty only because no audio model has listened to a track are summed up in one line. The
rules and thresholds are in :mod:`linernotes.reconcile.review`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linernotes.cli import options
from linernotes.cli.display import printable_lines, render_duplicates
from linernotes.models import FINAL_FIELDS, Alternative
from linernotes.pipeline.duplicates import DuplicateGroup
from linernotes.reconcile.review import ReviewItem

SORTS = ("confidence", "path", "field")
#: Fields only an audio model fills; "no value" on a track it never heard is not news.
MODEL_FIELDS = ("caption", "genres", "moods", "instruments", "lyrics", "vocal_language")


def register(sub: Any) -> None:
    p = options.add_command(sub, cmd_review)
    p.add_argument("dir", help="the dataset folder (analysed with `linernotes analyze`)")
    options.add_json(p, "the list")
    p.add_argument("--field", help="only these fields, comma-separated (e.g. bpm,key)")
    p.add_argument("--sort", choices=SORTS, default="confidence",
                   help="order of the list (default: confidence, lowest first)")  # fmt: skip
    options.add_library(p)


def parse_fields(text: str | None) -> list[str] | None:
    """``"tempo, key"`` -> ``["bpm", "key"]`` (aliases as ``edit`` takes them).

    Raises
    ------
    ValueError
        A name that is not a final field.
    """
    if not text:
        return None
    from linernotes.reconcile.fields import canonical_field

    names = [canonical_field(n) for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FINAL_FIELDS]
    if unknown:
        raise ValueError(f"unknown field {', '.join(unknown)}; fields: {', '.join(FINAL_FIELDS)}")
    return names


@dataclass
class Review:
    """The flagged fields, the tracks looked at, those without a record, and which of the
    flagged fields are model fields left empty because no model listened (``unheard``)."""

    items: list[ReviewItem] = field(default_factory=list)
    n_tracks: int = 0
    missing: list[tuple[Path, str]] = field(default_factory=list)
    unheard: list[ReviewItem] = field(default_factory=list)
    duplicates: list[DuplicateGroup] = field(default_factory=list)


def collect_review(
    root: Path,
    *,
    fields: list[str] | None = None,
    sort: str = "confidence",
    records: Path | None = None,
    db: Path | None = None,
) -> Review:
    """The flagged fields of every analysed track under ``root``, sorted."""
    from linernotes.library import collect
    from linernotes.pipeline.duplicates import find_duplicates
    from linernotes.reconcile.review import review_items

    found = collect(root, records=records, db=db)
    review = Review(n_tracks=len(found.tracks), missing=found.skipped)
    for track in found.tracks:
        items = review_items(track.final, track.rel.as_posix(), fields)
        if track.record.listen is None:
            review.unheard += [
                i for i in items if i.field in MODEL_FIELDS and i.reasons == ["no value"]
            ]
        review.items += items
    review.duplicates = find_duplicates([(t.audio, t.record) for t in found.tracks])
    order = {name: i for i, name in enumerate(FINAL_FIELDS)}
    keys = {
        "confidence": lambda i: (i.confidence, i.path, order.get(i.field, 99)),
        "path": lambda i: (i.path, order.get(i.field, 99)),
        "field": lambda i: (order.get(i.field, 99), i.confidence, i.path),
    }
    review.items.sort(key=keys[sort])
    return review


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


def render(review: Review) -> str:
    """The list as text: one block per flagged field, one line for the model fields no
    model filled, then the counts."""
    lines = []
    unheard = {id(i) for i in review.unheard}
    items = [i for i in review.items if id(i) not in unheard]
    for item in items:
        lines.append(
            f"{item.path}  {item.field} = {_value(item.value)}  "
            f"({item.provenance}, confidence {item.confidence:.2f})"
        )
        lines += [f"    - {reason}" for reason in item.reasons]
        if item.alternatives:
            lines.append("    alternatives: " + "; ".join(map(_alternative, item.alternatives)))
    if review.unheard:
        names = ", ".join(f for f in FINAL_FIELDS if f in {i.field for i in review.unheard})
        n = len({i.path for i in review.unheard})
        lines.append(
            f"{names}: no value on {n} of {review.n_tracks} tracks: no audio model has listened"
            " to them (analyze --listen)"
        )
    tracks = len({i.path for i in items})
    if items:
        lines.append(f"{len(items)} fields to review in {tracks} of {review.n_tracks} tracks")
    else:
        other = " else" if review.unheard else ""
        lines.append(f"nothing{other} to review ({review.n_tracks} tracks)")
    lines += render_duplicates(review.duplicates)
    if review.missing:
        lines.append(f"{len(review.missing)} tracks have no record yet (run analyze):")
        lines += [f"  {path}" for path, _ in review.missing]
    return printable_lines(lines)


def cmd_review(args: argparse.Namespace) -> int:
    """List the fields flagged for review (low confidence, conflicts, tempo octave).

    List every field reconcile flagged for review, with value, confidence, reasons and
    alternatives, least confident first. Fix one with `linernotes edit TRACK FIELD=VALUE`
    (or lock it as right with --lock); it then leaves this list.
    """
    root = options.need_folder(args.dir)
    fields = options.parsed(parse_fields, args.field)
    review = collect_review(
        root,
        fields=fields,
        sort=args.sort,
        records=Path(args.records) if args.records else None,
        db=Path(args.db) if args.db else None,
    )
    if not review.n_tracks:
        return options.nothing_analysed(root)
    if args.json:
        options.print_json([i.model_dump(mode="json") for i in review.items])
    else:
        print(render(review))
    return 1 if review.missing else 0
