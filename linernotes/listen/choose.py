"""Which listener ``--listen`` uses, and whether it can be reached, decided before any track.

With no backend, model, server or endpoint configured (command line, environment, ``.env`` or
``linernotes.toml``) and no CUDA GPU, ``--listen`` uses the CPU listener (musicnn tags,
vocal activity, faster-whisper lyrics, a caption from tags and measurements) and says so once.
A configured remote backend gets one quick request (:data:`PROBE_TIMEOUT_S`) before the batch:
an unreachable server stops the run with one line instead of costing a time-out per track; a
hub model id that is neither in the local Hugging Face cache nor reachable stops it too.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from linernotes.listen.backends.base import ListenError
from linernotes.listen.settings import ListenSettings

#: Seconds the up-front reachability request may take.
PROBE_TIMEOUT_S = 5.0
CPU_NOTE = (
    "listening on the CPU (musicnn tags, vocals, faster-whisper lyrics, a caption from tags and"
    " measurements): no GPU, model server or endpoint is configured; --backend"
    " transformers|openai|hf-endpoint for Music Flamingo"
)


def gpu_available() -> bool:
    """A CUDA device torch can use (``False`` when torch is not installed)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_backend(settings: ListenSettings) -> str:
    """The backend to use: the configured one, the one a URL implies, transformers when a
    model is named or a GPU is there, else ``cpu``."""
    given = settings.model_fields_set
    if "backend" in given:
        return settings.backend
    if settings.base_url:
        return "openai"
    if settings.endpoint_url:
        return "hf-endpoint"
    if "model" in given or gpu_available():
        return "transformers"
    return "cpu"


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
            probe(settings.base_url.rstrip("/") + "/models", headers)
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


class ChainedListener:
    """Several listeners in turn on each track (a model backend, then the CPU tagger)."""

    def __init__(self, *listeners: Any) -> None:
        self.listeners = listeners

    def __call__(self, path: Path, record: Any, db_path: Path) -> Any:
        for listener in self.listeners:
            record = listener(path, record, db_path)
        return record


def make_listener(
    settings: ListenSettings, prompts: list[Any], *, force: bool = False, announce: Any = None
) -> Any:
    """The ``analyze --listen`` step the settings ask for, its backend checked up front
    (raises :class:`ListenError` with one line when it cannot be reached). ``announce`` gets
    the one-line note when the CPU listener is chosen by default."""
    from linernotes.listen.cpu.listener import CpuListener

    backend = resolve_backend(settings)
    if backend == "cpu":
        if announce is not None and "backend" not in settings.model_fields_set:
            announce(CPU_NOTE)
        return CpuListener(settings.lyrics_model, force=force)
    check_reachable(settings, backend)
    from linernotes.listen.attach import TrackListener

    model = TrackListener(settings.model_copy(update={"backend": backend}), prompts, force=force)
    if settings.tagger:
        return ChainedListener(model, CpuListener(settings.lyrics_model, force=force))
    return model
