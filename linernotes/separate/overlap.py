"""Separation of an unbounded stream in overlapping segments, blended with Demucs' weights.

Demucs' ``apply_model(split=True)`` holds the whole track and its stems in memory; here the
same segmentation runs on a stream: segments of ``segment`` samples start every
``stride = (1 - overlap) * segment`` samples, each segment's estimate is weighted by a
triangle peaking at its middle (Demucs' ``transition_power=1``), and a sample is final, and
yielded, as soon as no later segment can reach it. Memory is a few segments, whatever the
length of the stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

#: Separates a batch of segments: (batch, channels, segment) -> (batch, sources, channels,
#: segment).
SegmentFn = Callable[[np.ndarray], np.ndarray]


def segment_weight(segment: int) -> np.ndarray:
    """Demucs' blending weight: a triangle 1..peak..1 normalised to a maximum of 1.

    Examples
    --------
    >>> segment_weight(4).tolist()
    [0.5, 1.0, 1.0, 0.5]
    """
    half = segment // 2
    weight = np.concatenate([np.arange(1, half + 1), np.arange(segment - half, 0, -1)])
    return (weight / weight.max()).astype(np.float32)


def separate_stream(
    blocks: Iterable[np.ndarray],
    separate: SegmentFn,
    *,
    segment: int,
    n_sources: int,
    channels: int,
    overlap: float = 0.25,
    batch: int = 1,
) -> Iterator[np.ndarray]:
    """Separate a stream of (channels, n) blocks; yields (sources, channels, n) blocks whose
    concatenation is as long as the input.

    Segments start at ``0, stride, 2 * stride...`` for every start inside the stream; the last
    ones are zero-padded to ``segment``. ``batch`` segments go to ``separate`` at a time
    (more is faster on a GPU and costs ``batch`` segments of memory).
    """
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must be in [0, 1), not {overlap}")
    stride = max(1, int((1.0 - overlap) * segment))
    weight = segment_weight(segment)
    acc = np.zeros((n_sources, channels, segment + stride * batch), np.float32)
    wsum = np.zeros(segment + stride * batch, np.float32)
    pending = np.zeros((channels, 0), np.float32)  # input from offset `start` on
    start = 0  # stream position of pending[:, 0], of acc[..., 0], of the next segment
    total = 0
    ended = False
    source = iter(blocks)
    while True:
        need = stride * (batch - 1) + segment
        while not ended and pending.shape[1] < need:
            try:
                block = np.asarray(next(source), dtype=np.float32)
            except StopIteration:
                ended = True
                break
            total += block.shape[1]
            pending = np.concatenate([pending, block], axis=1)
        available = pending.shape[1]
        if available == 0 or (ended and start >= total):
            break
        # Segments starting inside the stream, at most `batch`; all full unless it ended.
        count = min(batch, -(-available // stride)) if ended else batch
        segs = np.zeros((count, channels, segment), np.float32)
        for i in range(count):
            piece = pending[:, i * stride : i * stride + segment]
            segs[i, :, : piece.shape[1]] = piece
        estimates = np.asarray(separate(segs), dtype=np.float32)
        for i in range(count):
            lo = i * stride
            acc[..., lo : lo + segment] += weight * estimates[i]
            wsum[lo : lo + segment] += weight
        done = count * stride if not ended or count * stride < available else available
        done = min(done, available)
        yield acc[..., :done] / wsum[:done]
        acc = np.concatenate([acc[..., done:], np.zeros_like(acc[..., :done])], axis=-1)
        wsum = np.concatenate([wsum[done:], np.zeros_like(wsum[:done])])
        pending = pending[:, done:]
        start += done
        if ended and pending.shape[1] == 0:
            break
