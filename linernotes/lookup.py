"""Finding the record of a track: its sidecar file first, then the library store by content."""

from __future__ import annotations

from pathlib import Path

from linernotes.models import TrackRecord
from linernotes.outputs import RECORD_SUFFIX, OutputLayout
from linernotes.pipeline import content_hash
from linernotes.store import Store, default_store_path


def find_record(
    path: Path, *, out_dir: str | Path | None = None, db_path: str | Path | None = None
) -> TrackRecord:
    """The record of ``path`` (an audio file or a record file).

    Raises
    ------
    LookupError
        No record exists yet, with a hint on how to make one.
    """
    path = path.expanduser().absolute()
    if path.name.endswith(RECORD_SUFFIX) and path.is_file():
        return TrackRecord.load(path)
    if not path.exists():
        raise LookupError(f"{path}: file not found")
    out = Path(out_dir).absolute() if out_dir else None
    layout = OutputLayout([path], root=path.parent, out_dir=out)
    sidecar = layout.paths(path)["record"]
    if sidecar.is_file():
        return TrackRecord.load(sidecar)
    candidates = [Path(db_path)] if db_path else []
    candidates += [default_store_path(out or path.parent), default_store_path(path.parent.parent)]
    digest = None
    for db in candidates:
        if not db.is_file():
            continue
        with Store(db) as store:
            stored = store.find_record_by_path(path)
            if stored is None:
                digest = digest or content_hash(path)
                stored = store.get_record(digest)
            if stored is not None:
                return TrackRecord.from_json(stored)
    raise LookupError(f"{path}: no record yet; run `linernotes analyze {path}` first")
