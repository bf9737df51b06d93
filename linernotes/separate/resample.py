"""Streaming sample-rate conversion with FFmpeg's resampler (PyAV), block in, block out."""

from __future__ import annotations

import av
import numpy as np

from linernotes.audio.encode import CHANNEL_LAYOUTS


class StreamResampler:
    """Convert consecutive (channels, n) float32 blocks from ``in_rate`` to ``out_rate``.

    Feed blocks with :meth:`push` and finish with :meth:`flush`; the concatenated output has
    ``round(n_in * out_rate / in_rate)`` samples (the tail padded or trimmed to that), so a
    stream converted there and back keeps its length. At equal rates blocks pass through.

    Examples
    --------
    >>> r = StreamResampler(48000, 44100, channels=2)
    >>> out = [r.push(np.zeros((2, 4800), np.float32)) for _ in range(10)] + [r.flush()]
    >>> sum(o.shape[1] for o in out)
    44100
    """

    def __init__(self, in_rate: int, out_rate: int, *, channels: int) -> None:
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        self.channels = channels
        self.layout = CHANNEL_LAYOUTS[channels]
        self.n_in = 0
        self.n_out = 0
        self._resampler = (
            None
            if self.in_rate == self.out_rate
            else av.AudioResampler(format="fltp", layout=self.layout, rate=self.out_rate)
        )

    def push(self, block: np.ndarray) -> np.ndarray:
        """Resample one block; returns what the resampler has ready (maybe nothing)."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        if block.shape[1] == 0:
            return block
        self.n_in += block.shape[1]
        if self._resampler is None:
            self.n_out += block.shape[1]
            return block
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=self.layout)
        frame.sample_rate = self.in_rate
        frame.pts = self.n_in - block.shape[1]
        return self._take(self._resampler.resample(frame), final=False)

    def flush(self) -> np.ndarray:
        """The resampler's remaining output, cut or padded to the exact total length."""
        if self._resampler is None:
            return np.zeros((self.channels, 0), np.float32)
        return self._take(self._resampler.resample(None), final=True)

    def _take(self, frames: list, *, final: bool) -> np.ndarray:
        parts = [f.to_ndarray().reshape(self.channels, -1) for f in frames]
        out = np.concatenate(parts, axis=1) if parts else np.zeros((self.channels, 0))
        out = out.astype(np.float32, copy=False)
        expected = round(self.n_in * self.out_rate / self.in_rate)
        room = max(0, expected - self.n_out)
        if out.shape[1] > room:
            out = out[:, :room]
        if final and out.shape[1] < room:
            out = np.pad(out, ((0, 0), (0, room - out.shape[1])))
        self.n_out += out.shape[1]
        return out
