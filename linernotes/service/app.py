"""The review service: a FastAPI application over one library, plus the web UI.

:func:`create_app` wires the parts: :class:`~linernotes.service.state.Service` (settings,
the library adapter, the track index, the job manager and the chat's conversations), the
routers of :mod:`~linernotes.service.routes_tracks`, :mod:`~linernotes.service.routes_edits`,
:mod:`~linernotes.service.routes_jobs` and :mod:`~linernotes.service.routes_chat`, the guard
of :mod:`~linernotes.service.security`, and the UI's static files (served from the installed
package: no CDN, works offline). The OpenAPI schema is at ``/openapi.json`` and browsable
at ``/docs``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from linernotes.service import routes_chat, routes_edits, routes_jobs, routes_tracks
from linernotes.service.chat_rooms import ChatBusy, ChatFactory, ChatRooms
from linernotes.service.index import TrackIndex
from linernotes.service.jobs import Job, JobBusy, JobManager
from linernotes.service.library_access import LibraryAccess, VersionConflict
from linernotes.service.schemas import FieldConflict
from linernotes.service.security import ServeSettings, guard
from linernotes.service.state import Service
from linernotes.service.views import field_out
from linernotes.version import __version__

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: ServeSettings, *, build_index: bool = True, chat: ChatFactory | None = None
) -> FastAPI:
    """The application for ``settings``; ``build_index`` indexes the library in the
    background while the server runs (pages are served meanwhile); ``chat`` starts a
    conversation about a track (:class:`linernotes.chat.web.TrackChats`; without it
    ``/api/chat`` answers ``404`` and the UI hides its chat panel)."""
    access = LibraryAccess(settings.root, records=settings.records, db=settings.db)
    index = TrackIndex(access, rescan_s=settings.rescan_s)
    chats = ChatRooms(chat) if chat is not None else None

    def finished(job: Job) -> None:
        index.rescan()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if build_index:  # the first build runs while pages are served, then keeps watching
            threading.Thread(target=index.watch, args=(stop,), daemon=True).start()
        yield
        stop.set()
        if chats is not None:
            chats.close()

    app = FastAPI(
        lifespan=lifespan,
        title="linernotes review",
        version=__version__,
        description="Listen, see the beat grid, fix and accept annotations of one library.",
    )
    app.state.service = Service(settings, access, index, JobManager(settings, finished), chats)
    app.middleware("http")(guard(settings))
    app.include_router(routes_tracks.router)
    app.include_router(routes_edits.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_chat.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def home() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    _error_handlers(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VersionConflict)
    async def conflict(request: Request, exc: VersionConflict) -> JSONResponse:
        body = FieldConflict(
            detail=exc.detail, field=exc.field, current=field_out(exc.state, exc.field)
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=409)

    @app.exception_handler(JobBusy)
    @app.exception_handler(ChatBusy)
    async def busy(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(LookupError)
    async def missing(request: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse({"detail": str(exc).strip("'\"")}, status_code=404)

    @app.exception_handler(PermissionError)
    async def forbidden(request: Request, exc: PermissionError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(ValueError)
    async def invalid(request: Request, exc: ValueError) -> JSONResponse:
        # the shape of FastAPI's own validation errors, so clients read one kind of 422
        detail = [{"loc": ["body", "value"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)
