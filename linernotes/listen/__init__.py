"""Listen: what a track sounds like, in words, from NVIDIA's audio-language models.

Music Flamingo (``nvidia/music-flamingo-2601-hf``, the default) and Audio Flamingo 3 answer
versioned prompts from a library (caption, genre/mood/instruments, technical notes, lyrics,
JSON quality scores, ...) through one of three backends: in-process transformers, an
OpenAI-compatible server (vLLM, llama.cpp) or a Hugging Face Inference Endpoint. Raw replies
are always kept; parsed fields, cleaned text and the tempo/key/meter the model claims sit
beside them. The weights of these models are licensed for **non-commercial use only**.

>>> from linernotes.listen import ListenSettings, make_backend, listen_to_track
>>> backend = make_backend(ListenSettings(model="nvidia/music-flamingo-2601-hf"))  # doctest: +SKIP
>>> section = listen_to_track("song.flac", backend, "caption,quality",
...                           measured={"bpm": 120.0, "key": "A minor"})  # doctest: +SKIP
>>> section.entries["quality"].parsed["production_quality"]  # doctest: +SKIP
0.8
"""

from __future__ import annotations

from linernotes.listen.backends import (
    BACKENDS,
    ListenBackend,
    ListenError,
    ListenOutput,
    make_backend,
)
from linernotes.listen.cache import ListenCache, MemoryListenCache, cache_key
from linernotes.listen.prompts import (
    DEFAULT_PROMPTS,
    GenerationParams,
    Prompt,
    PromptError,
    PromptLibrary,
    RenderedPrompt,
    adhoc_prompt,
)
from linernotes.listen.settings import ListenSettings
from linernotes.listen.track import listen_to_track

__all__ = [
    "BACKENDS",
    "DEFAULT_PROMPTS",
    "GenerationParams",
    "ListenBackend",
    "ListenCache",
    "ListenError",
    "ListenOutput",
    "ListenSettings",
    "MemoryListenCache",
    "Prompt",
    "PromptError",
    "PromptLibrary",
    "RenderedPrompt",
    "adhoc_prompt",
    "cache_key",
    "listen_to_track",
    "make_backend",
]
