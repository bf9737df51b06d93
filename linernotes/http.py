"""Asking a web service for JSON politely: timeouts, retries with exponential backoff on
429 and 5xx (honouring ``Retry-After``), an optional minimum interval between requests (a
service's rate limit, retries included), and errors that say what went wrong.

A 4xx other than 429 is the caller's mistake and is not retried: the error names the status
(also kept as its ``status`` attribute) and the server's own message.
Secrets never appear in errors: the URL loses any user:password and the API key is masked
wherever the server echoes it. The model backends, the LLM structurer, the MusicBrainz lookup
and the chat client share it (so it sits below all of them); each names the error class its
callers expect (default :class:`~linernotes.errors.ListenError`).
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from linernotes.errors import ListenError

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def redact_url(url: str) -> str:
    """The URL without user info or query string (either may carry a secret)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def server_message(response: httpx.Response, limit: int = 300) -> str:
    """The server's error text: OpenAI-style ``{"error": {"message"}}``, HF-style
    ``{"error": "..."}``, FastAPI ``{"detail"}``, or the start of the body."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    message: Any = None
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message")))
        if isinstance(err, dict):
            message = err.get("message") or err.get("msg") or json.dumps(err)
        elif isinstance(err, list):
            message = "; ".join(
                str(e.get("msg", e)) if isinstance(e, dict) else str(e) for e in err
            )
        elif err is not None:
            message = str(err)
    if message is None:
        message = response.text.strip() or response.reason_phrase or "no message"
    message = " ".join(str(message).split())
    return message[:limit] + ("..." if len(message) > limit else "")


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class HttpClient:
    """A small JSON client with the retry policy and a concurrency limit."""

    timeout_s: float = 300.0
    max_retries: int = 5
    concurrency: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    secrets: tuple[str, ...] = ()
    sleep: Callable[[float], None] = time.sleep
    transport: httpx.BaseTransport | None = None
    #: Least time from the end of one request to the start of the next (retries included);
    #: 0: no limit.
    min_interval_s: float = 0.0
    #: Raised when a request fails for good (with ``status`` set for a 4xx answer).
    error: type[Exception] = ListenError
    clock: Callable[[], float] = time.monotonic
    _client: httpx.Client | None = field(default=None, init=False, repr=False)
    _slots: threading.BoundedSemaphore = field(init=False, repr=False)
    _pace: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _last_end: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(max(1, self.concurrency))

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout_s, connect=min(30.0, self.timeout_s)),
                transport=self.transport,
                limits=httpx.Limits(max_connections=max(1, self.concurrency)),
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Backoff before retry ``attempt`` (0-based): the server's Retry-After if it gave one,
        else exponential with jitter; both capped at ``max_delay_s``."""
        hinted = retry_after_seconds(response) if response is not None else None
        if hinted is not None:
            return min(hinted, self.max_delay_s)
        base = self.base_delay_s * (2**attempt)
        return min(self.max_delay_s, base * (0.75 + 0.5 * random.random()))

    def _wait_turn(self) -> None:
        """Sleep until ``min_interval_s`` has passed since the last request ended, so that the
        server sees them at least that far apart whatever the network's delays."""
        if self.min_interval_s <= 0:
            return
        with self._pace:
            if self._last_end is not None:
                wait = self._last_end + self.min_interval_s - self.clock()
                if wait > 0:
                    self.sleep(wait)

    def _ended(self) -> None:
        if self.min_interval_s > 0:
            with self._pace:
                self._last_end = self.clock()

    def post_json(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        headers: dict[str, str] | None = None,
        what: str = "request",
    ) -> Any:
        """POST ``payload`` and return the decoded JSON answer, retrying what may pass."""
        return self.request_json("POST", url, json_body=payload, headers=headers, what=what)

    def get_json(
        self,
        url: str,
        params: dict[str, str] | None = None,
        *,
        headers: dict[str, str] | None = None,
        what: str = "request",
    ) -> Any:
        """GET ``url`` with ``params`` and return the decoded JSON answer, retrying what may
        pass."""
        return self.request_json("GET", url, params=params, headers=headers, what=what)

    def request_json(
        self,
        method: str,
        url: str,
        *,
        json_body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        what: str = "request",
    ) -> Any:
        """One request with the retry policy; the decoded JSON answer."""
        where = redact_url(url)
        last = "no attempt made"
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            self._wait_turn()
            try:
                with self._slots:
                    try:
                        response = self.client.request(
                            method, url, json=json_body, params=params, headers=headers or {}
                        )
                    finally:
                        self._ended()
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout_s:g} s"
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__}: {self._mask(str(exc))})"
            else:
                status = response.status_code
                if status < 400:
                    try:
                        return response.json()
                    except (json.JSONDecodeError, ValueError) as exc:
                        raise self.error(
                            f"{what}: {where} answered HTTP {status} with a body that is not JSON"
                        ) from exc
                message = self._mask(server_message(response))
                if status not in RETRY_STATUSES:
                    error = self.error(f"{what}: HTTP {status} from {where}: {message}")
                    error.status = status  # type: ignore[attr-defined]
                    raise error
                last = f"HTTP {status}: {message}"
            if attempt < self.max_retries:
                self.sleep(self.delay(attempt, response))
        attempts = self.max_retries + 1
        raise self.error(
            f"{what}: {where} failed after {attempts} attempt{'s' * (attempts > 1)}: {last}"
        )


def join_url(base_url: str, path: str) -> str:
    """``base_url`` with ``path`` added to its path, its query string kept: a server that
    wants a token in the URL gets it on every request, not glued into the path.

    Examples
    --------
    >>> join_url("http://gpu-box:8000/v1?token=abc", "/chat/completions")
    'http://gpu-box:8000/v1/chat/completions?token=abc'
    >>> join_url("http://gpu-box:8000/v1/", "models")
    'http://gpu-box:8000/v1/models'
    """
    parts = urlsplit(base_url)
    joined = parts.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit(parts._replace(path=joined))
