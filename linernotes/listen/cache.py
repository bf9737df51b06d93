"""Caching listen answers so that a rerun costs nothing.

An answer is keyed by the audio's content hash, the backend, the model id, revision and
variant, the prompt id and version, the exact text sent (it includes the measured context when
given), the generation parameters and the long-track policy: change any of them and the prompt
is asked again. :class:`ListenCache` is the interface; :class:`MemoryListenCache` keeps answers
for one process, and the library database (:class:`linernotes.library.db.LibraryDB`) keeps
them in its ``listen_results`` table between runs.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol, runtime_checkable

from linernotes.listen.prompts import RenderedPrompt


def cache_key(
    content_hash: str,
    backend: dict[str, Any],
    prompt: RenderedPrompt,
    long_audio: str,
) -> str:
    """The identity of one answer (see the module docstring)."""
    blob = json.dumps(
        {
            "audio": content_hash,
            "backend": backend.get("backend"),
            "model": backend.get("model_id"),
            "revision": backend.get("revision"),
            "variant": backend.get("variant"),
            "prompt": prompt.prompt_id,
            "version": prompt.prompt_version,
            "sent": prompt.digest,
            "generation": prompt.generation.explicit(),  # as decoded, defaults filled in
            "long_audio": long_audio,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


@runtime_checkable
class ListenCache(Protocol):
    """Where answers are kept between runs (entries are JSON-ready dicts)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, content_hash: str, entry: dict[str, Any]) -> None: ...


class MemoryListenCache:
    """Answers kept for the life of the process."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        item = self._items.get(key)
        return json.loads(json.dumps(item)) if item is not None else None

    def put(self, key: str, content_hash: str, entry: dict[str, Any]) -> None:
        self._items[key] = json.loads(json.dumps(entry))

    def __len__(self) -> int:
        return len(self._items)
