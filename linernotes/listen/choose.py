"""Which listener ``--listen`` uses, with which prompts, and whether it can be reached,
decided before any track.

With no backend, model, server or endpoint configured (command line, environment, ``.env`` or
``linernotes.toml``) and no CUDA GPU, ``--listen`` uses the CPU listener (musicnn tags,
vocal activity, faster-whisper lyrics, a caption from tags and measurements) and says so once.
A configured remote backend gets one quick request before the batch (:mod:`.reach`): an
unreachable server stops the run with one line instead of costing a time-out per track.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from linernotes.listen.cache import ListenCache
from linernotes.listen.prompts import Prompt, PromptLibrary, adhoc_prompt
from linernotes.listen.reach import check_reachable
from linernotes.listen.settings import ListenSettings
from linernotes.models import TrackRecord

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


def selected_prompts(settings: ListenSettings, questions: list[str] | None = None) -> list[Prompt]:
    """The settings' prompts (answer length capped if asked), or one-off questions."""
    if questions:
        prompts = [adhoc_prompt(q) for q in questions]
    else:
        prompts = PromptLibrary(settings.prompts_dir).select(settings.prompts)
    if settings.max_new_tokens:
        cap = settings.max_new_tokens
        prompts = [p.model_copy(update={"generation": p.generation.merged(max_new_tokens=cap)})
                   for p in prompts]  # fmt: skip
    return prompts


class ChainedListener:
    """Several listeners in turn on each track (a model backend, then the CPU tagger)."""

    def __init__(self, *listeners: Any) -> None:
        self.listeners = listeners

    def __call__(self, path: Path, record: TrackRecord, cache: ListenCache) -> TrackRecord:
        for listener in self.listeners:
            record = listener(path, record, cache)
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
