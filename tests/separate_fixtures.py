"""A tiny randomly initialised HTDemucs stored as Demucs stores its pretrained models, for
the separation tests (the real loader reads it by name from a local repo folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("demucs", reason="needs demucs (make test installs it)")

SOURCES = ["drums", "bass", "other", "vocals"]


def tiny_htdemucs(seed: int = 0):
    """HTDemucs with 4 channels, one transformer layer, a 1024-point STFT, 1 s segments and
    an 8 kHz model rate (the pipeline converts to and from whatever rate a model declares):
    the real architecture, about 100k parameters, fast on a CPU."""
    import torch
    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(sources=SOURCES, channels=4, depth=4, nfft=1024, t_layers=1, t_heads=2,
                    dconv_comp=2, segment=1, samplerate=8000)  # fmt: skip


def tiny_repo(folder: Path, name: str = "htdemucs", seed: int = 0) -> Path:
    from linernotes.separate.model import save_to_repo

    return save_to_repo(folder, name, [(f"{seed:08x}", tiny_htdemucs(seed))])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread: the tiny model's ops are too small to share, and on a machine
    whose cores are busy two spinning threads make them ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
