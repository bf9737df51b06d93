"""Streaming frames: cut a chunked signal into the frames a whole-signal framing would give,
and collect per-chunk results without fragmenting memory."""

from __future__ import annotations

import contextlib
import math
import mmap

import numpy as np


class FrameStream:
    """Cuts a streamed signal into centred, overlapping frames (zero padding of n_fft // 2 at
    both ends), yielding exactly the frames a whole-signal framing would."""

    def __init__(self, n_fft: int, hop_length: int) -> None:
        self.n_fft = n_fft
        self.hop = hop_length
        self._buf = np.zeros(n_fft // 2, np.float32)
        self._emitted = 0
        self._n_samples = 0

    def push(self, x: np.ndarray, *, final: bool = False) -> np.ndarray:
        """Add samples; return the frames now complete, shape (n, n_fft).

        The frames are a read-only view into the stream's buffer (each sample once, not
        ``n_fft / hop_length`` times), which later pushes leave untouched.
        """
        self._n_samples += x.shape[0]
        self._buf = np.concatenate([self._buf, x.astype(np.float32, copy=False)])
        if final:
            target = 1 + self._n_samples // self.hop
            need = (target - self._emitted - 1) * self.hop + self.n_fft
            if self._buf.shape[0] < need:
                self._buf = np.concatenate(
                    [self._buf, np.zeros(need - self._buf.shape[0], np.float32)]
                )
            n_new = max(target - self._emitted, 0)
        else:
            n_new = max((self._buf.shape[0] - self.n_fft) // self.hop + 1, 0)
        if n_new == 0:
            return np.zeros((0, self.n_fft), np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(self._buf, self.n_fft)[:: self.hop]
        frames = frames[:n_new]
        self._emitted += n_new
        self._buf = self._buf[n_new * self.hop :]
        return frames


class FrameStore:
    """The frames of one float32 feature (shape ``lead_shape + (n,)``), appended chunk by chunk
    and joined into one contiguous array at the end.

    Frames are copied into fixed-size blocks of anonymous memory (``mmap``) rather than kept as
    one small array per chunk. Small arrays are carved from the C heap between the front end's
    short-lived temporaries, and the heap cannot give their space back to the system once they
    are freed: an hour-long file used to leave ~200 MB of such holes behind. Memory-mapped
    blocks are returned whole when released. :meth:`join` copies the blocks into the final
    array (whose pages become resident only as they are written) and releases each block as
    soon as it is copied, so the frames exist about once throughout.
    """

    #: Bytes per block; a block's untouched pages are never resident.
    BLOCK_BYTES = 4 << 20

    def __init__(self, lead_shape: tuple[int, ...]) -> None:
        self.lead_shape = lead_shape
        self._rows = math.prod(lead_shape)
        self._capacity = max(1, self.BLOCK_BYTES // (4 * max(self._rows, 1)))
        self._blocks: list[np.ndarray] = []
        self._fill = 0
        self.n_frames = 0

    def append(self, values: np.ndarray) -> None:
        """Add frames, shape ``lead_shape + (m,)`` (cast to float32)."""
        m = values.shape[-1]
        cols = values.reshape(self._rows, m)
        done = 0
        while done < m:
            if not self._blocks or self._fill == self._capacity:
                self._blocks.append(_anonymous_float32((self._rows, self._capacity)))
                self._fill = 0
            k = min(m - done, self._capacity - self._fill)
            self._blocks[-1][:, self._fill : self._fill + k] = cols[:, done : done + k]
            self._fill += k
            done += k
        self.n_frames += m

    def join(self) -> np.ndarray:
        """All frames as one C-contiguous float32 array; empties the store.

        The result lives in its own memory map too (see :func:`_anonymous_float32`): numpy
        asks for huge pages on large arrays, and filling one block of columns would then make
        the whole array resident at once, before the blocks it replaces are released.
        """
        n = self.n_frames
        if n == 0:
            return np.zeros((*self.lead_shape, 0), np.float32)
        out = _anonymous_float32((self._rows, n))
        start = 0
        while self._blocks:
            block = self._blocks.pop(0)
            k = min(self._capacity, n - start)
            out[:, start : start + k] = block[:, :k]
            start += k
            del block  # the last reference: its memory goes back to the system now
        self._fill = self.n_frames = 0
        return out.reshape(*self.lead_shape, n)


_PRIVATE_MAP: dict[str, int] = {"flags": mmap.MAP_PRIVATE} if hasattr(mmap, "MAP_PRIVATE") else {}


def _anonymous_float32(shape: tuple[int, int]) -> np.ndarray:
    """A zero-filled float32 array in its own anonymous memory map (ordinary pages, resident
    only once written), unmapped when the last view of it is freed.

    The map is private where the platform has the choice (Python's default on Unix is a
    shared map, whose pages a forked child would write through to this process), and opts out
    of transparent huge pages: with 2 MB pages, writing a few columns of every row would make
    the whole array resident at once.
    """
    buffer = mmap.mmap(-1, 4 * shape[0] * shape[1], **_PRIVATE_MAP)
    if hasattr(mmap, "MADV_NOHUGEPAGE"):
        with contextlib.suppress(OSError):  # kernels without huge pages reject the advice
            buffer.madvise(mmap.MADV_NOHUGEPAGE)
    return np.frombuffer(buffer, dtype=np.float32).reshape(shape)
