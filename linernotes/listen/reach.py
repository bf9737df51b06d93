"""Whether a model server, an inference endpoint or a hub model can be reached, asked once
before any track: one quick request (:data:`PROBE_TIMEOUT_S`) whose failure is one line
(:class:`~linernotes.errors.ListenError`), instead of a time-out per track. A hub model id
that is neither in the local Hugging Face cache nor reachable fails too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from linernotes.errors import ListenError
from linernotes.http import join_url
from linernotes.listen.settings import ListenSettings

#: Seconds the up-front reachability request may take.
PROBE_TIMEOUT_S = 5.0


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def probe(url: str, headers: dict[str, str] | None = None) -> Any:
    """One GET with a short time-out; a transport failure becomes a one-line ListenError."""
    import httpx

    try:
        return httpx.get(url, headers=headers or {}, timeout=PROBE_TIMEOUT_S)
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        raise ListenError(f"cannot reach {url}: {reason}") from exc


def in_hub_cache(repo_id: str) -> bool:
    """Whether a hub model's config is in the local Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(found, str)


def check_hub_model(model: str) -> None:
    """Raise :class:`ListenError` when ``model`` is a hub id that is neither cached locally
    nor reachable (a local folder always passes)."""
    if Path(model).expanduser().is_dir() or in_hub_cache(model):
        return
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if offline:
        raise ListenError(f"model {model!r} is not in the local cache and HF_HUB_OFFLINE is set;"
                          " give a local folder with --model")  # fmt: skip
    try:
        probe(f"{hub_endpoint()}/api/models/{model}")
    except ListenError as exc:
        raise ListenError(
            f"model {model!r} is not in the local cache and the hub cannot be reached ({exc});"
            " give a local folder with --model"
        ) from exc


def check_reachable(settings: ListenSettings, backend: str) -> None:
    """One quick request to the configured backend; :class:`ListenError` (one line) if it
    cannot be reached or is not configured."""
    if backend == "openai":
        if not settings.base_url:
            raise ListenError("the openai backend needs --base-url (e.g. http://gpu-box:8000/v1)")
        headers = {}
        if settings.api_key is not None:
            headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
        try:
            probe(join_url(settings.base_url, "models"), headers)
        except ListenError as exc:
            raise ListenError(f"model server unreachable: {exc}") from exc
    elif backend == "hf-endpoint":
        if not settings.endpoint_url:
            raise ListenError("the hf-endpoint backend needs --endpoint-url")
        try:
            probe(settings.endpoint_url)
        except ListenError as exc:
            raise ListenError(f"inference endpoint unreachable: {exc}") from exc
    elif backend == "transformers":
        check_hub_model(settings.model)
