"""A crop is a view of its track: what the track knows, over the crop's span.

A 30 s crop is too short to re-decide what a whole track settles (a tempo octave, a meter, a
key), and re-measuring it gives answers that disagree with the track (120 BPM in 4/4 read as
80 BPM in 6/8). So a crop takes from its source track:

- its beats and downbeats over the crop's span, shifted to the crop's start;
- its tempo: the track's final tempo, following the track's own beat grid where the tempo
  over this span differs from the track's overall (a tempo curve), unless a person set it;
- its key and meter, and every described field (caption, tags, vocals, title, artist,
  album, year, comment), with human edits and locks as the track has them.

The crop's own measurement is kept in its record's analyses; where it disagrees with the track
with confidence of at least :data:`CONFIDENT`, the disagreement is recorded as a conflict and
the field flagged for review. The crop's own human edits still go on last and win.

A crop is known by the :class:`CropInfo` beside it (``<crop>.crop.json``: its source's bytes,
span and library), so every save of a crop, after an edit or undo too, makes it a view of
its track again (:func:`crop_final`).
"""

from __future__ import annotations

import statistics
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from linernotes.library.db import LibraryDB
from linernotes.models import Conflict, Edit, FinalFields, FinalValue, TrackRecord
from linernotes.models.provenance import Provenance
from linernotes.reconcile.core import apply_edits, final_is_current, reconcile
from linernotes.reconcile.normalize import canonical_key, canonical_time_signature

Align = Literal["downbeat", "beat", "none"]
#: What is beside each crop: ``<crop>.crop.json`` (:class:`CropInfo`).
CROP_SUFFIX = ".crop.json"
#: Described fields a crop inherits from its source track.
CARRIED = ("caption", "genres", "moods", "instruments", "is_instrumental", "vocal_language",
           "title", "artist", "album", "year", "comment")  # fmt: skip
#: Measured fields a crop takes from its source track rather than from its own analysis.
VIEWED = ("bpm", "key", "time_signature")
#: A crop's own reading that disagrees with the track at or above this confidence is a conflict.
CONFIDENT = 0.7
#: Relative difference within which two tempi agree.
TEMPO_TOLERANCE = 0.04


class CropInfo(BaseModel):
    """Where a crop came from (``<crop>.crop.json`` beside it)."""

    source: str
    source_hash: str
    index: int
    start: float
    end: float
    align: Align
    rms_dbfs: float
    source_db: str | None = None
    """The database of the library holding the source track, so that a later edit or undo
    of the crop (:meth:`Library.save`) makes it a view of its track again; not part of what
    the crop is (:meth:`same_cut`), and not in the manifest."""

    def same_cut(self, other: CropInfo) -> bool:
        """Whether ``other`` is the same piece cut the same way (where the source's library
        lies does not matter)."""
        return self.model_dump(exclude={"source_db"}) == other.model_dump(exclude={"source_db"})


def span_grid(times: list[float], start: float, end: float) -> list[float]:
    """The grid ``times`` inside ``[start, end)``, shifted so ``start`` is 0.

    >>> span_grid([0.5, 1.0, 1.5, 2.0], 1.0, 2.0)
    [0.0, 0.5]
    """
    return [round(t - start, 4) for t in times if start - 1e-6 <= t < end - 1e-6]


def _median_bpm(beats: list[float]) -> float | None:
    gaps = [b - a for a, b in pairwise(beats) if b > a]
    return 60.0 / statistics.median(gaps) if len(gaps) >= 2 else None


def span_bpm(source_bpm: float, beats: list[float], start: float, end: float) -> float:
    """The track's tempo over ``[start, end)``: ``source_bpm`` scaled by how the beat grid's
    tempo there differs from its overall tempo (the track's octave decision is kept)."""
    overall = _median_bpm(beats)
    local = _median_bpm([b for b in beats if start - 1e-6 <= b < end + 1e-6])
    if overall is None or local is None or abs(local / overall - 1) <= TEMPO_TOLERANCE:
        return source_bpm
    return round(source_bpm * local / overall, 2)


def _disagrees(name: str, own: object, source: object) -> bool:
    if name == "bpm":
        return abs(float(own) / float(source) - 1) > TEMPO_TOLERANCE  # type: ignore[arg-type]
    if name == "key":
        return canonical_key(str(own)) != canonical_key(str(source))
    return canonical_time_signature(str(own)) != canonical_time_signature(str(source))


def view_grid(crop: TrackRecord, source: TrackRecord, start: float, end: float) -> None:
    """Put the source's beats and downbeats over ``[start, end)`` into ``crop``'s summary
    (the crop's own grid stays in its rhythm analysis)."""
    summary = source.summary
    for name in ("beats", "downbeats"):
        crop.summary.set(name, span_grid(getattr(summary, name), start, end),
                         source=Provenance.MEASURED,
                         confidence=summary.confidence.get(name))  # fmt: skip


