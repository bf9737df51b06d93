"""The chat panel's conversations, kept in memory by the id the client chose.

The service does not import the chat package (the two are peers under the command line):
it is given a *factory*, a callable that takes a track id and returns a conversation whose
``ask(question)`` yields events (objects with ``type`` and ``as_dict()``), and keeps the
conversations it made. :class:`linernotes.chat.web.TrackChats` is that factory.

One answer is made at a time in the whole service: the models behind the chat (a text
model's server, an audio model loaded in this process) serve one request well, not several
at once; a second asker gets ``409`` and asks again when the first answer is done.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol


class ChatEventLike(Protocol):
    """An event of a streamed answer (see :mod:`linernotes.chat.events`)."""

    type: str

    def as_dict(self) -> dict[str, Any]: ...


class Conversation(Protocol):
    """A conversation about one track."""

    def ask(self, question: str) -> Iterator[ChatEventLike]: ...

    def close(self) -> None: ...


class ChatFactory(Protocol):
    """Starts a conversation about a track (``LookupError``: no such analysed track)."""

    @property
    def mode(self) -> str:
        """Who answers: ``llm``, ``audio`` or ``measurements``."""
        ...

    def __call__(self, track: str) -> Conversation: ...


class ChatBusy(RuntimeError):
    """Another answer is being made."""


@dataclass
class Room:
    """A conversation and the track it is about."""

    track: str
    conversation: Conversation


class ChatRooms:
    """Conversations by the client's id, at most ``limit`` (the least recently used is closed
    when another starts)."""

    def __init__(self, factory: ChatFactory, *, limit: int = 32) -> None:
        self.factory = factory
        self.limit = limit
        self._rooms: OrderedDict[str, Room] = OrderedDict()
        self._guard = threading.Lock()
        self._answering = threading.Lock()

    def room(self, conversation: str, track: str) -> Room:
        """The conversation ``conversation`` about ``track`` (a new one when the id is new or
        was about another track)."""
        with self._guard:
            room = self._rooms.get(conversation)
            if room is None or room.track != track:
                if room is not None:
                    room.conversation.close()
                room = Room(track, self.factory(track))
                self._rooms[conversation] = room
            self._rooms.move_to_end(conversation)
            while len(self._rooms) > self.limit:
                _, old = self._rooms.popitem(last=False)
                old.conversation.close()
            return room

    def claim(self) -> Callable[[], None]:
        """Hold the right to answer; returns the function that gives it back.

        Raises
        ------
        ChatBusy
            Another answer is under way.
        """
        if not self._answering.acquire(blocking=False):
            raise ChatBusy("another chat answer is under way: ask again when it is done")
        return self._answering.release

    def close(self) -> None:
        with self._guard:
            for room in self._rooms.values():
                room.conversation.close()
            self._rooms.clear()
