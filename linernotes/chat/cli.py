"""``linernotes chat`` and ``linernotes mcp``, for ``linernotes.cli`` to mount with
:func:`build_chat_parsers` and dispatch through :data:`COMMANDS`."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from linernotes.chat.library_access import LibraryAccess, add_listen_options, listen_settings
from linernotes.chat.settings import ChatSettings


def _add_library_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--library", help="library folder (default: the tracks' folder, or .)")
    parser.add_argument("--records", help="the --out folder the tracks were analysed into")
    parser.add_argument("--db", help="library database (default: found from the library)")
    parser.add_argument(
        "--author", help="who confirms edits (default: $LINERNOTES_AUTHOR or your user name)"
    )
    add_listen_options(parser, with_switch=False)


def build_chat_parsers(sub: Any) -> None:
    """Add ``chat`` and ``mcp`` to ``sub`` (an ``add_subparsers`` object)."""
    chat = sub.add_parser(
        "chat",
        help="chat about tracks: a text model calls the measurements and the audio model",
        description="Ask about tracks in a terminal chat. A text model on any OpenAI-compatible"
        " server (--llm-base-url, key from OPENAI_API_KEY) calls tools: measurements,"
        " ask_audio (the audio model set by --model/--base-url), compare, search_library,"
        " propose_edit (applied only when you /confirm). Without a text model the question"
        " goes to the audio model; without any model the measurements answer.",
    )
    chat.add_argument("tracks", nargs="*", help="tracks to talk about")
    model = chat.add_argument_group("text model (orchestrates the tools)")
    model.add_argument("--llm-base-url", help="its OpenAI-compatible server (.../v1)")
    model.add_argument("--llm-model", help="its name on that server")
    model.add_argument("--no-stream", action="store_true", help="ask for whole answers")
    chat.add_argument("--ask", action="append", metavar="QUESTION",
                      help="ask this (repeatable) and exit instead of prompting")  # fmt: skip
    _add_library_options(chat)

    mcp = sub.add_parser(
        "mcp",
        help="serve the chat's tools over MCP (stdio) for other assistants",
        description="Serve measurements, ask_audio, compare, search_library, propose_edit and"
        " confirm_edit over the Model Context Protocol on stdin/stdout (needs the 'mcp'"
        " package: pip install 'linernotes[chat]').",
    )
    _add_library_options(mcp)


def _author(args: argparse.Namespace, settings: ChatSettings) -> str:
    return args.author or settings.author or getpass.getuser()


def _library(args: argparse.Namespace) -> LibraryAccess:
    tracks = getattr(args, "tracks", None) or []
    if args.library:
        root = Path(args.library)
    elif tracks and Path(tracks[0]).exists():
        first = Path(tracks[0]).absolute()
        root = first if first.is_dir() else first.parent
    else:
        root = Path.cwd()
    return LibraryAccess(root, db=args.db, records=args.records, listen=listen_settings(args))


def make_session(args: argparse.Namespace) -> Any:
    """The :class:`~linernotes.chat.session.ChatSession` the command line asks for."""
    from linernotes.chat.client import ChatClient
    from linernotes.chat.session import ChatSession

    settings = ChatSettings.load(
        llm_base_url=args.llm_base_url,
        llm_model=args.llm_model,
        stream=False if args.no_stream else None,
    )
    library = _library(args)
    client = None
    if settings.llm_base_url:
        client = ChatClient(
            settings.llm_base_url,
            settings.llm_model,
            api_key=settings.key(),
            timeout_s=settings.timeout_s,
            stream=settings.stream,
        )
    tools = tools_for(library, settings)
    session = ChatSession(tools, client=client, settings=settings)
    for track in args.tracks:
        session.add_track(track)
    return session


def tools_for(library: LibraryAccess, settings: ChatSettings) -> Any:
    """The chat tools with the settings' audio budgets."""
    from linernotes.chat.tools import ChatTools

    return ChatTools(library, audio_max_new_tokens=settings.audio_max_new_tokens,
                     max_audio_s=settings.max_audio_s)  # fmt: skip


def cmd_chat(args: argparse.Namespace) -> int:
    from linernotes.chat.repl import TerminalChat

    try:
        session = make_session(args)
    except LookupError as exc:
        print(f"linernotes: {exc}", file=sys.stderr)
        return 1
    library = session.tools.library
    author = _author(args, session.settings)
    if args.ask:
        questions = iter(args.ask)

        def read(prompt: str) -> str:
            try:
                return next(questions)
            except StopIteration:
                raise EOFError from None

        chat = TerminalChat(session, author=author, read=read, echo=True)
    else:
        chat = TerminalChat(session, author=author, history_file=library.db.parent / "chat_history")
    try:
        return chat.run()
    finally:
        library.close()


def cmd_mcp(args: argparse.Namespace) -> int:
    from linernotes.chat.mcp_server import serve_stdio

    try:
        import mcp  # noqa: F401
    except ImportError:
        print(
            "linernotes mcp needs the mcp package: pip install 'linernotes[chat]'", file=sys.stderr
        )
        return 1
    settings = ChatSettings.load()
    library = _library(args)
    try:
        serve_stdio(
            tools_for(library, settings),
            author=_author(args, settings),
        )
    finally:
        library.close()
    return 0


#: Command name -> function, for ``linernotes.cli.main`` to dispatch.
COMMANDS = {"chat": cmd_chat, "mcp": cmd_mcp}
