"""Jobs (analyze, listen, export, crops) with progress as server-sent events and cancel;
export download; ``/health`` and the editor's vocabulary."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from linernotes.service.jobs import Job
from linernotes.service.schemas import Health, JobIn, JobOut, Message, Vocabulary
from linernotes.service.security import has_token, safe_path
from linernotes.service.state import Service, service_of
from linernotes.version import __version__

router = APIRouter(tags=["jobs"])
Svc = Annotated[Service, Depends(service_of)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Message}}
#: Audio left out of an export download unless asked for (the archive is for annotations).
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".aiff"})


def _job(svc: Service, job_id: str) -> Job:
    job = svc.jobs.jobs.get(job_id)
    if job is None:
        raise LookupError(f"no job {job_id!r}")
    return job


@router.post(
    "/api/jobs", response_model=JobOut, status_code=202, responses={409: {"model": Message}}
)
def start_job(body: JobIn, svc: Svc) -> JobOut:
    """Start a job over the library (``409`` while another runs)."""
    for track_id in body.ids:
        svc.ref(track_id)
    return svc.jobs.start(body.kind, body.model_dump(exclude={"kind"})).view()


@router.get("/api/jobs", response_model=list[JobOut])
def list_jobs(svc: Svc) -> list[JobOut]:
    """Every job of this session, newest first."""
    return [j.view() for j in sorted(svc.jobs.jobs.values(), key=lambda j: -j.started_at)]


@router.get("/api/jobs/{job_id}", response_model=JobOut, responses=NOT_FOUND)
def get_job(job_id: str, svc: Svc) -> JobOut:
    """A job's state and latest progress."""
    return _job(svc, job_id).view()


@router.get(
    "/api/jobs/{job_id}/events",
    responses={
        **NOT_FOUND,
        200: {"content": {"text/event-stream": {}}, "description": "progress events"},
    },
)
def job_events(job_id: str, svc: Svc) -> StreamingResponse:
    """Progress as server-sent events (``progress``, then ``state``, then ``end``)."""
    job = _job(svc, job_id)
    return StreamingResponse(
        svc.jobs.stream(job), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.post("/api/jobs/{job_id}/cancel", response_model=JobOut, responses=NOT_FOUND)
def cancel_job(job_id: str, svc: Svc) -> JobOut:
    """Stop the job (as Ctrl-C stops the CLI: nothing half-written)."""
    job = _job(svc, job_id)
    svc.jobs.cancel(job)
    return job.view()


@router.get(
    "/api/jobs/{job_id}/download",
    response_class=FileResponse,
    responses={**NOT_FOUND, 200: {"content": {"application/zip": {}}}},
)
async def download(
    job_id: str, svc: Svc, audio: Annotated[bool, Query(description="Include audio.")] = False
) -> FileResponse:
    """A finished export as a zip archive (annotations; audio only with ``audio=true``)."""
    job = _job(svc, job_id)
    if job.kind != "export" or job.state != "done" or job.out is None:
        raise LookupError(f"job {job_id!r} is not a finished export")
    archive = job.out.with_name(f"{job.id}{'-audio' if audio else ''}.zip")
    if not archive.is_file():
        await run_in_threadpool(_zip, job.out, archive, svc.settings.root, audio)
    return FileResponse(
        archive, media_type="application/zip", filename=f"linernotes-export-{job.id}.zip"
    )


def _zip(folder: Path, archive: Path, root: Path, audio: bool) -> None:
    """Zip ``folder``: links followed only to files inside the library, audio if asked."""
    tmp = archive.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_dir() or (path.suffix.lower() in AUDIO_SUFFIXES and not audio):
                continue
            try:
                real = safe_path(path, root)
            except PermissionError:
                continue
            zf.write(real, path.relative_to(folder).as_posix())
    tmp.replace(archive)


@router.get("/health", response_model=Health)
def health(svc: Svc, request: Request) -> Health:
    """Up, and which library (the root is shown only to a caller with the token)."""
    settings = svc.settings
    trusted = not settings.token or has_token(request, settings.token)
    return Health(
        version=__version__,
        root=str(settings.root) if trusted else "",
        tracks=len(svc.index) if trusted else 0,
        indexing=svc.index.indexing,
        token_required=settings.token_required,
        chat=svc.chats.factory.mode if svc.chats is not None and trusted else "",
    )


@router.get("/api/vocabulary", response_model=Vocabulary)
def vocabulary(svc: Svc) -> Vocabulary:
    """Canonical values for the editor's dropdowns: 24 keys, time signatures, languages."""
    return Vocabulary(**svc.access.vocabulary())
