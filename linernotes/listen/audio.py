"""Audio as the listening models want it: mono float32 at 16 kHz, plus the encodings that
remote servers accept (WAV or MP3 bytes).

The processors of Audio Flamingo 3 and Music Flamingo resample files they decode themselves,
but an array handed to them is read as 16 kHz whatever its real rate (a 44.1 kHz array becomes
a clip 2.76 times longer): every backend therefore receives audio already converted here.
Files are decoded and resampled in one streaming pass with PyAV (FFmpeg's resampler; a file
FFmpeg refuses is decoded by libsndfile and resampled the same way); arrays at another rate
are resampled with a polyphase filter.
"""

from __future__ import annotations

import hashlib
import io
import os
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import av
import numpy as np

from linernotes.audio.decode import AudioSource, open_audio
from linernotes.audio.encode import CHANNEL_LAYOUTS
from linernotes.errors import AudioError
from linernotes.fileio import StrPath
from linernotes.models.decode import FFMPEG

#: The models' input rate.
MODEL_SR = 16000


@dataclass(frozen=True)
class Clip:
    """Mono float32 samples at :data:`MODEL_SR`."""

    samples: np.ndarray
    sample_rate: int = MODEL_SR
    #: The whole file's length when only its beginning was decoded (a truncating policy).
    source_duration: float | None = None

    @property
    def duration(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    def digest(self) -> str:
        """SHA-256 of the samples: the identity of an array input for the cache."""
        return hashlib.sha256(np.ascontiguousarray(self.samples).tobytes()).hexdigest()

    def segment(self, start_s: float, end_s: float) -> Clip:
        a = round(start_s * self.sample_rate)
        b = round(end_s * self.sample_rate)
        return Clip(self.samples[a:b], self.sample_rate)


#: Everything a backend accepts as audio: a clip, 16 kHz samples, a path, or file bytes.
AudioInput = Clip | np.ndarray | str | os.PathLike | bytes


def to_mono(y: np.ndarray) -> np.ndarray:
    """Average the channels of a (n,), (channels, n) or (n, channels) array."""
    arr = np.asarray(y, dtype=np.float32)
    if arr.ndim == 1:
        return arr
    if arr.ndim != 2:
        raise ValueError(f"audio array must be 1-D or 2-D, got shape {arr.shape}")
    axis = 0 if arr.shape[0] <= arr.shape[1] else 1
    return arr.mean(axis=axis).astype(np.float32)


def resample(y: np.ndarray, sr: int, target: int = MODEL_SR) -> np.ndarray:
    """Polyphase resampling of a mono array (no-op at the target rate)."""
    if sr == target:
        return np.asarray(y, dtype=np.float32)
    from scipy.signal import resample_poly

    g = gcd(int(sr), int(target))
    return resample_poly(y, target // g, int(sr) // g).astype(np.float32)


def from_array(y: np.ndarray, sr: int) -> Clip:
    """A clip from samples at any rate and channel layout."""
    if sr <= 0:
        raise ValueError("sample rate must be positive")
    return Clip(resample(to_mono(y), sr))


def decode_file(
    source: StrPath | bytes, *, max_seconds: float | None = None
) -> Clip:
    """Decode a file (path or its bytes) straight to 16 kHz mono, stopping after
    ``max_seconds`` when given (a truncating long-track policy need not decode the rest).

    Raises
    ------
    AudioError
        The file cannot be decoded; the message names it and the reason.
    """
    name: str | Path
    declared: float | None = None
    opened: AudioSource | None = None
    if isinstance(source, bytes):
        name, handle = "<audio bytes>", io.BytesIO(source)
        if not source:
            raise AudioError(name, "empty audio data (0 bytes)")
    else:
        name = Path(source)
        # existence, permissions and format checks with one-line reasons
        opened = open_audio(name)
        declared = opened.info.duration
        handle = str(name)
    limit = int(max_seconds * MODEL_SR) if max_seconds else None
    blocks: list[np.ndarray] = []
    if opened is None or opened.report.decoder == FFMPEG:
        try:
            with av.open(handle) as container:
                if not container.streams.audio:
                    raise AudioError(name, "no audio stream in the file")
                _resample_into(blocks, container.decode(container.streams.audio[0]), limit)
        except av.error.FFmpegError as exc:
            if not blocks and opened is None:
                raise AudioError(name, f"cannot decode audio: {exc}") from exc
    if not blocks and opened is not None:
        # FFmpeg refused the file or decoded nothing: libsndfile decodes, FFmpeg resamples
        _resample_into(blocks, _chunk_frames(opened), limit)
    if not blocks:
        raise AudioError(name, "no decodable audio in the file")
    samples = np.concatenate(blocks).astype(np.float32, copy=False)
    if limit is not None and samples.shape[0] >= limit:
        return Clip(samples[:limit], MODEL_SR, max(declared or 0.0, samples.shape[0] / MODEL_SR))
    return Clip(samples)


def _resample_into(
    blocks: list[np.ndarray], frames: Iterable[av.AudioFrame], limit: int | None
) -> None:
    """Append ``frames`` to ``blocks`` as 16 kHz mono, stopping once ``limit`` samples are in."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=MODEL_SR)
    total = 0
    for frame in frames:
        for out in resampler.resample(frame):
            block = out.to_ndarray().reshape(-1)
            blocks.append(block)
            total += block.shape[0]
        if limit is not None and total >= limit:
            return
    for out in resampler.resample(None):
        blocks.append(out.to_ndarray().reshape(-1))


def _chunk_frames(source: AudioSource) -> Iterator[av.AudioFrame]:
    """The blocks of a file only libsndfile reads, as frames for FFmpeg's resampler (which
    then mixes them down as it does every other file; channel counts without an FFmpeg
    layout are averaged first)."""
    layout = CHANNEL_LAYOUTS.get(source.info.channels)
    for chunk in source.chunks():
        if layout is None:
            chunk = chunk.mean(axis=0, keepdims=True)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk, dtype=np.float32), format="fltp", layout=layout or "mono"
        )
        frame.sample_rate = source.info.sample_rate
        yield frame


def load_clip(
    source: AudioInput,
    sr: int | None = None,
    *,
    max_seconds: float | None = None,
) -> Clip:
    """Any audio input as a :class:`Clip`: a clip, an array (with its rate ``sr``; 16 kHz
    assumed when omitted), a path, or encoded file bytes."""
    if isinstance(source, Clip):
        return source
    if isinstance(source, np.ndarray):
        return from_array(source, sr or MODEL_SR)
    return decode_file(source, max_seconds=max_seconds)


def wav_bytes(clip: Clip) -> bytes:
    """16-bit PCM WAV of the clip (what OpenAI-compatible servers accept everywhere)."""
    pcm = np.clip(clip.samples, -1.0, 1.0)
    data = (pcm * 32767.0).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(clip.sample_rate)
        w.writeframes(data)
    return buffer.getvalue()


def mp3_bytes(clip: Clip, bit_rate: int = 128000) -> bytes:
    """MP3 of the clip (about 7 times smaller than WAV, for slow links)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=clip.sample_rate)
        stream.layout = "mono"
        stream.bit_rate = bit_rate
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout="mono", rate=clip.sample_rate)
        step = clip.sample_rate
        for start in range(0, clip.samples.shape[0], step):
            block = clip.samples[None, start : start + step].astype(np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout="mono")
            frame.sample_rate = clip.sample_rate
            for out in resampler.resample(frame):
                container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    return buffer.getvalue()
