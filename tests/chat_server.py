"""A local chat-completions server speaking OpenAI's protocol, with scripted replies.

It stands in for a remote text model (vLLM, llama.cpp, a hosted API) and, for requests that
carry an ``input_audio`` part, for an audio model served the same way. Chat replies follow a
script: each step is a :class:`Reply` or a function of the request body returning one, so a
step can read the tool results the client sent and build its answer from them. Streaming
requests get real Server-Sent Events over chunked HTTP — ``delta.content`` word by word,
``delta.tool_calls`` with the arguments split into fragments, a ``finish_reason``, a usage
chunk and ``data: [DONE]`` — and a step can break the connection off mid-stream.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_http import send_json


@dataclass
class Reply:
    """One scripted answer of the text model."""

    content: str = ""
    #: (name, arguments): a dict, or the raw text the model wrote (maybe not JSON).
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    finish_reason: str | None = None
    #: Break the connection off after this many content chunks (no finish, no [DONE]).
    drop_after: int | None = None
    status: int = 200


Step = Reply | Callable[[dict[str, Any]], Reply]


def tool_results(body: dict[str, Any]) -> dict[str, Any]:
    """``{tool name: parsed result}`` of the tool messages of a request (latest wins)."""
    names = {}
    for message in body["messages"]:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
    out: dict[str, Any] = {}
    for message in body["messages"]:
        if message.get("role") == "tool":
            out[names.get(message["tool_call_id"], "?")] = json.loads(message["content"])
    return out


def _has_audio(body: dict[str, Any]) -> bool:
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list) and any(p.get("type") == "input_audio" for p in content):
            return True
    return False


class ScriptedOpenAI:
    """The server; ``base_url`` is what a client is given (``http://127.0.0.1:PORT/v1``)."""

    def __init__(self, audio_reply: Callable[[dict[str, Any]], str] | None = None) -> None:
        self.script: list[Step] = []
        self.requests: list[dict[str, Any]] = []
        self.audio_requests: list[dict[str, Any]] = []
        self.audio_reply = audio_reply or (lambda body: "A short instrumental piece.")
        #: The audio model's HTTP status (anything but 200 fails its requests).
        self.audio_status = 200
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self.path.endswith("/chat/completions"):
                    send_json(self, 404, {"error": {"message": f"no route {self.path}"}})
                elif _has_audio(body):
                    outer.audio_requests.append(body)
                    if outer.audio_status != 200:
                        error = {"error": {"message": "model not loaded"}}
                        send_json(self, outer.audio_status, error)
                        return
                    send_json(self, 200, _completion(body, outer.audio_reply(body), [], "stop"))
                else:
                    outer.requests.append(body)
                    self._chat(body)

            def _chat(self, body: dict[str, Any]) -> None:
                with outer._lock:
                    step = outer.script.pop(0) if outer.script else None
                if step is None:
                    send_json(self, 500, {"error": {"message": "the test script is exhausted"}})
                    return
                reply = step(body) if callable(step) else step
                if reply.status != 200:
                    send_json(self, reply.status, {"error": {"message": "scripted failure"}})
                    return
                finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
                calls = [
                    (
                        f"call_{len(outer.requests)}_{i}",
                        name,
                        a if isinstance(a, str) else json.dumps(a),
                    )
                    for i, (name, a) in enumerate(reply.tool_calls)
                ]
                if not body.get("stream"):
                    send_json(self, 200, _completion(body, reply.content, calls, finish))
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._stream(_sse_chunks(body, reply.content, calls, finish), reply)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client went away (a cancelled answer)

            def _stream(self, chunks: list[str], reply: Reply) -> None:
                for n, chunk in enumerate(chunks):
                    if reply.drop_after is not None and n >= reply.drop_after:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    data = f"data: {chunk}\n\n".encode()
                    self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
                    time.sleep(0.001)
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def push(self, *steps: Step) -> None:
        self.script.extend(steps)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _completion(
    body: dict[str, Any], content: str, calls: list[tuple[str, str, str]], finish: str
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content or None}
    if calls:
        message["tool_calls"] = [
            {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
            for i, n, a in calls
        ]
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "test"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def _sse_chunks(
    body: dict[str, Any], content: str, calls: list[tuple[str, str, str]], finish: str
) -> list[str]:
    def chunk(delta: dict[str, Any], reason: str | None = None) -> str:
        return json.dumps(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body.get("model", "test"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
            }
        )

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": piece}) for piece in re.findall(r"\S+\s*|\s+", content)]
    for index, (call_id, name, arguments) in enumerate(calls):
        head = {"index": index, "id": call_id, "type": "function"}
        out.append(chunk({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]}))
        for start in range(0, len(arguments), 7):
            piece = {"index": index, "function": {"arguments": arguments[start : start + 7]}}
            out.append(chunk({"tool_calls": [piece]}))
    out.append(chunk({}, finish))
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    out.append(json.dumps({"id": "chatcmpl-test", "choices": [], "usage": usage}))
    out.append("[DONE]")
    return out
