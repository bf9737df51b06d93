"""Chat about the open track: ``POST /api/chat`` streams the answer as Server-Sent Events.

Each event is one :class:`~linernotes.chat.events.ChatEvent` (``token``, ``tool_call``,
``tool_result``, ``notice``, ``done``, ``error``): an ``event:`` line with its type and a
``data:`` line with its JSON. A proposed edit (a ``propose_edit`` tool result) changes
nothing: the panel applies it, when the user says so, through the same field endpoint as
any edit (quoting the field's version, so a change made meanwhile gets ``409``).

The answer is made in a thread of its own; when the client goes away the answer is stopped
at its next event (the text model's stream is closed) and the conversation notes the
question as unanswered; the next question is taken only then. The route sits behind the
service's guard like every other: a token off loopback, loopback host names on loopback, no
cross-origin posts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from linernotes.service.chat_rooms import ChatEventLike
from linernotes.service.schemas import ChatIn, Message
from linernotes.service.state import Service, service_of

router = APIRouter(prefix="/api", tags=["chat"])
Svc = Annotated[Service, Depends(service_of)]


def sse_event(event: ChatEventLike) -> bytes:
    """One Server-Sent Event: the event's type, then its JSON."""
    payload = json.dumps(event.as_dict(), ensure_ascii=False)
    return f"event: {event.type}\ndata: {payload}\n\n".encode()


class _Answer:
    """One answer, made in a thread of its own and handed to the response event by event.

    The thread reads the conversation's events and queues them on the event loop; after
    each one it stops if the client has gone (:meth:`stop`). Whatever the end, the thread
    closes the events itself (the text model's stream with them: a generator is closed only
    by the thread that runs it) and only then gives the chat back to the next asker.
    """

    def __init__(self, events: Iterator[ChatEventLike], release: Callable[[], None]) -> None:
        self.events = events
        self.release = release
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.stopped = threading.Event()
        threading.Thread(target=self._produce, name="linernotes-chat", daemon=True).start()

    def _put(self, item: bytes | None) -> None:
        with contextlib.suppress(RuntimeError):  # the server is shutting down
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def _produce(self) -> None:
        try:
            for event in self.events:
                self._put(sse_event(event))
                if self.stopped.is_set():
                    break
        except Exception as exc:  # a failure the chat did not report itself
            self._put(sse_event(_Failure(f"{type(exc).__name__}: {exc}")))
        finally:
            close = getattr(self.events, "close", None)
            if close is not None:
                close()
            self.release()
            self._put(None)

    def stop(self) -> None:
        self.stopped.set()

    async def body(self) -> AsyncIterator[bytes]:
        try:
            while (item := await self.queue.get()) is not None:
                yield item
        finally:  # done, or cancelled because the client went away
            self.stop()


class _Failure:
    """An ``error`` event for an exception the conversation let through."""

    type = "error"

    def __init__(self, text: str) -> None:
        self.text = text

    def as_dict(self) -> dict[str, Any]:
        return {"type": "error", "text": self.text}


@router.post(
    "/chat",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "the answer, as events"},
        404: {"model": Message, "description": "No such track, or the chat is off."},
        409: {"model": Message, "description": "Another answer is under way."},
    },
)
async def chat(body: ChatIn, svc: Svc) -> StreamingResponse:
    """Ask about a track; the answer streams as it is made (tokens, tool calls and their
    results, notices such as cuts and fallbacks, then ``done`` or ``error``)."""
    rooms = svc.chats
    if rooms is None:
        raise HTTPException(404, "the chat is off in this service (serve --no-chat)")
    svc.ref(body.track)
    release = rooms.claim()
    try:
        room = await run_in_threadpool(rooms.room, body.conversation, body.track)
        answer = _Answer(iter(room.conversation.ask(body.question)), release)
    except BaseException:
        release()
        raise
    return StreamingResponse(
        answer.body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(answer.stop),  # also when the body was never read
    )
