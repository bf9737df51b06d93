"""``chat`` and ``mcp``: ask about tracks, in a terminal or from another assistant.

A text model on an OpenAI-compatible server orchestrates the measurements and the audio model
as tools (:mod:`linernotes.chat`); without a text model the question goes to the audio model,
without any model the measurements answer.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from linernotes.cli import options
from linernotes.cli.listen import add_listen_options, settings_from_args


def _add_library_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--library", help="library folder (default: the tracks' folder, or .)")
    options.add_library(parser)
    parser.add_argument(
        "--author", help="who confirms edits (default: $LINERNOTES_AUTHOR or your user name)"
    )
    add_listen_options(parser, with_switch=False)


def register(sub: Any) -> None:
    chat = options.add_command(sub, cmd_chat)
    chat.add_argument("tracks", nargs="*", help="tracks to talk about")
    model = chat.add_argument_group("text model (orchestrates the tools)")
    model.add_argument("--llm-base-url", help="its OpenAI-compatible server (.../v1)")
    model.add_argument("--llm-model", help="its name on that server")
    model.add_argument("--no-stream", action="store_true", help="ask for whole answers")
    chat.add_argument("--ask", action="append", metavar="QUESTION",
                      help="ask this (repeatable) and exit instead of prompting")  # fmt: skip
    options.add_json(chat, "with --ask: every event of the answers, one JSON object a line")
    _add_library_options(chat)

    mcp = options.add_command(sub, cmd_mcp)
    _add_library_options(mcp)


def _library(args: argparse.Namespace) -> Any:
    tracks = getattr(args, "tracks", None) or []
    if args.library:
        root = Path(args.library)
    elif tracks and Path(tracks[0]).exists():
        first = Path(tracks[0]).absolute()
        root = first if first.is_dir() else first.parent
    else:
        root = Path.cwd()
    return library_access(args, root)


def library_access(args: argparse.Namespace, root: Path) -> Any:
    """The chat's :class:`~linernotes.chat.library_access.LibraryAccess` to the library at
    ``root``, with the audio model the listen options name (``chat``, ``mcp`` and
    ``serve``'s chat panel)."""
    from linernotes.chat import LibraryAccess

    return LibraryAccess(root, db=args.db, records=args.records, listen=settings_from_args(args))


def chat_settings(args: argparse.Namespace) -> Any:
    """The :class:`~linernotes.chat.settings.ChatSettings` the text-model options give, over
    the config file (``chat``, ``mcp`` and ``serve``'s chat panel; a flag a command lacks is
    not given)."""
    from linernotes.chat.settings import ChatSettings

    return ChatSettings.load(
        llm_base_url=getattr(args, "llm_base_url", None),
        llm_model=getattr(args, "llm_model", None),
        stream=False if getattr(args, "no_stream", False) else None,
    )


def _author(args: argparse.Namespace, settings: Any) -> str:
    args.author = args.author or settings.author
    return options.author(args)


def make_session(args: argparse.Namespace) -> Any:
    """The :class:`~linernotes.chat.session.ChatSession` the command line asks for."""
    from linernotes.chat.session import ChatSession
    from linernotes.chat.web import client_for, tools_for

    settings = chat_settings(args)
    session = ChatSession(tools_for(_library(args), settings), client=client_for(settings),
                          settings=settings)  # fmt: skip
    for track in args.tracks:
        session.add_track(track)
    return session


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat about tracks: a text model calls the measurements and the audio model.

    Ask about tracks in a terminal chat. A text model on any OpenAI-compatible server
    (--llm-base-url, key from OPENAI_API_KEY) calls tools: measurements, ask_audio (the audio
    model set by --model/--base-url), compare, search_library, propose_edit (applied only
    when you /confirm). Without a text model the question goes to the audio model; without
    any model the measurements answer.
    """
    from linernotes.chat.repl import TerminalChat

    try:
        session = make_session(args)
    except LookupError as exc:
        raise options.CliError(str(exc)) from exc
    library = session.tools.library
    try:
        if args.json and args.ask:
            for question in args.ask:
                for event in session.ask(question):
                    print(json.dumps(event.as_dict(), ensure_ascii=False), flush=True)
            return 0
        author = _author(args, session.settings)
        if args.ask:
            questions = iter(args.ask)

            def read(prompt: str) -> str:
                try:
                    return next(questions)
                except StopIteration:
                    raise EOFError from None

            return TerminalChat(session, author=author, read=read, echo=True).run()
        history = library.db.parent / "chat_history" if library.db else None
        return TerminalChat(session, author=author, history_file=history).run()
    finally:
        library.close()


def cmd_mcp(args: argparse.Namespace) -> int:
    """Serve the chat's tools over MCP (stdio) for other assistants.

    Serve measurements, ask_audio, compare, search_library, propose_edit and confirm_edit
    over the Model Context Protocol on stdin/stdout (needs the 'mcp' package: pip install
    'linernotes[chat]').
    """
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise options.CliError("mcp needs the mcp package: pip install 'linernotes[chat]'") \
            from exc  # fmt: skip
    from linernotes.chat.mcp_server import serve_stdio
    from linernotes.chat.web import tools_for

    settings = chat_settings(args)
    library = _library(args)
    try:
        serve_stdio(tools_for(library, settings), author=_author(args, settings))
    finally:
        library.close()
    return 0
