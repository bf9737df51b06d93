"""Writing audio files with PyAV: used to make test signals, example clips and crops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np

from linernotes.fileio import StrPath

#: Encoder chosen for each file extension (all bundled in PyAV's wheel).
CODEC_BY_SUFFIX = {
    ".wav": "pcm_s16le",
    ".flac": "flac",
    ".mp3": "libmp3lame",
    ".ogg": "libopus",
    ".opus": "libopus",
    ".m4a": "aac",
    ".aac": "aac",
}
#: FFmpeg's channel layout for each channel count it names.
CHANNEL_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 8: "7.1"}


def write_audio(
    path: StrPath,
    y: np.ndarray,
    sr: int,
    *,
    bit_rate: int | None = None,
    codec: str | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Encode ``y`` (shape (n,) or (channels, n), float in [-1, 1]) to ``path``.

    The codec follows the extension (see :data:`CODEC_BY_SUFFIX`); Opus files are encoded at
    48 kHz, as Opus requires, and every other format keeps ``sr``. ``tags`` (artist, title,
    album, date, ...) are written as the container's metadata.
    """
    p = Path(path)
    codec_name = codec or CODEC_BY_SUFFIX.get(p.suffix.lower())
    if codec_name is None:
        raise ValueError(f"no encoder for extension {p.suffix!r}")
    data = np.atleast_2d(np.asarray(y, dtype=np.float32))
    channels = data.shape[0]
    layout = CHANNEL_LAYOUTS.get(channels)
    if layout is None:
        raise ValueError(f"unsupported channel count {channels}")
    out_rate = 48000 if codec_name == "libopus" else sr
    options = {"strict": "-2"} if codec_name == "aac" else {}
    container_format = "mp4" if p.suffix.lower() in (".m4a",) else None
    with av.open(str(p), "w", format=container_format) as container:
        container.metadata.update(tags or {})
        stream = container.add_stream(codec_name, rate=out_rate, options=options)
        stream.layout = layout
        if bit_rate:
            stream.bit_rate = bit_rate
        encoder_format = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=encoder_format, layout=layout, rate=out_rate)
        block = sr
        for start in range(0, data.shape[1], block):
            piece = np.ascontiguousarray(np.clip(data[:, start : start + block], -1.0, 1.0))
            frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout=layout)
            frame.sample_rate = sr
            frame.pts = start
            mux_resampled(container, stream, resampler, frame)
        finish_stream(container, stream, resampler)
    return p


def mux_resampled(container: Any, stream: Any, resampler: Any, frame: Any) -> None:
    """Resample ``frame`` to the encoder's format and mux what comes out (timestamps are
    left to the encoder: resampling changes the frame sizes)."""
    for converted in resampler.resample(frame):
        converted.pts = None
        container.mux(stream.encode(converted))


def finish_stream(container: Any, stream: Any, resampler: Any) -> None:
    """Flush the resampler and the encoder into the container."""
    mux_resampled(container, stream, resampler, None)
    container.mux(stream.encode(None))
