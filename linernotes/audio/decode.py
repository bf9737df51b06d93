"""Streaming audio decoding: FFmpeg first (PyAV, FFmpeg's codecs bundled in the wheel; no
system ffmpeg), libsndfile second (:mod:`linernotes.audio.sndfile_decode`).

:func:`open_audio` checks the file and reads its container facts; :meth:`AudioSource.chunks`
then yields float32 blocks of a few seconds, so an hour-long file never sits in memory whole.
When FFmpeg cannot open a file, or opens it but decodes no audio from it, libsndfile reads it
instead: some files that common players read (an Ogg/Vorbis header FFmpeg's demuxer rejects)
would otherwise drop out of a dataset. The :class:`~linernotes.models.decode.DecodeReport`
names the decoder that read the file and FFmpeg's reason for refusing it. Decoding problems
become an :class:`AudioError` that names the file and the reason (both decoders' reasons when
both refuse), or, when part of the file decoded before the damage, a report marked
``truncated``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path

import av
import av.logging
import numpy as np

from linernotes.audio.info import AudioInfo
from linernotes.audio.sndfile_decode import SndfileRefused, sndfile_blocks, sndfile_info
from linernotes.audio.tags import declared_duration
from linernotes.errors import AudioError
from linernotes.fileio import StrPath
from linernotes.models.decode import FFMPEG, LIBSNDFILE, DecodeReport

av.logging.set_level(av.logging.PANIC)

#: Seconds of audio in each chunk handed to the analysis front end.
CHUNK_SECONDS = 10.0
#: A decoded length this much shorter than the container's stated length marks truncation.
TRUNCATION_TOLERANCE_S = 0.5


class _FfmpegRefused(Exception):
    """FFmpeg cannot open the file or decodes no audio from it: ``headline`` is the user's
    one-line reason, ``reason`` FFmpeg's own."""

    def __init__(self, headline: str, reason: str) -> None:
        super().__init__(reason)
        self.headline = headline
        self.reason = reason


class AudioSource:
    """An opened audio file; iterate :meth:`chunks` once to decode it."""

    def __init__(
        self, path: Path, info: AudioInfo, *, decoder: str = FFMPEG, ffmpeg_error: str | None = None
    ) -> None:
        self.path = path
        self.info = info
        self.report = DecodeReport(decoder=decoder, ffmpeg_error=ffmpeg_error)

    def chunks(self, chunk_seconds: float = CHUNK_SECONDS) -> Iterator[np.ndarray]:
        """Yield consecutive (channels, n) float32 arrays at the native rate.

        FFmpeg decodes first; when it yields no audio at all, libsndfile decodes the file
        instead (with the same rate and channel count, or an :class:`AudioError`). Decoding
        stops at the first unrecoverable error; what was decoded before it is kept and
        :attr:`report` says the file is truncated. An error before any audio decoded, from
        both decoders, raises :class:`AudioError`.
        """
        target = max(1, int(chunk_seconds * self.info.sample_rate))
        n_total = 0
        if self.report.decoder == FFMPEG:
            try:
                for block in self._ffmpeg_blocks(target):
                    n_total += block.shape[1]
                    yield block
            except _FfmpegRefused as refusal:
                self._switch_to_sndfile(refusal)
        if self.report.decoder == LIBSNDFILE:
            for block in self._sndfile_blocks(target):
                n_total += block.shape[1]
                yield block
        self._check_length(n_total)

    def _ffmpeg_blocks(self, target: int) -> Iterator[np.ndarray]:
        info = self.info
        pending: list[np.ndarray] = []
        n_pending = 0
        n_total = 0
        resampler = av.AudioResampler(format="fltp", layout=None, rate=info.sample_rate)
        try:
            container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as exc:
            raise _FfmpegRefused("corrupt audio data", f"cannot reopen: {_reason(exc)}") from exc
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
                    raise _FfmpegRefused("corrupt audio data", _reason(exc)) from exc
                self.report.truncated = True
                self.report.warnings.append(f"decoding stopped early: {_reason(exc)}")
        if pending:
            block = np.concatenate(pending, axis=1)
            n_total += block.shape[1]
            yield block
        if n_total == 0:
            raise _FfmpegRefused("no decodable audio in the file", "decoded no audio")

    def _switch_to_sndfile(self, refusal: _FfmpegRefused) -> None:
        """Hand decoding to libsndfile after FFmpeg decoded nothing; its facts replace
        FFmpeg's, which must agree on the rate and channels the caller already holds."""
        try:
            info = sndfile_info(self.path)
        except SndfileRefused as exc:
            raise _both_refused(self.path, refusal, str(exc)) from exc
        if (info.sample_rate, info.channels) != (self.info.sample_rate, self.info.channels):
            raise _both_refused(self.path, refusal, (
                f"reads {info.channels} channels at {info.sample_rate} Hz where FFmpeg's header "
                f"says {self.info.channels} at {self.info.sample_rate} Hz"))  # fmt: skip
        info.metadata = {**info.metadata, **self.info.metadata}
        self.info = info
        self.report = DecodeReport(decoder=LIBSNDFILE, ffmpeg_error=refusal.reason)

    def _sndfile_blocks(self, target: int) -> Iterator[np.ndarray]:
        refusal = _FfmpegRefused("corrupt audio data", self.report.ffmpeg_error or "refused")
        n_total = 0
        try:
            for block in sndfile_blocks(self.path, target):
                n_total += block.shape[1]
                yield block
        except SndfileRefused as exc:
            if n_total == 0:
                raise _both_refused(self.path, refusal, str(exc)) from exc
            self.report.truncated = True
            self.report.warnings.append(f"decoding stopped early: {exc}")
        if n_total == 0:
            refusal.headline = "no decodable audio in the file"
            raise _both_refused(self.path, refusal, "decoded no audio")

    def _check_length(self, n_total: int) -> None:
        """Record the decoded length, and mark the file truncated when it falls short of
        what the container or the header declares."""
        decoded = n_total / self.info.sample_rate
        self.report.decoded_duration = round(decoded, 3)
        expected = max(self.info.duration or 0.0, declared_duration(self.path) or 0.0)
        if expected and decoded < expected - TRUNCATION_TOLERANCE_S:
            self.report.truncated = True
            self.report.warnings.append(
                f"decoded {decoded:.2f} s of the {expected:.2f} s the file declares"
            )