def carry(
    source: FinalFields,
    crop: FinalFields,
    *,
    record: TrackRecord | None = None,
    edits: dict | None = None,
    span: tuple[float, float] | None = None,
    source_record: TrackRecord | None = None,
) -> FinalFields:
    """``crop`` (the crop's own reconciled fields) as a view of ``source`` (see the module
    docstring); ``span`` (start, end in the source, seconds) with ``source_record`` lets the
    tempo follow the track's beat grid. Lyrics are not carried (a crop holds only part of
    them): ``[Instrumental]`` for an instrumental source, else none. The crop's own human
    ``edits`` go on last; review flags are then set (octave checks are the track's, not
    repeated on a crop)."""
    out = crop.model_copy(deep=True)
    own = {name: out.fields.get(name) for name in VIEWED}
    for name in CARRIED + VIEWED:
        item = source.fields.get(name)
        if item is not None:
            out.fields[name] = item.model_copy(deep=True, update={
                "note": f"carried from the source track ({item.provenance})"})  # fmt: skip
    bpm = out.fields.get("bpm")
    if (span is not None and source_record is not None and bpm is not None
            and bpm.value is not None and bpm.provenance != "human"):  # fmt: skip
        local = span_bpm(float(bpm.value), source_record.summary.beats, *span)
        if local != bpm.value:
            note = "the source track's tempo over this crop's span"
            out.fields["bpm"] = bpm.model_copy(update={"value": local, "note": note})
    out.conflicts = [c for c in out.conflicts if c.field not in CARRIED + VIEWED]
    for name in VIEWED:
        mine, theirs = own[name], out.fields.get(name)
        if mine is None or theirs is None or mine.value is None or theirs.value is None:
            continue
        if mine.confidence < CONFIDENT or not _disagrees(name, mine.value, theirs.value):
            continue
        out.conflicts.append(Conflict(
            field=name, chosen=theirs.value, chosen_source=theirs.provenance, other=mine.value,
            other_source="measured", other_origin="the crop's own analysis",
            reason="a crop is a view of its track: the track's value stands"))  # fmt: skip
    instrumental = source.value("is_instrumental") is True
    lyrics = source.fields.get("lyrics")
    out.fields["lyrics"] = FinalValue(
        value="[Instrumental]" if instrumental else None,
        confidence=lyrics.confidence if instrumental and lyrics else 0.0,
        provenance=lyrics.provenance if instrumental and lyrics else "default",
        note="lyrics of the whole track are not carried to a crop",
    )
    return apply_edits(out, None, edits)


def view_of(
    record: TrackRecord,
    info: CropInfo,
    source: TrackRecord,
    source_final: FinalFields,
    edits: dict[str, Edit],
) -> FinalFields:
    """The crop ``record`` (cut as ``info``) as a view of its ``source`` track: the source's
    grid over the span put into its summary, and its final fields (:func:`carry`) with the
    crop's own human ``edits`` on top."""
    view_grid(record, source, info.start, info.end)
    return carry(source_final, reconcile(record), record=record, edits=edits,
                 span=(info.start, info.end), source_record=source)  # fmt: skip


def crop_final(db: LibraryDB, audio: Path, record: TrackRecord) -> FinalFields | None:
    """``audio``'s final fields as a view of its source track when it is a crop (a
    ``.crop.json`` beside it) whose source record is found (in the library database named
    there, else in ``db``, the crop's), with the crop's active edits on top; ``None`` when
    it is no crop or its source is gone (then it is reconciled as a track of its own).

    :meth:`~linernotes.library.core.Library.save` calls this, so a crop edited, undone or
    analysed again after ``crops`` keeps what it inherits, and its own edits still win."""
    try:
        info = CropInfo.model_validate_json(audio.with_name(audio.stem + CROP_SUFFIX).read_text())
    except (OSError, ValueError):
        return None
    if info.source_hash == record.file.content_hash:  # not a crop of these bytes
        return None
    source_db = Path(info.source_db) if info.source_db else None
    if source_db is not None and source_db.is_file() and source_db.resolve() != db.path.resolve():
        source_library = LibraryDB(source_db)
        try:
            source = _source(source_library, info.source_hash)
        finally:
            source_library.close()
    else:
        source = _source(db, info.source_hash)
    if source is None:
        return None
    return view_of(record, info, *source, db.active_edits(record.file.content_hash))


def _source(db: LibraryDB, content_hash: str) -> tuple[TrackRecord, FinalFields] | None:
    """The stored record of the track with these bytes and its final fields (the stored ones
    while current, as :meth:`Library.final_of` takes them; else reconciled with its edits)."""
    stored = db.record_by_hash(content_hash)
    if stored is None:
        return None
    record = TrackRecord.from_json(stored)
    edits = db.active_edits(content_hash)
    if record.final is not None and final_is_current(record.final, edits):
        return record, record.final
    return record, reconcile(record, edits)
