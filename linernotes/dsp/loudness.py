"""Native-rate loudness blocks: K-weighted and raw block powers, peaks (4x oversampled true
peak), clipping (flat tops near full scale and decoded overs), DC and the stereo cross term,
streamed chunk by chunk (ITU-R BS.1770-4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.signal

from linernotes.dsp.frames import FrameStore

#: Sample level treated as clipped in the raw signal (about -0.009 dBFS).
CLIP_LEVEL = 0.999
#: Level of a flat top near full scale (about -0.18 dBFS), judged on the signal low-passed at
#: :data:`FLAT_TOP_LOWPASS_HZ`. A lossy codec removes what lies above its cut-off, which turns
#: a clipped plateau at exactly 1.0 into a ripple around it (some samples over full scale,
#: others below 0.999); low-passing every signal the same way first makes a clipped file and
#: its lossy copy read alike, while an unclipped signal that merely touches full scale stays
#: below this level for fewer samples in a row.
FLAT_TOP_LEVEL = 0.98
FLAT_TOP_LOWPASS_HZ = 11000.0
#: Loudness sub-block length in seconds (BS.1770 gating blocks are four of these).
LOUDNESS_BLOCK_S = 0.1


def k_weighting_sos(sr: int) -> np.ndarray:
    """BS.1770 K-weighting (high shelf + high pass) as second-order sections for any rate.

    The analogue prototypes' parameters are those used by libebur128, so that 48 kHz gives the
    coefficients printed in the recommendation and other rates match it.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sr)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ]
    shelf_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sr)
    a0 = 1.0 + k / q + k * k
    hp_b = [1.0, -2.0, 1.0]
    hp_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf_b + shelf_a, hp_b + hp_a])


def _true_peak_kernel(oversample: int, half_taps: int = 12) -> np.ndarray:
    """Polyphase interpolation kernels, shape (oversample - 1, 2 * half_taps): phase p gives
    the value at fractional position p / oversample between samples."""
    kernels = []
    n = np.arange(-half_taps + 1, half_taps + 1)
    window = np.kaiser(2 * half_taps, 8.0)
    for p in range(1, oversample):
        frac = p / oversample
        kernels.append(np.sinc(n - frac) * window)
    return np.array(kernels)


@dataclass
class LoudnessBlocks:
    """Native-rate measurements in 100 ms blocks, per channel.

    ``kw_power`` and ``power`` are mean squares of the K-weighted and raw signal, shape
    (channels, n_blocks); ``cross`` is the mean of left*right per block (stereo and up), ``None``
    for mono. Peaks and counts cover the whole signal, partial last block included.
    """

    sr: int
    channels: int
    block_size: int
    kw_power: np.ndarray
    power: np.ndarray
    cross: np.ndarray | None
    block_peak: np.ndarray
    sample_peak: np.ndarray
    true_peak: np.ndarray
    clipped_samples: np.ndarray
    longest_clip_run: int
    dc_offset: np.ndarray
    n_samples: int
    over_samples: int = 0
    """Decoded samples beyond full scale (|x| > 1: a lossy decode of a clipped or too hot
    master)."""


