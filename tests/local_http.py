"""Local stand-ins for remote services: a JSON answer from a request handler, and a threaded
HTTP server on 127.0.0.1 (the tests' model servers, inference endpoint and MusicBrainz)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def send_json(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: object,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with ``payload`` as JSON (bytes are sent as they are) and extra ``headers``; a
    client that already gave up is ignored."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


class LocalServer:
    """``handler`` served on a free port of 127.0.0.1 in a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
