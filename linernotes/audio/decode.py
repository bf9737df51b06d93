"""Streaming audio decoding with PyAV (FFmpeg's codecs bundled in the wheel; no system ffmpeg).

:func:`open_audio` checks the file and reads its container facts; :meth:`AudioSource.chunks`
then yields float32 blocks of a few seconds, so an hour-long file never sits in memory whole.
Decoding problems become an :class:`AudioError` that names the file and the reason, or, when
part of the file decoded before the damage, a :class:`~linernotes.models.decode.DecodeReport` marked
``truncated``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.logging
import numpy as np

from linernotes.audio.tags import declared_duration
from linernotes.errors import AudioError
from linernotes.models.decode import DecodeReport

av.logging.set_level(av.logging.PANIC)

#: Seconds of audio in each chunk handed to the analysis front end.
CHUNK_SECONDS = 10.0
#: A decoded length this much shorter than the container's stated length marks truncation.
TRUNCATION_TOLERANCE_S = 0.5


@dataclass
class AudioInfo:
    """What the container says about the audio stream."""

    format: str | None
    codec: str | None
    duration: float | None
    sample_rate: int
    channels: int
    bit_rate: int | None
    metadata: dict[str, str]


class AudioSource:
    """An opened audio file; iterate :meth:`chunks` once to decode it."""

    def __init__(self, path: Path, info: AudioInfo) -> None:
        self.path = path
        self.info = info
        self.report = DecodeReport()

    def chunks(self, chunk_seconds: float = CHUNK_SECONDS) -> Iterator[np.ndarray]:
        """Yield consecutive (channels, n) float32 arrays at the native rate.

        Decoding stops at the first unrecoverable error; what was decoded before it is kept
        and :attr:`report` says the file is truncated. An error before any audio decoded
        raises :class:`AudioError`.
        """
        info = self.info
        target = max(1, int(chunk_seconds * info.sample_rate))
        pending: list[np.ndarray] = []
        n_pending = 0
        n_total = 0
        resampler = av.AudioResampler(format="fltp", layout=None, rate=info.sample_rate)
        try:
            container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as exc:
            raise AudioError(self.path, f"cannot reopen for decoding: {_reason(exc)}") from exc
        with container:
            stream = container.streams.audio[0]
            stream.thread_type = "AUTO"
            try:
                for frame in _decode_frames(container, stream, self.report):
                    for out in resampler.resample(frame):
                        arr = _planar(out, info.channels)
                        pending.append(arr)
                        n_pending += arr.shape[1]
                        if n_pending >= target:
                            block = np.concatenate(pending, axis=1)
                            pending, n_pending = [], 0
                            n_total += block.shape[1]
                            yield block
                for out in resampler.resample(None):
                    arr = _planar(out, info.channels)
                    pending.append(arr)
            except av.error.FFmpegError as exc:
                if n_total + n_pending == 0:
                    raise AudioError(self.path, f"corrupt audio data: {_reason(exc)}") from exc
                self.report.truncated = True
                self.report.warnings.append(f"decoding stopped early: {_reason(exc)}")
        if pending:
            block = np.concatenate(pending, axis=1)
            n_total += block.shape[1]
            yield block
        if n_total == 0:
            raise AudioError(self.path, "no decodable audio in the file")
        decoded = n_total / info.sample_rate
        self.report.decoded_duration = round(decoded, 3)
        expected = max(info.duration or 0.0, declared_duration(self.path) or 0.0)
        if expected and decoded < expected - TRUNCATION_TOLERANCE_S:
            self.report.truncated = True
            self.report.warnings.append(
                f"decoded {decoded:.2f} s of the {expected:.2f} s the file declares"
            )


def _decode_frames(container, stream, report: DecodeReport) -> Iterator[av.AudioFrame]:
    """Decode packet by packet, skipping isolated bad packets (as players do) but giving up
    after many consecutive failures."""
    consecutive_failures = 0
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.error.InvalidDataError as exc:
            consecutive_failures += 1
            if consecutive_failures == 1:
                report.warnings.append(f"skipped undecodable packet: {_reason(exc)}")
            if consecutive_failures > 50:
                raise
            continue
        consecutive_failures = 0
        yield from frames


def _planar(frame: av.AudioFrame, channels: int) -> np.ndarray:
    arr = frame.to_ndarray()
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.shape[0] != channels:
        # a mid-stream layout change: fold to the declared channel count
        mono = arr.mean(axis=0, keepdims=True)
        arr = np.repeat(mono, channels, axis=0)
    return arr.astype(np.float32, copy=False)


def _reason(exc: BaseException) -> str:
    """FFmpeg's message without the path, plus its last log line when it says more."""
    text = (getattr(exc, "strerror", None) or str(exc)).strip().rstrip(".")
    log = re.search(r"last error log: (?:\[[^\]]*\] )?(.+)$", str(exc))
    if log and log.group(1).strip() not in text:
        text = f"{text}: {log.group(1).strip()}"
    return text or type(exc).__name__


def open_audio(path: str | os.PathLike[str]) -> AudioSource:
    """Check ``path`` and read its audio stream's facts.

    Raises
    ------
    AudioError
        With a one-line reason: missing, unreadable, empty, not audio, no audio stream.
    """
    p = Path(path)
    if not p.exists():
        raise AudioError(p, "file not found")
    if p.is_dir():
        raise AudioError(p, "is a directory, not an audio file")
    try:
        size = p.stat().st_size
        with open(p, "rb") as handle:
            handle.read(1)
    except PermissionError as exc:
        raise AudioError(p, "permission denied") from exc
    except OSError as exc:
        raise AudioError(p, f"cannot read: {_reason(exc)}") from exc
    if size == 0:
        raise AudioError(p, "empty file (0 bytes)")
    try:
        container = av.open(str(p))
    except av.error.FFmpegError as exc:
        raise AudioError(p, f"not a recognised audio file ({_reason(exc)})") from exc
    with container:
        if not container.streams.audio:
            raise AudioError(p, "no audio stream in the file")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        sample_rate = int(ctx.sample_rate or 0)
        channels = int(ctx.channels or 0) if hasattr(ctx, "channels") else 0
        if not channels and ctx.layout is not None:
            channels = len(ctx.layout.channels)
        if sample_rate <= 0 or channels <= 0:
            raise AudioError(p, "audio stream has no sample rate or channel count")
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        metadata: dict[str, str] = {}
        with contextlib.suppress(Exception):
            metadata = {
                str(k).lower(): str(v) for k, v in {**container.metadata, **stream.metadata}.items()
            }
        info = AudioInfo(
            format=container.format.name if container.format else None,
            codec=ctx.codec.name if ctx.codec else None,
            duration=round(duration, 3) if duration and duration > 0 else None,
            sample_rate=sample_rate,
            channels=channels,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
            metadata=metadata,
        )
    return AudioSource(p, info)
