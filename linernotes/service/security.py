"""Who may talk to the review service, and which files it may hand out.

- Bound to a loopback address (the default) no token is needed, but requests must name a
  loopback host (a web page elsewhere cannot reach the service by rebinding its own DNS
  name to 127.0.0.1).
- Bound to any other address a token is required on every request but ``/health``: an
  ``Authorization: Bearer`` header, or the cookie set when the UI is first opened with
  ``?token=``. The token is generated and printed once unless one is given.
- No CORS headers are ever sent (browsers keep other origins out), a change whose
  ``Origin`` is not this server is refused, and request bodies are capped.
- Files are served only when their real path (symlinks resolved) lies under the library
  root: no ``..``, no symlink out of the library.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

TOKEN_COOKIE = "linernotes_token"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
#: Paths answered without a token (liveness checks).
PUBLIC_PATHS = frozenset({"/health"})
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self';"
    " style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
}


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the service on this machine."""
    name = host.strip("[]")
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass
class ServeSettings:
    """Where the library is, where to listen and the limits (see the module docstring).

    ``token`` is generated when ``host`` is not loopback and none is given; ``new_token``
    then says it must be shown to the user (once)."""

    root: Path
    records: Path | None = None
    db: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8008
    token: str | None = None
    max_upload_bytes: int = 2 * 1024 * 1024
    max_body_bytes: int = 4 * 1024 * 1024
    rescan_s: float = 5.0
    new_token: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.root = self.root.expanduser().absolute()
        if self.token is None and not is_loopback(self.host):
            self.token = secrets.token_urlsafe(24)
            self.new_token = True

    @property
    def token_required(self) -> bool:
        return self.token is not None

    @property
    def cache_dir(self) -> Path:
        """Transcoded audio and waveform peaks, keyed by content hash: in the library's own
        folder, beside its database (a ``.linernotes/`` made in the served folder would make
        it a library of its own for every later command); in the system's temporary folder
        while there is no library."""
        from linernotes.library.location import locate

        location = locate(self.root, self.db)
        if location is None:
            return Path(tempfile.gettempdir()) / "linernotes-serve-cache"
        return location.db.parent / "serve-cache"


def safe_path(path: Path, root: Path) -> Path:
    """``path`` resolved (symlinks followed), when it lies under ``root``.

    Raises
    ------
    PermissionError
        It points outside the library.
    """
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise PermissionError(f"{path}: outside the library")
    return real


def has_token(request: Request, token: str) -> bool:
    """Whether the request carries ``token`` (header, cookie or ``?token=``)."""
    given = request.headers.get("authorization", "")
    candidates = [given[7:] if given.lower().startswith("bearer ") else ""]
    candidates += [request.cookies.get(TOKEN_COOKIE, ""), request.query_params.get("token", "")]
    return any(c and hmac.compare_digest(c, token) for c in candidates)


Handler = Callable[[Request], Awaitable[Response]]


def guard(settings: ServeSettings) -> Callable[[Request, Handler], Awaitable[Response]]:
    """The HTTP middleware enforcing the rules of the module docstring."""

    async def middleware(request: Request, call_next: Handler) -> Response:
        refusal = _refusal(request, settings)
        if refusal is not None:
            return refusal
        if (
            settings.token
            and request.method == "GET"
            and request.query_params.get("token")
            and not request.url.path.startswith("/api/")
        ):  # first visit of the UI with ?token=: keep it in a cookie, drop it from the URL
            response: Response = RedirectResponse(request.url.path, status_code=303)
            response.set_cookie(TOKEN_COOKIE, settings.token, httponly=True, samesite="strict")
        else:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return middleware


def _refusal(request: Request, settings: ServeSettings) -> Response | None:
    host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
    if is_loopback(settings.host) and not is_loopback(host):
        return _error(403, f"host {host!r} not allowed: this service answers loopback names only")
    public = request.url.path in PUBLIC_PATHS
    if settings.token and not public and not has_token(request, settings.token):
        return _error(
            401, "token required (Authorization: Bearer TOKEN, or open the UI with ?token=TOKEN)"
        )
    if request.method in _UNSAFE:
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            return _error(403, f"cross-origin change refused (Origin {origin})")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return _error(413, f"request body over {settings.max_body_bytes} bytes")
    return None


def _error(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)
