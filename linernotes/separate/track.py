"""Separate one audio file into stem FLAC files at its own sample rate, streaming.

Two decoding passes: the first measures the mix's mean and spread (Demucs normalises the
whole track by them before separating, and scales the stems back), the second streams the
audio to the model's rate, through :func:`~linernotes.separate.overlap.separate_stream`, back
to the original rate, into one FLAC per stem. Stems have the original sample rate and exactly
the original number of samples; mono mixes give mono stems, others stereo (a multichannel
mix is separated from its first two channels, as Demucs does). Samples are 24-bit where the
source has more than 16 bits, else 16-bit. Files are written under temporary names and renamed
only when every stem is complete, so an interruption leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from linernotes.audio.decode import open_audio
from linernotes.audio.sndfile_decode import sample_bits
from linernotes.fileio import temp_beside
from linernotes.separate.model import Separator
from linernotes.separate.overlap import separate_stream
from linernotes.separate.resample import StreamResampler

#: Share of each segment that overlaps the next (Demucs' default).
DEFAULT_OVERLAP = 0.25


@dataclass
class SeparatedTrack:
    """What :func:`separate_file` wrote."""

    stems: dict[str, Path]
    sample_rate: int
    channels: int
    duration_s: float


def _model_channels(block: np.ndarray, channels: int) -> np.ndarray:
    """The first ``channels`` channels, a mono block repeated (Demucs' channel conversion)."""
    if block.shape[0] >= channels:
        return block[:channels]
    return np.repeat(block[:1], channels, axis=0)


def mix_statistics(path: Path, channels: int) -> tuple[float, float, int]:
    """Mean and standard deviation of the mix's mono reference (the mean of the model's
    channels) and the file's length in samples, in one streaming pass."""
    total, sum1, sum2 = 0, 0.0, 0.0
    for block in open_audio(path).chunks():
        ref = _model_channels(block, channels).astype(np.float64).mean(axis=0)
        total += ref.size
        sum1 += float(ref.sum())
        sum2 += float(np.square(ref).sum())
    if total == 0:
        return 0.0, 1.0, 0
    mean = sum1 / total
    std = float(np.sqrt(max(sum2 / total - mean * mean, 0.0) * total / max(total - 1, 1)))
    return mean, (std if std > 1e-8 else 1.0), total


class _StemWriter:
    """One stem: model-rate blocks in, resampled, written to a temporary FLAC; exactly
    ``length`` samples at ``sample_rate`` once closed."""

    def __init__(
        self, target: Path, *, model_rate: int, sample_rate: int, channels: int, length: int,
        subtype: str,
    ) -> None:  # fmt: skip
        self.target = target
        self.channels = channels
        self.length = length
        self.written = 0
        self.resampler = StreamResampler(model_rate, sample_rate, channels=2)
        fd, tmp = temp_beside(target, suffix=".tmp")  # the stem follows the umask
        os.close(fd)
        self.tmp = Path(tmp)
        self.file = soundfile.SoundFile(
            tmp, "w", samplerate=sample_rate, channels=channels, subtype=subtype, format="FLAC"
        )

    def write(self, block: np.ndarray) -> None:
        out = block if self.channels == 2 else block.mean(axis=0, keepdims=True)
        out = out[:, : max(0, self.length - self.written)]
        if out.shape[1]:
            self.file.write(np.clip(out, -1.0, 1.0).T)
            self.written += out.shape[1]

    def push(self, block: np.ndarray) -> None:
        self.write(self.resampler.push(block))

    def finish(self) -> None:
        self.write(self.resampler.flush())
        if self.written < self.length:
            self.write(np.zeros((2, self.length - self.written), np.float32))
        self.file.close()
        with open(self.tmp, "rb") as handle:
            os.fsync(handle.fileno())

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.file.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def separate_file(
    path: Path,
    separator: Separator,
    folder: Path,
    *,
    overlap: float = DEFAULT_OVERLAP,
    batch: int = 1,
    on_progress: Callable[[float, float], None] | None = None,
) -> SeparatedTrack:
    """Separate ``path`` into ``folder/<source>.flac`` (see the module docstring).

    ``on_progress`` is called with the seconds of audio separated so far and the track's.

    Raises
    ------
    linernotes.errors.AudioError
        The file cannot be decoded.
    """
    source = open_audio(path)
    info = source.info
    sample_rate, channels = info.sample_rate, 1 if info.channels == 1 else 2
    mean, std, length = mix_statistics(path, separator.channels)
    model_rate = separator.samplerate
    folder.mkdir(parents=True, exist_ok=True)
    subtype = "PCM_24" if (sample_bits(path) or 16) > 16 else "PCM_16"
    writers: dict[str, _StemWriter] = {}
    try:
        for name in separator.sources:
            writers[name] = _StemWriter(folder / f"{name}.flac", model_rate=model_rate,
                                        sample_rate=sample_rate, channels=channels,
                                        length=length, subtype=subtype)  # fmt: skip
        blocks = _model_rate_blocks(open_audio(path).chunks(), sample_rate, model_rate,
                                    separator.channels)  # fmt: skip

        def run(segments: np.ndarray) -> np.ndarray:
            return separator((segments - mean) / std) * std + mean

        done = 0
        for out in separate_stream(
            blocks,
            run,
            segment=max(1, int(separator.segment_s * model_rate)),
            n_sources=len(separator.sources),
            channels=separator.channels,
            overlap=overlap,
            batch=batch,
        ):
            for k, name in enumerate(separator.sources):
                writers[name].push(out[k])
            done += out.shape[-1]
            if on_progress is not None:
                on_progress(done / model_rate, length / sample_rate)
        for writer in writers.values():
            writer.finish()
        for writer in writers.values():
            os.replace(writer.tmp, writer.target)
    finally:
        for writer in writers.values():
            if writer.tmp.exists():
                writer.discard()
    return SeparatedTrack(
        stems={name: w.target for name, w in writers.items()},
        sample_rate=sample_rate,
        channels=channels,
        duration_s=length / sample_rate if sample_rate else 0.0,
    )


def _model_rate_blocks(
    chunks: Iterator[np.ndarray], sample_rate: int, model_rate: int, channels: int
) -> Iterator[np.ndarray]:
    resampler = StreamResampler(sample_rate, model_rate, channels=channels)
    for block in chunks:
        out = resampler.push(_model_channels(block, channels))
        if out.shape[1]:
            yield out
    tail = resampler.flush()
    if tail.shape[1]:
        yield tail
