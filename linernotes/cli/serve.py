"""``serve``: the review web service and UI over one library (FastAPI + uvicorn, the ``serve``
extra; imported only when the command runs, so the rest of the CLI works without it)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from linernotes.cli import options
from linernotes.cli.chat import chat_settings, library_access
from linernotes.cli.listen import add_listen_options


def register(sub: Any) -> None:
    p = options.add_command(sub, cmd_serve)
    p.add_argument("dir", nargs="?", default=".", help="the library folder (default: .)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8008, help="port (default 8008)")
    p.add_argument(
        "--token",
        help="the token to require (default: generated when not loopback;"
        " also $LINERNOTES_SERVE_TOKEN)",
    )
    options.add_library(p)
    p.add_argument("--max-upload-mb", type=float, default=2.0, help="upload cap (default 2)")
    chat = p.add_argument_group("chat panel (what `linernotes chat` uses)")
    chat.add_argument("--no-chat", action="store_true", help="serve without the chat panel")
    chat.add_argument("--llm-base-url", help="the text model's OpenAI-compatible server (.../v1)")
    chat.add_argument("--llm-model", help="its name on that server")
    add_listen_options(p, with_switch=False)


def chat_factory(args: argparse.Namespace, root: Path) -> Any:
    """The chat's conversations for the service (:class:`linernotes.chat.web.TrackChats`),
    or ``None`` with ``--no-chat``."""
    if args.no_chat:
        return None
    from linernotes.chat.web import TrackChats

    settings = chat_settings(args)  # a bad config fails before the library is opened
    return TrackChats(library_access(args, root), settings)


def cmd_serve(args: argparse.Namespace) -> int:
    """Review in the browser: listen, see the beat grid, fix and accept fields.

    Serve the library under DIR (default: the current folder) as a web UI and API (/docs) on
    127.0.0.1:8008 until Ctrl-C. Edits go to the same human layer as `linernotes edit`.
    Binding any other address requires a token, printed once. The track view has a chat
    panel: a text model (--llm-base-url) calls the measurements and the audio model (--model,
    --base-url) as tools, as in `linernotes chat`; without them the measurements answer.
    """
    try:
        import uvicorn

        from linernotes.service.app import create_app
        from linernotes.service.security import ServeSettings
    except ImportError as exc:
        raise options.CliError(f"serve needs the 'serve' extra ({exc.name} is missing):"
                               " pip install 'linernotes[serve]'") from exc  # fmt: skip
    root = options.need_folder(args.dir)
    settings = ServeSettings(
        root=root,
        records=Path(args.records) if args.records else None,
        db=Path(args.db) if args.db else None,
        host=args.host,
        port=args.port,
        token=args.token or os.environ.get("LINERNOTES_SERVE_TOKEN") or None,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{args.port}/"
    print(f"linernotes: serving {settings.root} at {url} (API: {url}docs)", file=sys.stderr)
    if settings.new_token:
        print(f"linernotes: token (shown once): {settings.token}\n"
              f"  open {url}?token={settings.token}", file=sys.stderr)  # fmt: skip
    chats = chat_factory(args, root)
    if chats is not None:
        print(f"linernotes: chat panel answers with: {chats.mode}", file=sys.stderr)
    app = create_app(settings, chat=chats)
    try:
        # Ctrl-C stops within seconds, not after a request still decoding a waveform
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                    timeout_graceful_shutdown=3)  # fmt: skip
    finally:
        if chats is not None:
            chats.close()
    return 0
