"""Fixtures of the listen tests (a pytest plugin: ``pytest_plugins = ["listen_fixtures"]``).

The tiny random Audio Flamingo 3 and Music Flamingo models are built once per session, saved
to a temporary folder and loaded back by path through the same code that loads a real
checkpoint. Without the ``listen`` extra (torch, transformers) the tests that use them are
skipped before anything is imported; ``make test`` installs it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FAMILIES = ("af3", "mf")


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Saved tiny random models: ``{"af3": folder, "mf": folder}``."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from linernotes.listen.synthetic import save_random_model

    root = tmp_path_factory.mktemp("tiny_models")
    return {family: save_random_model(family, root / family) for family in FAMILIES}


@pytest.fixture(scope="session")
def tiny_backends(tiny_model_dirs: dict[str, Path]):
    """A transformers backend per family, loaded by path (once: the process-wide cache)."""
    import torch

    from linernotes.listen.backends.transformers import TransformersBackend

    torch.set_num_threads(2)
    return {f: TransformersBackend(str(d), device="cpu") for f, d in tiny_model_dirs.items()}


@pytest.fixture(scope="session")
def noise_16k() -> np.ndarray:
    """4 s of quiet noise at 16 kHz (one model window)."""
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(16000 * 4)).astype(np.float32)


class EncoderCounter:
    """Counts forward calls of a model's audio encoder."""

    def __init__(self, model) -> None:
        self.calls = 0
        self._handle = model.model.audio_tower.register_forward_hook(self._hook)

    def _hook(self, *args) -> None:
        self.calls += 1

    def close(self) -> None:
        self._handle.remove()

    def __enter__(self) -> EncoderCounter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.fixture(scope="session")
def count_encoder() -> type[EncoderCounter]:
    """The :class:`EncoderCounter` class (``with count_encoder(model) as c: ... c.calls``)."""
    return EncoderCounter


@pytest.fixture(scope="session")
def force_tokens():
    """:func:`short`: prompts forced to a fixed number of new tokens."""
    return short


def short(prompts, n: int = 8):
    """Rendered prompts forced to exactly ``n`` new tokens (a random model may stop at once)."""
    return [
        p.model_copy(update={"generation": p.generation.merged(max_new_tokens=n, min_new_tokens=n)})
        for p in prompts
    ]
