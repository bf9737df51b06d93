"""What a chat answer streams: typed events, framework-free, and their SSE spelling.

:meth:`linernotes.chat.session.ChatSession.ask` yields these events one by one; the terminal
prints them, a web service sends them as Server-Sent Events (:func:`sse_lines`), and a test
reads them. Every event is a plain JSON object (:meth:`ChatEvent.as_dict`), so nothing on the
other side needs linernotes to understand them.

Event types
-----------
``token``
    A piece of the answer's text (``text``).
``tool_call``
    The model called a tool (``data``: ``id``, ``name``, ``arguments``).
``tool_result``
    What the tool returned (``data``: ``id``, ``name``, ``result`` as compact JSON, ``ok``).
``notice``
    Something the user should see in the transcript: a cut (audio split into segments,
    history trimmed, an answer continued or stopped at its limit), a fallback, a proposed edit
    waiting for confirmation (``data`` says which kind: ``data["kind"]``).
``done``
    The answer is complete (``text``: the whole answer; ``data``: ``mode``, tool rounds).
``error``
    The answer failed (``text``: a one-line reason). The session goes on: the next question
    starts afresh.

Examples
--------
>>> event = ChatEvent("token", text="The tempo")
>>> event.as_dict()
{'type': 'token', 'text': 'The tempo'}
>>> print(sse_lines(event), end="")
event: token
data: {"type": "token", "text": "The tempo"}
<BLANKLINE>
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal["token", "tool_call", "tool_result", "notice", "done", "error"]
EVENT_TYPES: tuple[str, ...] = ("token", "tool_call", "tool_result", "notice", "done", "error")


@dataclass(frozen=True)
class ChatEvent:
    """One step of a streamed answer (see the module docstring for the types)."""

    type: EventType
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The event as a JSON-ready object (empty fields left out)."""
        out: dict[str, Any] = {"type": self.type}
        if self.text:
            out["text"] = self.text
        if self.data:
            out["data"] = self.data
        return out


def notice(kind: str, text: str, **data: Any) -> ChatEvent:
    """A ``notice`` event of ``kind`` (``cut``, ``trim``, ``continue``, ``fallback``,
    ``edit``...)."""
    return ChatEvent("notice", text=text, data={"kind": kind, **data})


def sse_lines(event: ChatEvent) -> str:
    """One Server-Sent Event (``event:`` and ``data:`` lines, then a blank line)."""
    payload = json.dumps(event.as_dict(), ensure_ascii=False)
    return f"event: {event.type}\ndata: {payload}\n\n"


def sse_stream(events: Iterable[ChatEvent]) -> Iterator[bytes]:
    """``events`` as the UTF-8 body of a ``text/event-stream`` response (for any web
    framework's streaming response)."""
    for event in events:
        yield sse_lines(event).encode("utf-8")
