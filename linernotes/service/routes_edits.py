"""Changing the library: a field by hand, lock, undo, accept or reject a flagged value,
bulk changes on a selection, and importing an edits file. Every change is a human edit in
the layer ``linernotes edit`` uses; one made on an old version of the field gets ``409``
with the current value."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from linernotes.service.library_access import TrackState
from linernotes.service.schemas import (
    BulkIn,
    BulkResult,
    EditIn,
    FieldConflict,
    ImportResult,
    LockIn,
    Message,
    ReviewIn,
    TrackDetail,
    UndoIn,
)
from linernotes.service.state import Service, service_of
from linernotes.service.views import track_detail

router = APIRouter(prefix="/api", tags=["edits"])
Svc = Annotated[Service, Depends(service_of)]
FIELD_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": Message},
    409: {"model": FieldConflict, "description": "Changed meanwhile: the current value."},
}
FIELD = "/tracks/{track_id:path}/fields/{field}"
#: The parser an upload gets, by its declared content type (the body is then checked by
#: parsing it: a file that does not parse is refused with the reason, nothing stored).
IMPORT_TYPES = {
    ".csv": ("text/csv", "text/plain", "application/csv"),
    ".json": ("application/json", "text/json"),
}


def _done(svc: Service, state: TrackState) -> TrackDetail:
    svc.index.touch(state.ref.id)
    return track_detail(state)


@router.put(FIELD, response_model=TrackDetail, responses=FIELD_RESPONSES)
def edit_field(track_id: str, field: str, body: EditIn, svc: Svc) -> TrackDetail:
    """Set the field by hand (checked and spelled canonically: ``Am`` -> ``A minor``)."""
    return _done(svc, svc.access.set_field(svc.ref(track_id), field, **body.model_dump()))


@router.post(FIELD + "/lock", response_model=TrackDetail, responses=FIELD_RESPONSES)
def lock_field(track_id: str, field: str, body: LockIn, svc: Svc) -> TrackDetail:
    """Lock the field's current value as verified (or unlock it)."""
    return _done(svc, svc.access.set_lock(svc.ref(track_id), field, **body.model_dump()))


@router.post(FIELD + "/undo", response_model=TrackDetail, responses=FIELD_RESPONSES)
def undo_field(track_id: str, field: str, body: UndoIn, svc: Svc) -> TrackDetail:
    """Undo the field's latest edit (``409`` when there is none)."""
    return _done(svc, svc.access.undo(svc.ref(track_id), field, **body.model_dump()))


@router.post(FIELD + "/accept", response_model=TrackDetail, responses=FIELD_RESPONSES)
def accept_field(track_id: str, field: str, body: ReviewIn, svc: Svc) -> TrackDetail:
    """Accept the flagged value, or the alternative given as ``value``."""
    return _done(svc, svc.access.accept(svc.ref(track_id), field, **body.model_dump()))


@router.post(FIELD + "/reject", response_model=TrackDetail, responses=FIELD_RESPONSES)
def reject_field(track_id: str, field: str, body: ReviewIn, svc: Svc) -> TrackDetail:
    """Reject the value: the field is cleared by a human edit (undo brings it back)."""
    who = body.model_dump(exclude={"value"})
    return _done(svc, svc.access.reject(svc.ref(track_id), field, **who))


@router.post("/bulk", response_model=BulkResult, responses={404: {"model": Message}})
def bulk(body: BulkIn, svc: Svc) -> BulkResult:
    """One change on every selected track: BPM x2 or x1/2, set a field (genre, language...),
    lock a field, or accept every flagged value."""
    refs = [svc.ref(i) for i in dict.fromkeys(body.ids)]
    changed, unchanged, errors = svc.access.bulk(
        refs, body.op, author=body.author, name=body.field, value=body.value
    )
    for track_id in changed:
        svc.index.touch(track_id)
    return BulkResult(changed=changed, unchanged=unchanged, errors=errors)


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"type": "object", "additionalProperties": {"type": "object"}},
                        {"type": "array", "items": {"type": "object"}},
                    ]
                }
            },
        },
    }
}


@router.post(
    "/edits/import",
    openapi_extra=IMPORT_BODY,
    response_model=ImportResult,
    responses={413: {"model": Message}, 415: {"model": Message}},
)
async def import_edits(
    request: Request,
    svc: Svc,
    name: Annotated[
        str, Query(max_length=200, pattern=r"^[^/\\]+\.(csv|json)$", description="File name.")
    ],
    author: Annotated[str, Query(min_length=1, max_length=80)] = "web",
) -> ImportResult:
    """Upload an edits file (the body: CSV ``File, BPM, Key, ...`` or JSON, as
    ``linernotes edit --from`` reads), capped in size; all edits are stored or none."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = next((s for s, types in IMPORT_TYPES.items() if media_type in types), None)
    if suffix is None or PurePath(name).suffix.lower() not in IMPORT_TYPES:
        raise HTTPException(
            415,
            f"{name!r} ({media_type or 'no type'}): upload a .csv (text/csv) or .json"
            " (application/json) file",
        )
    cap = svc.settings.max_upload_bytes
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > cap:
            raise HTTPException(413, f"{name!r}: over the {cap} byte upload limit")
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(415, f"{name!r}: not UTF-8 text") from None
    imported, tracks, problems = svc.access.import_edits(bytes(data), suffix, author=author)
    svc.index.rescan()
    return ImportResult(imported=imported, tracks=tracks, problems=problems)
