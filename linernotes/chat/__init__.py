"""Chat about tracks: a text model orchestrates the measurements and the audio model as tools.

- :mod:`.session`: :class:`ChatSession`, whose :meth:`~ChatSession.ask` streams
  :class:`ChatEvent` objects (the one entry point for the terminal, a web service, a test);
- :mod:`.tools`: the tools (``measurements``, ``ask_audio``, ``compare``, ``search_library``,
  ``propose_edit``) and their JSON schemas;
- :mod:`.library_access`: records, search and edits through :mod:`linernotes.library`, and
  the listen backend;
- :mod:`.client`: an OpenAI-compatible chat client streaming SSE with tool calls;
- :mod:`.budget`: audio segments, token estimates, history trimming;
- :mod:`.answers`: answers from the measurements alone;
- :mod:`.events`: the event type and its SSE spelling;
- :mod:`.repl`, :mod:`.mcp_server`: the terminal chat and the MCP server (the ``chat`` and
  ``mcp`` commands are in :mod:`linernotes.cli.chat`);
- :mod:`.web`: conversations about single tracks for a web front end (the review service's
  chat panel).

>>> from linernotes.chat import ChatSession, ChatTools, LibraryAccess  # doctest: +SKIP
>>> tools = ChatTools(LibraryAccess("dataset/"))  # doctest: +SKIP
>>> session = ChatSession(tools, focus=["song.flac"])  # doctest: +SKIP
>>> for event in session.ask("Is the tempo steady between 10 and 20 s?"):  # doctest: +SKIP
...     print(event.as_dict())
"""

from __future__ import annotations

from linernotes.chat.events import ChatEvent, sse_lines, sse_stream
from linernotes.chat.library_access import LibraryAccess
from linernotes.chat.session import ChatSession
from linernotes.chat.settings import ChatSettings
from linernotes.chat.tools import ChatTools

__all__ = [
    "ChatEvent",
    "ChatSession",
    "ChatSettings",
    "ChatTools",
    "LibraryAccess",
    "sse_lines",
    "sse_stream",
]
