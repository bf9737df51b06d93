"""Acoustic fingerprints (:mod:`linernotes.audio.fingerprint`): a file and its lossy copy
match, two different pieces do not, with Chromaprint's ``fpcalc`` and with the fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synth import chord, click_track

from linernotes.audio import fingerprint as fp
from linernotes.audio.encode import write_audio

SR = 22050


def _piece(seed: int, seconds: float = 10.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    roots = rng.integers(48, 72, size=10)
    harmony = np.concatenate([chord([r, r + 3 + seed % 2, r + 7], seconds / 10, SR)
                              for r in roots])  # fmt: skip
    clicks, _ = click_track(90 + 10 * seed, seconds, SR)
    return (harmony + clicks[: harmony.size]).astype(np.float32)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("prints")
    one, two = _piece(1), _piece(2)
    paths = {"one.flac": one, "one.mp3": one, "one.m4a": one, "two.flac": two}
    for name, y in paths.items():
        write_audio(folder / name, y, SR)
    return {name: folder / name for name in paths}


@pytest.mark.parametrize("tool", ["chromaprint", "bands"])
def test_lossy_copies_match_and_other_music_does_not(files, tool, monkeypatch):
    if tool == "chromaprint" and fp.fpcalc_path() is None:
        pytest.skip("fpcalc (libchromaprint-tools) is not installed")
    if tool == "bands":
        monkeypatch.setattr(fp, "fpcalc_path", lambda: None)
    prints = {name: fp.fingerprint(path) for name, path in files.items()}
    assert all(p is not None and p.tool == tool for p in prints.values())
    original = prints["one.flac"]
    for copy in ("one.mp3", "one.m4a"):
        assert fp.same_recording(original, prints[copy]) is not None, copy
    assert fp.same_recording(original, prints["two.flac"]) is None
    assert fp.similarity(original, prints["two.flac"]) < 0.7
    again = fp.Fingerprint.decode(original.encode())
    assert again.tool == tool and np.array_equal(again.values, original.values)


def test_fingerprints_of_different_tools_never_match(files, monkeypatch):
    chroma = fp.Fingerprint("chromaprint", np.arange(50, dtype=np.uint32))
    bands = fp.Fingerprint("bands", np.arange(50, dtype=np.uint32))
    assert fp.similarity(chroma, bands) == 0.0


def test_the_band_fingerprint_is_the_same_whatever_its_batch(monkeypatch):
    """Frames are transformed a batch at a time to bound memory (two minutes of them at once
    took about 400 MB); the batch must not change a bit."""
    y = np.random.default_rng(2).standard_normal(22050 * 20).astype(np.float32)
    batched = fp.band_fingerprint(y, 22050)
    monkeypatch.setattr(fp, "_BATCH_FRAMES", 10**6)
    assert batched.size > 100 and np.array_equal(batched, fp.band_fingerprint(y, 22050))
    monkeypatch.setattr(fp, "_BATCH_FRAMES", 7)
    assert np.array_equal(batched, fp.band_fingerprint(y, 22050))
