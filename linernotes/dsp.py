"""Signal-processing building blocks for the streaming front end.

Filterbanks and per-frame descriptors are pure functions; :class:`FrameStream` and
:class:`LoudnessAccumulator` hold just enough state to process a signal chunk by chunk with
results identical to processing it whole, and :class:`FrameStore` collects the per-chunk results
without fragmenting memory.
"""

from __future__ import annotations

import contextlib
import math
import mmap
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal
import scipy.sparse

#: Sample level treated as clipped (about -0.009 dBFS).
CLIP_LEVEL = 0.999
#: Loudness sub-block length in seconds (BS.1770 gating blocks are four of these).
LOUDNESS_BLOCK_S = 0.1


def hz_to_mel(freq: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (as librosa's default)."""
    f = np.asarray(freq, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    mel = f / f_sp
    return np.where(
        f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, mel
    )


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Area-normalised triangular mel filters, shape (n_mels, n_fft // 2 + 1), float32."""
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    mel_pts = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(min(fmax, sr / 2)), n_mels + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:] - mel_pts[:-2]))[:, None]
    return weights.astype(np.float32)


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def pitch_filterbank(
    sr: int, n_fft: int, bin_midi: np.ndarray, bins_per_semitone: int
) -> scipy.sparse.csr_matrix:
    """Sparse map from STFT magnitude bins to log-frequency pitch bins.

    Each pitch bin is a triangle centred on its frequency, half as wide as the spacing of the
    pitch bins, but never narrower than one STFT bin so that low pitches still receive energy.
    """
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    df = fft_freqs[1]
    centres = midi_to_hz(bin_midi)
    widths = np.maximum(centres * (2.0 ** (1.0 / (12 * bins_per_semitone)) - 1.0), df)
    rows, cols, vals = [], [], []
    for j, (fc, w) in enumerate(zip(centres, widths, strict=True)):
        lo = int(np.floor((fc - w) / df))
        hi = int(np.ceil((fc + w) / df))
        k = np.arange(max(lo, 0), min(hi, len(fft_freqs) - 1) + 1)
        wt = np.maximum(0.0, 1.0 - np.abs(fft_freqs[k] - fc) / w)
        keep = wt > 0
        rows.extend([j] * int(keep.sum()))
        cols.extend(k[keep].tolist())
        vals.extend(wt[keep].tolist())
    return scipy.sparse.csr_matrix(
        (np.asarray(vals, np.float32), (rows, cols)), shape=(len(centres), len(fft_freqs))
    )


def spectral_frame_features(
    frames: np.ndarray, spec: np.ndarray, mel_db: np.ndarray, params
) -> dict[str, np.ndarray]:
    """Per-frame timbre descriptors from time frames (n, n_fft) and magnitudes (n, bins)."""
    sr, n_fft = params.sr, params.n_fft
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr).astype(np.float32)
    total = spec.sum(axis=1) + 1e-10
    centroid = spec @ freqs / total
    spread = spec @ (freqs**2) / total - centroid**2
    bandwidth = np.sqrt(np.maximum(spread, 0.0))
    cumulative = np.cumsum(spec, axis=1)
    rolloff_idx = np.argmax(cumulative >= 0.85 * cumulative[:, -1:], axis=1)
    rolloff = freqs[rolloff_idx]
    power = spec * spec + np.float32(1e-10)
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    signs = np.signbit(frames)
    zcr = np.mean(signs[:, 1:] != signs[:, :-1], axis=1)
    contrast = spectral_contrast(spec, freqs)
    mfcc = scipy.fft.dct(mel_db, type=2, norm="ortho", axis=0)[: params.n_mfcc]
    return {
        "centroid": centroid.astype(np.float32),
        "bandwidth": bandwidth.astype(np.float32),
        "rolloff": rolloff.astype(np.float32),
        "flatness": flatness.astype(np.float32),
        "zcr": zcr.astype(np.float32),
        "contrast": contrast.astype(np.float32),
        "mfcc": mfcc.astype(np.float32),
    }


def spectral_contrast(
    spec: np.ndarray,
    freqs: np.ndarray,
    fmin: float = 200.0,
    n_bands: int = 6,
    quantile: float = 0.02,
) -> np.ndarray:
    """Octave-band peak/valley contrast in dB, shape (n_bands + 1, n_frames)."""
    edges = np.zeros(n_bands + 2)
    edges[1:] = fmin * 2.0 ** np.arange(n_bands + 1)
    out = np.zeros((n_bands + 1, spec.shape[0]))
    for band in range(n_bands + 1):
        lo, hi = edges[band], edges[band + 1]
        sel = (freqs >= lo) & (freqs <= hi) if band < n_bands else freqs >= lo
        width = int(sel.sum())
        if width == 0:
            continue
        k = max(1, round(quantile * width))
        sub = np.sort(spec[:, sel], axis=1)
        valley = sub[:, :k].mean(axis=1)
        peak = sub[:, -k:].mean(axis=1)
        out[band] = 10.0 * (np.log10(peak**2 + 1e-10) - np.log10(valley**2 + 1e-10))
    return out


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
        clipped = x >= CLIP_LEVEL
        clipped |= x <= -CLIP_LEVEL
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
        )
