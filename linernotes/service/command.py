"""The ``serve`` command: parse, check the extra is installed, print where to go, run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_serve_parser(sub: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to ``sub`` (an ``add_subparsers`` object)."""
    p = sub.add_parser(
        "serve",
        help="review in the browser: listen, see the beat grid, fix and accept fields",
        description="Serve the library under DIR (default: the current folder) as a web UI"
        " and API (/docs) on 127.0.0.1:8008. Edits go to the same human layer as"
        " `linernotes edit`. Binding any other address requires a token, printed once.",
    )
    p.add_argument("dir", nargs="?", default=".", help="the library folder (default: .)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8008, help="port (default 8008)")
    p.add_argument(
        "--token",
        help="the token to require (default: generated when not loopback;"
        " also $LINERNOTES_SERVE_TOKEN)",
    )
    p.add_argument("--records", help="the --out folder the tracks were analysed into")
    p.add_argument("--db", help="library database (default: found from DIR)")
    p.add_argument("--max-upload-mb", type=float, default=2.0, help="upload cap (default 2)")
    return p


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the service until Ctrl-C."""
    import os

    try:
        import uvicorn

        from linernotes.service.app import create_app
        from linernotes.service.security import ServeSettings
    except ImportError as exc:
        print(
            f"linernotes: serve needs the 'serve' extra ({exc.name} is missing):"
            " pip install 'linernotes[serve]'",
            file=sys.stderr,
        )
        return 1
    root = Path(args.dir)
    if not root.is_dir():
        print(f"linernotes: {root}: not a folder", file=sys.stderr)
        return 1
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
        print(
            f"linernotes: token (shown once): {settings.token}\n"
            f"  open {url}?token={settings.token}",
            file=sys.stderr,
        )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0
