"""Streaming pieces of separation: overlap-add segmentation (against Demucs' own
``apply_model(split=True)``), rate conversion, and stem activity and presence."""

from __future__ import annotations

import numpy as np
import pytest
from separate_fixtures import one_torch_thread  # noqa: F401

from linernotes.analyzers.activity import activity_series, presence_probability
from linernotes.separate.overlap import separate_stream
from linernotes.separate.resample import StreamResampler


def _blocks(x: np.ndarray, size: int):
    for i in range(0, x.shape[1], size):
        yield x[:, i : i + size]


def _identity(n_sources: int):
    def run(segments: np.ndarray) -> np.ndarray:
        return np.repeat(segments[:, None], n_sources, axis=1) * np.arange(1, n_sources + 1)[
            None, :, None, None
        ]

    return run


@pytest.mark.parametrize("length", [0, 1, 99, 100, 250, 1013])
@pytest.mark.parametrize(("overlap", "batch", "block"), [(0.25, 1, 37), (0.5, 3, 400), (0, 2, 1)])
def test_overlap_add_reconstructs_an_identity_model(length, overlap, batch, block):
    x = np.random.default_rng(length).standard_normal((2, length)).astype(np.float32)
    out = list(separate_stream(_blocks(x, block), _identity(3), segment=100, n_sources=3,
                               channels=2, overlap=overlap, batch=batch))  # fmt: skip
    y = np.concatenate(out, axis=-1) if out else np.zeros((3, 2, 0))
    assert y.shape == (3, 2, length)
    for k in range(3):
        np.testing.assert_allclose(y[k], (k + 1) * x, rtol=1e-5, atol=1e-5)


def test_overlap_add_reads_the_stream_lazily():
    """Memory is bounded: the input read ahead of the output stays within a few segments."""
    consumed = 0

    def source():
        nonlocal consumed
        for _ in range(1000):
            consumed += 50
            yield np.ones((2, 50), np.float32)

    produced = 0
    ahead = 0
    for out in separate_stream(source(), _identity(1), segment=400, n_sources=1, channels=2,
                               batch=2):  # fmt: skip
        produced += out.shape[-1]
        ahead = max(ahead, consumed - produced)
    assert produced == 50_000
    assert ahead <= 400 + 2 * 300 + 50


def test_segments_blend_as_demucs_blends_them():
    """Same model, same input: our streamed segments equal ``apply_model(split=True)``
    wherever Demucs does not pad its last segment with context (the final stretch)."""
    torch = pytest.importorskip("torch")
    from demucs.apply import apply_model
    from separate_fixtures import tiny_htdemucs

    model = tiny_htdemucs().eval()
    sr = model.samplerate
    x = np.random.default_rng(1).standard_normal((2, int(3.2 * sr))).astype(np.float32) * 0.1
    with torch.no_grad():
        ref = apply_model(model, torch.from_numpy(x)[None], shifts=0, split=True,
                          overlap=0.25)[0].numpy()  # fmt: skip

    def run(segments: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return apply_model(model, torch.from_numpy(segments), shifts=0, split=False).numpy()

    out = np.concatenate(list(separate_stream(_blocks(x, 10_000), run, segment=sr, n_sources=4,
                                              channels=2, overlap=0.25)), axis=-1)  # fmt: skip
    assert out.shape == ref.shape
    stride = int(0.75 * sr)
    exact = (x.shape[1] - sr) // stride * stride  # before the first segment Demucs pads
    np.testing.assert_allclose(out[..., :exact], ref[..., :exact], rtol=1e-4, atol=1e-5)


def test_stream_resampler_keeps_length_and_signal():
    sr_in, sr_out = 48000, 44100
    t = np.arange(int(2.5 * sr_in)) / sr_in
    x = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 1000 * t)]).astype(np.float32)
    there = StreamResampler(sr_in, sr_out, channels=2)
    mid = np.concatenate([*(there.push(b) for b in _blocks(x, 4801)), there.flush()], axis=1)
    assert mid.shape[1] == round(x.shape[1] * sr_out / sr_in)
    back = StreamResampler(sr_out, sr_in, channels=2)
    y = np.concatenate([*(back.push(b) for b in _blocks(mid, 3000)), back.flush()], axis=1)
    assert y.shape == x.shape
    inner = slice(2000, -2000)
    for c in range(2):
        corr = np.corrcoef(x[c, inner], y[c, inner])[0, 1]
        assert corr > 0.999


def test_activity_series_follows_the_part():
    frame_rate = 100.0
    rms = np.full(1000, 1e-5)
    rms[200:500] = 0.1  # sings from 2 s to 5 s
    rms[510:520] = 0.003  # bleed 30 dB down: not singing
    series = activity_series(rms, frame_rate, window_s=1.0)
    assert series.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0]


def test_presence_rises_with_the_stems_level_against_the_mix():
    levels = [-50.0, -35.0, -25.0, -15.0, -5.0]
    probs = [presence_probability(stem, -10.0) for stem in levels]
    assert probs == sorted(probs) and probs[0] < 0.01 and probs[-1] > 0.99
    assert presence_probability(None, -10.0) == 0.0
    assert presence_probability(-20.0, None) is None
