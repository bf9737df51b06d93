"""A chat-completions client for any OpenAI-compatible server (vLLM, llama.cpp's
``llama-server``, a hosted API), streaming by Server-Sent Events, with tool calls.

:meth:`ChatClient.complete` yields the answer's text piece by piece as it arrives and, last,
one :class:`Completion`: the whole text, the tool calls (their ``arguments`` are assembled from
the ``delta.tool_calls`` fragments the server streams, keyed by ``index``) and the
``finish_reason``. Servers that do not stream are spoken to with ``stream: false`` and give
the same objects.

Connection failures and 429/5xx answers before anything was streamed are retried a few times;
a stream that breaks off after it started (the server died, the proxy cut it) raises
:class:`ChatServerError` at once, saying how much had arrived, so the caller can report it and
go on. The API key is sent only as a bearer token and masked in every error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from linernotes.errors import LinernotesError
from linernotes.http import RETRY_STATUSES, HttpClient, join_url, redact_url, server_message


class ChatServerError(LinernotesError):
    """The chat server could not be reached, refused the request, or broke off its answer."""


@dataclass
class ToolCall:
    """One function call the model asked for (``arguments`` is the model's JSON text)."""

    id: str
    name: str
    arguments: str = ""

    def as_message(self) -> dict[str, Any]:
        """The call as it appears in an assistant message's ``tool_calls``."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class Completion:
    """A finished answer: its text, the tool calls, why it stopped, and token usage."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None


def _text_of(content: Any) -> str:
    """A message's content as text (a string, or a list of ``{"type": "text"}`` parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


class _ToolCallAssembler:
    """Joins streamed ``delta.tool_calls`` fragments into whole calls, by ``index``."""

    def __init__(self) -> None:
        self.calls: dict[int, ToolCall] = {}

    def add(self, fragments: list[dict[str, Any]]) -> None:
        for position, fragment in enumerate(fragments):
            index = fragment.get("index", position)
            call = self.calls.setdefault(index, ToolCall(id="", name=""))
            if fragment.get("id"):
                call.id = fragment["id"]
            function = fragment.get("function") or {}
            name = function.get("name")
            if name and name != call.name:
                call.name += name  # sent once by most servers, in pieces by a few
            call.arguments += function.get("arguments") or ""

    def result(self) -> list[ToolCall]:
        out = []
        for index in sorted(self.calls):
            call = self.calls[index]
            call.id = call.id or f"call_{index}"
            out.append(call)
        return out


@dataclass
class ChatClient:
    """Chat completions at ``base_url`` (``http://host:8000/v1``) with model ``model``."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 120.0
    stream: bool = True
    max_retries: int = 2
    temperature: float | None = 0.0
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    _pool: HttpClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # the listen layer's HTTP client: its connection pool and its backoff (Retry-After)
        self._pool = HttpClient(
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            concurrency=1,
            base_delay_s=0.5,
            max_delay_s=8.0,
            sleep=self.sleep,
            transport=self.transport,
        )

    @property
    def url(self) -> str:
        return join_url(self.base_url, "chat/completions")

    def close(self) -> None:
        self._pool.close()

    def _mask(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    def payload(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, max_tokens: int
    ) -> dict[str, Any]:
        """The request body."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "stream": self.stream,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if tools:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        max_tokens: int = 2048,
    ) -> Iterator[str | Completion]:
        """Text pieces as they arrive, then the :class:`Completion`.

        Raises
        ------
        ChatServerError
            The server is unreachable, answered an error, or broke off the stream.
        """
        body = self.payload(messages, tools, max_tokens)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        where = redact_url(self.url)
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            response = None
            try:
                http = self._pool.client
                request = http.build_request("POST", self.url, json=body, headers=headers)
                response = http.send(request, stream=True)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout_s:g} s"
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__}: {self._mask(str(exc))})"
            else:
                if response.status_code < 400:
                    try:
                        if self.stream:
                            yield from self._read_stream(response, where)
                        else:
                            yield from self._read_whole(response, where)
                    finally:
                        response.close()
                    return
                response.read()
                message = self._mask(server_message(response))
                response.close()
                status = response.status_code
                if status not in RETRY_STATUSES:
                    raise ChatServerError(f"chat server {where}: HTTP {status}: {message}")
                last = f"HTTP {status}: {message}"
            if attempt < self.max_retries:
                self._pool.sleep(self._pool.delay(attempt, response))
        raise ChatServerError(
            f"chat server {where} failed after {self.max_retries + 1} tries: {last}"
        )

    def _read_whole(self, response: httpx.Response, where: str) -> Iterator[str | Completion]:
        try:
            data = json.loads(response.read())
            choice = data["choices"][0]
            message = choice["message"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ChatServerError(f"chat server {where}: unreadable answer ({exc})") from exc
        text = _text_of(message.get("content"))
        if text:
            yield text
        assembler = _ToolCallAssembler()
        assembler.add(message.get("tool_calls") or [])
        yield Completion(text, assembler.result(), choice.get("finish_reason"), data.get("usage"))

    def _read_stream(self, response: httpx.Response, where: str) -> Iterator[str | Completion]:
        parts: list[str] = []
        assembler = _ToolCallAssembler()
        finish: str | None = None
        usage: dict[str, Any] | None = None
        done = False
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    done = True
                    break
                chunk = json.loads(payload)
                if chunk.get("error"):
                    error = chunk["error"]
                    reason = error.get("message", error) if isinstance(error, dict) else error
                    raise ChatServerError(f"chat server {where}: {self._mask(str(reason))}")
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    piece = _text_of(delta.get("content"))
                    if piece:
                        parts.append(piece)
                        yield piece
                    if delta.get("tool_calls"):
                        assembler.add(delta["tool_calls"])
                    finish = choice.get("finish_reason") or finish
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            raise ChatServerError(self._broken(where, parts, f"{type(exc).__name__}")) from exc
        if not done and finish is None:
            raise ChatServerError(self._broken(where, parts, "the stream ended without a finish"))
        yield Completion("".join(parts), assembler.result(), finish, usage)

    def _broken(self, where: str, parts: list[str], why: str) -> str:
        got = sum(len(p) for p in parts)
        return f"chat server {where} broke off the answer after {got} characters ({why})"
