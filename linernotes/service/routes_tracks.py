"""Reading the library: the track table, one track, its audio (HTTP Range), waveform peaks,
edit history and its neighbours in the table."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from linernotes.service import media
from linernotes.service.index import TrackQuery
from linernotes.service.schemas import (
    FlagKind,
    HistoryEntry,
    Message,
    Neighbours,
    SortKey,
    TrackDetail,
    TrackPage,
)
from linernotes.service.security import safe_path
from linernotes.service.state import Service, service_of
from linernotes.service.views import track_detail

router = APIRouter(prefix="/api/tracks", tags=["tracks"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Message}}
Svc = Annotated[Service, Depends(service_of)]


def track_query(
    review: Annotated[
        bool | None, Query(description="Only tracks needing review (or not).")
    ] = None,
    flag: Annotated[FlagKind | None, Query(description="Only tracks with this flag.")] = None,
    field: Annotated[
        str | None, Query(max_length=40, description="Only with this field flagged.")
    ] = None,
    quality_min: Annotated[float | None, Query(ge=0, le=1)] = None,
    quality_max: Annotated[float | None, Query(ge=0, le=1)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in path, title, artist.")
    ] = None,
    sort: SortKey = "confidence",
    desc: bool = False,
) -> TrackQuery:
    """The table's filter and order from the query string."""
    return TrackQuery(
        review=review,
        flag=flag,
        field=field,
        quality_min=quality_min,
        quality_max=quality_max,
        text=q,
        sort=sort,
        desc=desc,
    )


Query_ = Annotated[TrackQuery, Depends(track_query)]


@router.get("", response_model=TrackPage)
def list_tracks(
    svc: Svc,
    query: Query_,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TrackPage:
    """A page of the track table, filtered and sorted (least confident first by default)."""
    rows = svc.index.select(query)
    return TrackPage(
        total=len(rows),
        library_total=len(svc.index),
        offset=offset,
        limit=limit,
        items=rows[offset : offset + limit],
        indexing=svc.index.indexing,
    )


@router.get(
    "/{track_id:path}/audio", responses={**NOT_FOUND, 206: {}, 416: {}}, response_class=FileResponse
)
async def audio(track_id: str, svc: Svc, request: Request) -> Response:
    """The track's audio, with HTTP Range (seeking); formats a browser cannot play come as
    a cached FLAC transcode."""
    ref = svc.ref(track_id)
    path = safe_path(ref.audio, svc.settings.root)
    record = await run_in_threadpool(svc.access.record, ref)
    digest, codec = record.file.content_hash, record.file.codec
    playable, media_type = await run_in_threadpool(
        media.playable, path, codec, digest, svc.settings.cache_dir
    )
    return FileResponse(playable, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/{track_id:path}/peaks", responses=NOT_FOUND)
async def peaks(track_id: str, svc: Svc) -> dict[str, Any]:
    """Waveform peaks: ``peaks[i]`` is the loudest sample of the i-th of ``buckets`` equal
    slices of the track, in [0, 1]."""
    ref = svc.ref(track_id)
    path = safe_path(ref.audio, svc.settings.root)
    record = await run_in_threadpool(svc.access.record, ref)
    digest = record.file.content_hash
    return await run_in_threadpool(media.peaks, path, digest, svc.settings.cache_dir)


@router.get("/{track_id:path}/history", response_model=list[HistoryEntry], responses=NOT_FOUND)
def history(track_id: str, svc: Svc) -> list[HistoryEntry]:
    """Every human edit of the track, undone ones included, oldest first."""
    return [HistoryEntry(**e) for e in svc.access.history(svc.ref(track_id))]


@router.get("/{track_id:path}/neighbours", response_model=Neighbours, responses=NOT_FOUND)
def neighbours(track_id: str, svc: Svc, query: Query_) -> Neighbours:
    """The tracks before and after this one in the table as filtered and sorted."""
    svc.ref(track_id)
    ids = [r.id for r in svc.index.select(query)]
    if track_id not in ids:
        return Neighbours(total=len(ids), next_id=ids[0] if ids else None)
    i = ids.index(track_id)
    return Neighbours(
        prev_id=ids[i - 1] if i > 0 else None,
        next_id=ids[i + 1] if i + 1 < len(ids) else None,
        position=i,
        total=len(ids),
    )


@router.get("/{track_id:path}", response_model=TrackDetail, responses=NOT_FOUND)
def track(track_id: str, svc: Svc, response: Response) -> TrackDetail:
    """One track: final fields with provenance, confidence, flags, alternatives and
    versions; conflicts; beats and downbeats; quality. The ETag is the track's version."""
    detail = track_detail(svc.access.load(svc.ref(track_id)))
    response.headers["ETag"] = f'W/"{detail.version}"'
    return detail