def _both_refused(path: Path, refusal: _FfmpegRefused, sndfile_reason: str) -> AudioError:
    """One line naming both decoders' reasons."""
    return AudioError(
        path, f"{refusal.headline} (FFmpeg: {refusal.reason}; libsndfile: {sndfile_reason})"
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
    """FFmpeg's message without the path, plus its last log line when it says more
    ("Invalid data found when processing input: Header processing failed")."""
    text = (getattr(exc, "strerror", None) or str(exc)).strip().rstrip(".")
    log = re.search(r"last error log: (?:\[[^\]]*\] )?(.+)$", str(exc))
    if log:
        detail = log.group(1).strip().removesuffix(f": {text}").rstrip(".")
        if detail not in text:
            text = f"{text}: {detail}"
    return text or type(exc).__name__


def open_audio(path: StrPath) -> AudioSource:
    """Check ``path`` and read its audio stream's facts, with FFmpeg or, when FFmpeg refuses
    the file, with libsndfile.

    Raises
    ------
    AudioError
        With a one-line reason: missing, unreadable, empty, not audio (both decoders'
        reasons), no audio stream.
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
        return AudioSource(p, _ffmpeg_info(p))
    except _FfmpegRefused as refusal:
        try:
            info = sndfile_info(p)
        except SndfileRefused as exc:
            raise _both_refused(p, refusal, str(exc)) from exc
        return AudioSource(p, info, decoder=LIBSNDFILE, ffmpeg_error=refusal.reason)


def _ffmpeg_info(p: Path) -> AudioInfo:
    """The audio stream's facts as FFmpeg reads them; :class:`_FfmpegRefused` when it cannot."""
    try:
        container = av.open(str(p))
    except av.error.FFmpegError as exc:
        raise _FfmpegRefused("not a recognised audio file", _reason(exc)) from exc
    with container:
        if not container.streams.audio:
            raise _FfmpegRefused("no audio stream in the file", "found no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        sample_rate = int(ctx.sample_rate or 0)
        channels = int(ctx.channels or 0) if hasattr(ctx, "channels") else 0
        if not channels and ctx.layout is not None:
            channels = len(ctx.layout.channels)
        if sample_rate <= 0 or channels <= 0:
            raise _FfmpegRefused(
                "audio stream has no sample rate or channel count",
                "found no sample rate or channel count",
            )
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
        return AudioInfo(
            format=container.format.name if container.format else None,
            codec=ctx.codec.name if ctx.codec else None,
            duration=round(duration, 3) if duration and duration > 0 else None,
            sample_rate=sample_rate,
            channels=channels,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
            metadata=metadata,
        )