class LoudnessAccumulator:
    """Streams a native-rate signal into :class:`LoudnessBlocks`."""

    def __init__(self, sr: int, channels: int) -> None:
        self.sr = sr
        self.channels = channels
        self.block = max(1, round(sr * LOUDNESS_BLOCK_S))
        self.sos = k_weighting_sos(sr).astype(np.float32)
        self.zi = np.zeros((self.sos.shape[0], channels, 2), np.float32)
        self.oversample = 4 if sr < 96000 else (2 if sr < 192000 else 1)
        self.kernel = _true_peak_kernel(self.oversample).astype(np.float32)
        self.half = self.kernel.shape[1] // 2
        self._tail = np.zeros((channels, 0), np.float32)
        self._tp_tail = np.zeros((channels, self.half - 1), np.float32)
        self._kw_rest = np.zeros((channels, 0), np.float32)
        self._raw_rest = np.zeros((channels, 0), np.float32)
        self._stores = {
            "kw": FrameStore((channels,)),
            "raw": FrameStore((channels,)),
            "cross": FrameStore(()),
            "peak": FrameStore(()),
        }
        self.sample_peak = np.zeros(channels)
        self.true_peak = np.zeros(channels)
        self.clipped = np.zeros(channels, np.int64)
        self.overs = 0
        cutoff = min(FLAT_TOP_LOWPASS_HZ, 0.4 * sr)
        self.flat_sos = scipy.signal.butter(4, cutoff, fs=sr, output="sos").astype(np.float32)
        self.flat_zi = np.zeros((self.flat_sos.shape[0], channels, 2), np.float32)
        self.run = 0
        self.longest_run = 0
        self.dc_sum = np.zeros(channels)
        self.n = 0

    def push(self, x: np.ndarray) -> None:
        """Add a (channels, n) float32 chunk."""
        self.n += x.shape[1]
        self.dc_sum += x.sum(axis=1, dtype=np.float64)
        # |x| without a full-size float copy of the chunk: the peak from max and min, clipping
        # from two comparisons (every large temporary per chunk costs page faults when the
        # freed memory has gone back to the system)
        self.sample_peak = np.maximum(self.sample_peak, np.maximum(x.max(axis=1), -x.min(axis=1)))
        over = x > 1.0
        over |= x < -1.0
        self.overs += int(over.sum())
        # flat tops near full scale, judged after the low-pass every lossy copy has had
        smooth, self.flat_zi = scipy.signal.sosfilt(self.flat_sos, x, axis=1, zi=self.flat_zi)
        clipped = smooth >= FLAT_TOP_LEVEL
        clipped |= smooth <= -FLAT_TOP_LEVEL
        clipped |= over
        del smooth, over
        self._count_clipping(clipped)
        del clipped
        kw, self.zi = scipy.signal.sosfilt(self.sos, x, axis=1, zi=self.zi)
        self._add_blocks(kw.astype(np.float32, copy=False), x)
        self._update_true_peak(x, final=False)

    def _count_clipping(self, clipped: np.ndarray) -> None:
        """Count clipped samples (``clipped`` marks them, shape (channels, n)) and runs."""
        self.clipped += clipped.sum(axis=1)
        any_clip = clipped.any(axis=0)
        if not any_clip.any():
            self.run = 0
            return
        # run lengths of consecutive clipped positions, continuing the run from the last chunk
        padded = np.concatenate([[False], any_clip, [False]])
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        starts, ends = edges[::2], edges[1::2]
        lengths = ends - starts
        if starts[0] == 0:
            lengths[0] += self.run
        self.longest_run = max(self.longest_run, int(lengths.max()))
        self.run = int(lengths[-1]) if ends[-1] == any_clip.shape[0] else 0

    def _add_blocks(self, kw: np.ndarray, raw: np.ndarray) -> None:
        kw = np.concatenate([self._kw_rest, kw], axis=1)
        raw = np.concatenate([self._raw_rest, raw], axis=1)
        n_blocks = kw.shape[1] // self.block
        used = n_blocks * self.block
        self._kw_rest, self._raw_rest = kw[:, used:], raw[:, used:]
        if n_blocks == 0:
            return
        shape = (self.channels, n_blocks, self.block)
        kwb = kw[:, :used].reshape(shape)
        rawb = raw[:, :used].reshape(shape)
        # float32 sums of one block (<= 19200 samples) stay accurate to about 1e-6
        self._stores["kw"].append(np.einsum("cbn,cbn->cb", kwb, kwb) / self.block)
        self._stores["raw"].append(np.einsum("cbn,cbn->cb", rawb, rawb) / self.block)
        self._stores["peak"].append(np.maximum(rawb.max(axis=(0, 2)), -rawb.min(axis=(0, 2))))
        if self.channels >= 2:
            self._stores["cross"].append(np.einsum("bn,bn->b", rawb[0], rawb[1]) / self.block)

    def _update_true_peak(self, x: np.ndarray, *, final: bool) -> None:
        """Inter-sample peaks by polyphase interpolation, evaluated only between samples where
        the signal is within 3 dB of the running peak (band-limited overshoot between samples
        stays below that, so elsewhere it cannot exceed the peak)."""
        if self.oversample == 1:
            self.true_peak = np.maximum(self.true_peak, self.sample_peak)
            return
        h = self.half
        buf = np.concatenate([self._tp_tail, x], axis=1)
        if final:
            buf = np.concatenate([buf, np.zeros((self.channels, h), np.float32)], axis=1)
        # interpolate between buf[i] and buf[i + 1] for i in [lo, hi): full kernel context
        lo, hi = h - 1, buf.shape[1] - h
        if hi <= lo:
            self._tp_tail = buf
            self.true_peak = np.maximum(self.true_peak, self.sample_peak)
            return
        self._tp_tail = buf[:, hi - (h - 1) :]
        threshold = 0.7 * self.sample_peak.max()
        for c in range(self.channels):
            seg = buf[c]
            a = np.abs(seg)
            cand = np.flatnonzero(np.maximum(a[lo:hi], a[lo + 1 : hi + 1]) >= threshold) + lo
            if cand.size == 0:
                continue
            for start in range(0, cand.size, 65536):
                idx = cand[start : start + 65536]
                windows = seg[idx[:, None] + np.arange(-h + 1, h + 1)[None, :]]
                values = np.abs(windows @ self.kernel.T)
                self.true_peak[c] = max(self.true_peak[c], float(values.max()))
        self.true_peak = np.maximum(self.true_peak, self.sample_peak)

    def finish(self) -> LoudnessBlocks:
        self._update_true_peak(np.zeros((self.channels, 0), np.float32), final=True)

        def stack(name: str, rows: int) -> np.ndarray:
            store = self._stores[name]
            if not store.n_frames:
                return np.zeros((rows, 0)) if rows else np.zeros(0)
            return store.join()

        return LoudnessBlocks(
            sr=self.sr,
            channels=self.channels,
            block_size=self.block,
            kw_power=stack("kw", self.channels),
            power=stack("raw", self.channels),
            cross=stack("cross", 0) if self.channels >= 2 else None,
            block_peak=stack("peak", 0),
            sample_peak=self.sample_peak.copy(),
            true_peak=self.true_peak.copy(),
            clipped_samples=self.clipped.copy(),
            longest_clip_run=self.longest_run,
            dc_offset=self.dc_sum / max(self.n, 1),
            n_samples=self.n,
            over_samples=self.overs,
        )
