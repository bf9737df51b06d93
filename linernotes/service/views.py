"""A track's state as the API shows it: a table row, or the full view of one track."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from linernotes.service.library_access import CORE_FIELDS, EDITABLE_FIELDS, TrackState
from linernotes.service.schemas import (
    AlternativeOut,
    ConflictOut,
    FieldOut,
    QualityOut,
    TrackDetail,
    TrackRow,
)


def field_out(state: TrackState, name: str) -> FieldOut:
    """Field ``name`` of the track, with its flags and version."""
    item = state.final.fields.get(name)
    version = state.versions.get(name, 0)
    if item is None:
        return FieldOut(name=name, version=version)
    return FieldOut(
        name=name,
        value=item.value,
        confidence=item.confidence,
        provenance=item.provenance,
        origin=item.origin,
        locked=item.locked,
        review=item.review,
        flags=state.flags(name),  # type: ignore[arg-type]
        reasons=list(item.review_reasons),
        alternatives=[AlternativeOut(**a.model_dump()) for a in item.alternatives],
        note=item.note,
        version=version,
    )


def track_confidence(state: TrackState) -> float | None:
    """The lowest confidence of the measured core (bpm, key, meter) that has a value."""
    values = [
        state.final.fields[n].confidence
        for n in CORE_FIELDS
        if n in state.final.fields and state.final.fields[n].value is not None
    ]
    return round(min(values), 4) if values else None


def track_row(state: TrackState) -> TrackRow:
    """The table line of an analysed track."""
    final = state.final
    fields = final.fields
    flags: list[Any] = []
    for name in final.review:
        flags += [k for k in state.flags(name) if k not in flags]
    score, _, _ = state.quality()
    return TrackRow(
        id=state.ref.id,
        title=final.value("title"),
        artist=final.value("artist"),
        bpm=final.value("bpm"),
        key=final.value("key"),
        time_signature=final.value("time_signature"),
        duration=final.value("duration"),
        confidence=track_confidence(state),
        quality=score,
        flagged=list(final.review),
        flags=flags,
        locked=[n for n, f in fields.items() if f.locked],
        human=[n for n, f in fields.items() if f.provenance == "human"],
    )


def track_detail(state: TrackState) -> TrackDetail:
    """Everything the track view shows."""
    record, final = state.record, state.final
    order = [n for n in _FIELD_ORDER if n in final.fields]
    order += [n for n in final.fields if n not in order]
    score, objective, problems = state.quality()
    entries = record.listen.entries if record.listen is not None else {}
    listen = {name: entry.raw_text for name, entry in entries.items()}
    url = "/api/tracks/" + quote(state.ref.id)
    return TrackDetail(
        id=state.ref.id,
        content_hash=record.file.content_hash,
        version=state.version,
        format=record.file.format,
        codec=record.file.codec,
        sample_rate=record.file.sample_rate,
        channels=record.file.channels,
        duration=record.summary.duration or record.file.duration,
        tags=dict(record.file.tags),
        beats=list(record.summary.beats),
        downbeats=list(record.summary.downbeats),
        measured_bpm=record.summary.bpm,
        fields={n: field_out(state, n) for n in order},
        field_order=order,
        conflicts=[ConflictOut(**c.model_dump()) for c in final.conflicts],
        review=list(final.review),
        tempo_decision=final.tempo_decision.model_dump() if final.tempo_decision else None,
        quality=QualityOut(score=score, objective=objective, problems=problems),
        listen=listen,
        audio_url=url + "/audio",
        peaks_url=url + "/peaks",
    )


#: The editor shows these first (what is checked by ear), then the other final fields.
_FIRST_FIELDS = ("bpm", "key", "time_signature", "duration", "title", "artist")
_FIELD_ORDER = _FIRST_FIELDS + tuple(f for f in EDITABLE_FIELDS if f not in _FIRST_FIELDS)
