"""A local HTTP server that speaks JSON, for the protocols tests must not fake: a handler
gets each request and returns the status and the JSON body to answer with."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Request:
    """One request as the handler sees it."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body


class JsonServer(contextlib.AbstractContextManager):
    """Serves ``respond(request) -> (status, body)`` on 127.0.0.1 until the ``with`` ends."""

    def __init__(self, respond: Callable[[Request], tuple[int, Any]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, data = respond(Request(self.command, self.path, dict(self.headers), body))
                raw = json.dumps(data).encode()
                self.send_response(status)
                for name, value in (("Content-Type", "application/json"),
                                    ("Content-Length", str(len(raw)))):  # fmt: skip
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def chat_completion(model: str, content: str, usage: dict[str, int]) -> dict[str, Any]:
    """An OpenAI chat-completions answer carrying ``content`` as the assistant message."""
    message = {"role": "assistant", "content": content}
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": model, "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}  # fmt: skip
