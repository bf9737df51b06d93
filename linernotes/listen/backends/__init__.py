"""Listening backends: one interface (:class:`ListenBackend`), three ways to run the model.

- ``transformers``: the model in this process (:mod:`.transformers`), GPU or CPU;
- ``openai``: an OpenAI-compatible server such as vLLM or llama.cpp (:mod:`.openai`);
- ``hf-endpoint``: a Hugging Face Inference Endpoint running linernotes' handler
  (:mod:`.hf_endpoint`).

Imports are lazy so that choosing an HTTP backend never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linernotes.errors import ListenError
from linernotes.listen.backends.base import (
    AudioUse,
    ListenBackend,
    ListenOutput,
    SegmentText,
)

if TYPE_CHECKING:
    from linernotes.listen.settings import ListenSettings

BACKENDS = ("transformers", "openai", "hf-endpoint")

__all__ = [
    "BACKENDS",
    "AudioUse",
    "ListenBackend",
    "ListenError",
    "ListenOutput",
    "SegmentText",
    "make_backend",
]


#: The settings each backend takes as keyword arguments of the same name.
_OPTIONS: dict[str, tuple[str, ...]] = {
    "transformers": ("revision", "device", "dtype", "think", "long_audio", "batch_size",
                     "device_map", "quantize", "kv_cache_gb"),
    "openai": ("api_key", "audio_format", "timeout_s", "max_retries", "concurrency",
               "long_audio", "think"),
    "hf-endpoint": ("timeout_s", "max_retries", "long_audio"),
}  # fmt: skip


def make_backend(settings: ListenSettings) -> ListenBackend:
    """The backend the settings name, configured from them."""
    if settings.backend not in _OPTIONS:
        raise ListenError(
            f"unknown backend {settings.backend!r}; choose from {', '.join(BACKENDS)}"
        )
    options = {name: getattr(settings, name) for name in _OPTIONS[settings.backend]}
    if settings.backend == "transformers":
        from linernotes.listen.backends.transformers import TransformersBackend

        token = settings.hf_token.get_secret_value() if settings.hf_token else None
        return TransformersBackend(settings.model, token=token, **options)
    if settings.backend == "openai":
        from linernotes.listen.backends.openai import OpenAIBackend

        return OpenAIBackend(settings.base_url or "", settings.model, **options)
    from linernotes.listen.backends.hf_endpoint import HFEndpointBackend

    return HFEndpointBackend(
        settings.endpoint_url or "",
        token=settings.hf_token,
        # only a model id the user gave: the endpoint says which model it serves
        model_id=settings.model if "model" in settings.model_fields_set else None,
        **options,
    )
