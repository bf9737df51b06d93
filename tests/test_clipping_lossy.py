"""Clipping survives lossy coding: a clipped file and its MP3 transcode get the same verdict,
and an unclipped file that touches full scale passes in both (:mod:`linernotes.dsp.loudness`,
:func:`linernotes.quality.detectors.detect_clipping`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synth import click_track, progression

from linernotes.audio.encode import write_audio
from linernotes.pipeline.track import analyze_file

SR = 44100


def _music() -> np.ndarray:
    clicks, _ = click_track(110.0, 8.0, SR)
    harmony = progression(2, "major", 1.0, SR, repeats=2)[: clicks.shape[0]]
    y = 0.3 * clicks + np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    y = np.stack([y, 0.8 * y])
    return (y / np.abs(y).max()).astype(np.float32)


def _clipping(path: Path) -> dict:
    record = analyze_file(path)
    return record.analyses["signal_quality"].result["detections"]["clipping"]


@pytest.mark.parametrize("gain_db", [6.0, 12.0])
def test_a_clipped_file_and_its_mp3_agree(tmp_path: Path, gain_db: float):
    clipped = np.clip(_music() * 10 ** (gain_db / 20), -1.0, 1.0)
    write_audio(tmp_path / "clipped.flac", clipped, SR)
    write_audio(tmp_path / "clipped.mp3", clipped, SR, bit_rate=192_000)
    lossless, lossy = _clipping(tmp_path / "clipped.flac"), _clipping(tmp_path / "clipped.mp3")
    assert lossless["status"] == lossy["status"] == "fail", (lossless["reason"], lossy["reason"])
    assert lossy["details"]["over_samples"] > 0  # the decoder overshoots the plateaus
    assert "decoded beyond full scale" in lossy["reason"]


def test_full_scale_without_clipping_passes_in_both(tmp_path: Path):
    loud = _music() * 0.999
    write_audio(tmp_path / "loud.flac", loud, SR)
    write_audio(tmp_path / "loud.mp3", loud, SR, bit_rate=192_000)
    assert _clipping(tmp_path / "loud.flac")["status"] == "pass"
    assert _clipping(tmp_path / "loud.mp3")["status"] == "pass"
