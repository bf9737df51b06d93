"""One call for automatic runs: a record's final fields with the library's human edits on top,
so a run can refresh ``record.final`` without ever overwriting a human value."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from linernotes.edits.store import EditStore
from linernotes.models.final import FinalFields
from linernotes.reconcile.core import ReconcileOptions, reconcile

if TYPE_CHECKING:
    from linernotes.models import TrackRecord


def reconcile_with_edits(
    record: TrackRecord, db_path: str | Path, options: ReconcileOptions | None = None
) -> FinalFields:
    """:func:`~linernotes.reconcile.reconcile` with the active edits stored in ``db_path``
    (none when the database does not exist yet; it is not created)."""
    db = Path(db_path)
    if not db.is_file():
        return reconcile(record, {}, options)
    with EditStore(db) as store:
        edits = store.active(record.file.content_hash)
    return reconcile(record, edits, options)
