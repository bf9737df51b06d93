"""A local HTTP server that speaks JSON, for the protocols tests must not fake: a handler
gets each request and returns the status and the JSON body to answer with."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from local_http import LocalServer, send_json


class Request:
    """One request as the handler sees it."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body


class JsonServer(LocalServer, contextlib.AbstractContextManager):
    """Serves ``respond(request) -> (status, body)`` on 127.0.0.1 until the ``with`` ends."""

    def __init__(self, respond: Callable[[Request], tuple[int, Any]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, data = respond(Request(self.command, self.path, dict(self.headers), body))
                send_json(self, status, data)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def __exit__(self, *exc: object) -> None:
        self.close()


def chat_completion(model: str, content: str, usage: dict[str, int]) -> dict[str, Any]:
    """An OpenAI chat-completions answer carrying ``content`` as the assistant message."""
    message = {"role": "assistant", "content": content}
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": model, "usage": usage,
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}  # fmt: skip
