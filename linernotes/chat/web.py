"""Chat for a web front end: conversations about one track each, made on demand.

The review service (:mod:`linernotes.service`) streams answers to its chat panel; it knows
nothing of this package (the two are peers), so the command line hands it a
:class:`TrackChats`, which it calls with a track id to start a conversation. All
conversations share one :class:`~linernotes.chat.library_access.LibraryAccess` (so an
audio model is loaded once) and read the library afresh before every question (the user
edits fields in the same UI between questions).

Examples
--------
>>> from linernotes.chat import ChatSettings, LibraryAccess  # doctest: +SKIP
>>> chats = TrackChats(LibraryAccess("dataset/"), ChatSettings.load())  # doctest: +SKIP
>>> conversation = chats("song.flac")  # doctest: +SKIP
>>> for event in conversation.ask("Is the tempo steady?"):  # doctest: +SKIP
...     print(event.as_dict())
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from linernotes.chat.client import ChatClient
from linernotes.chat.events import ChatEvent
from linernotes.chat.library_access import LibraryAccess
from linernotes.chat.session import ChatSession
from linernotes.chat.settings import ChatSettings
from linernotes.chat.tools import ChatTools


def client_for(settings: ChatSettings) -> ChatClient | None:
    """The text model's client the settings name (``None`` without a server: the
    fallbacks answer)."""
    if not settings.llm_base_url:
        return None
    return ChatClient(settings.llm_base_url, settings.llm_model, api_key=settings.key(),
                      timeout_s=settings.timeout_s, stream=settings.stream)  # fmt: skip


def tools_for(library: LibraryAccess, settings: ChatSettings) -> ChatTools:
    """The chat tools with the settings' audio budgets."""
    return ChatTools(library, audio_max_new_tokens=settings.audio_max_new_tokens,
                     max_audio_s=settings.max_audio_s)  # fmt: skip


class TrackConversation:
    """One conversation about one track; :meth:`ask` streams like
    :meth:`ChatSession.ask <linernotes.chat.session.ChatSession.ask>`."""

    def __init__(self, session: ChatSession, track: str) -> None:
        self.session = session
        self.track = track

    def ask(self, question: str) -> Iterator[ChatEvent]:
        """Answer ``question`` from the library as it is now."""
        self.session.tools.library.refresh()
        return self.session.ask(question)

    def close(self) -> None:
        """Close the text model's connections (the library access is shared: see
        :meth:`TrackChats.close`)."""
        if self.session.client is not None:
            self.session.client.close()


class TrackChats:
    """Starts conversations about single tracks of one library (see the module docstring).

    Parameters
    ----------
    library
        The library, with the audio model the ``ask_audio`` tool uses.
    settings
        The text model's server and the budgets.
    """

    def __init__(self, library: LibraryAccess, settings: ChatSettings | None = None) -> None:
        self.library = library
        self.settings = settings or ChatSettings.load()
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        """Who answers: ``llm`` (a text model with tools), ``audio`` or ``measurements``."""
        if self.settings.llm_base_url:
            return "llm"
        return "audio" if self.library.has_audio_model else "measurements"

    def __call__(self, track: str) -> TrackConversation:
        """A new conversation about ``track`` (a library key or path).

        Raises
        ------
        LookupError
            No such track, or it has not been analysed.
        """
        with self._lock:
            session = ChatSession(
                tools_for(self.library, self.settings),
                client=client_for(self.settings),
                settings=self.settings,
            )
            track_id = session.add_track(track)
        return TrackConversation(session, track_id)

    def close(self) -> None:
        """Release the audio model and this thread's connection to the library."""
        self.library.close()
