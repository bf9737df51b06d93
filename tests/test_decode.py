"""Decoding: every supported container, odd rates and layouts, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from synth import tone

from linernotes.audio.decode import open_audio
from linernotes.audio.encode import write_audio
from linernotes.audio.tags import read_tags
from linernotes.errors import AudioError


def _decode_all(path: Path) -> tuple[np.ndarray, object]:
    source = open_audio(path)
    y = np.concatenate(list(source.chunks(chunk_seconds=1.0)), axis=1)
    return y, source


@pytest.mark.parametrize(
    ("name", "sr", "channels"),
    [
        ("a.wav", 44100, 2),
        ("b.flac", 48000, 2),
        ("c.mp3", 44100, 2),
        ("d.ogg", 48000, 1),
        ("e.opus", 48000, 2),
        ("f.m4a", 44100, 2),
        ("g.wav", 8000, 1),
        ("h.flac", 96000, 6),
    ],
)
def test_formats_decode_with_their_facts(tmp_path: Path, name: str, sr: int, channels: int) -> None:
    y = np.tile(tone(440.0, 3.0, sr), (channels, 1))
    path = write_audio(tmp_path / name, y, sr)
    decoded, source = _decode_all(path)
    assert source.info.sample_rate == sr
    assert source.info.channels == channels
    assert decoded.shape[0] == channels
    assert decoded.dtype == np.float32
    # lossy codecs add priming samples; the length stays within 60 ms of 3 s
    assert abs(decoded.shape[1] / sr - 3.0) < 0.06
    assert not source.report.truncated
    rms = float(np.sqrt(np.mean(decoded[:, sr // 2 : -sr // 2] ** 2)))
    assert rms == pytest.approx(0.3 / np.sqrt(2), rel=0.1)


def test_chunks_are_bounded(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "long.flac", tone(220.0, 25.0, 22050), 22050)
    sizes = [c.shape[1] for c in open_audio(path).chunks(chunk_seconds=2.0)]
    assert len(sizes) >= 12
    assert max(sizes) < 22050 * 2 + 8192


@pytest.mark.parametrize("name", ["tagged.flac", "tagged.mp3", "tagged.m4a", "tagged.ogg"])
def test_tags_are_read(tmp_path: Path, name: str) -> None:
    written = {"artist": "Ånnika Bjørk", "title": "日本の歌", "album": "Ünï", "date": "2019-05-01"}
    path = write_audio(tmp_path / name, tone(440.0, 1.0, 48000), 48000, tags=written)
    tags = read_tags(path)
    assert tags == {"artist": "Ånnika Bjørk", "title": "日本の歌", "album": "Ünï", "year": "2019"}


def test_truncated_wav_is_marked_and_keeps_what_decoded(tmp_path: Path) -> None:
    path = write_audio(tmp_path / "cut.wav", tone(440.0, 6.0, 16000), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    decoded, source = _decode_all(path)
    assert source.report.truncated
    assert 2.5 < decoded.shape[1] / 16000 < 3.5
    assert source.report.decoded_duration == pytest.approx(decoded.shape[1] / 16000, abs=1e-3)


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("this is not audio\n" * 50), "not a recognised audio file"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "file not found"),
    ],
)
def test_broken_input_gives_one_line_reason(tmp_path: Path, setup, reason: str) -> None:
    path = tmp_path / "broken.mp3"
    setup(path)
    with pytest.raises(AudioError) as info:
        src = open_audio(path)
        list(src.chunks())
    assert reason in info.value.reason
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_random_bytes_with_audio_extension_fail_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "noise.flac"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError) as info:
        list(open_audio(path).chunks())
    assert str(path) in str(info.value)
