"""Native-rate long-term spectrum: the view of the signal above 11 kHz that the 22.05 kHz front
end never sees.

:class:`SpectrumAccumulator` streams the native-rate chunks, Fourier-transforms one
4096-sample frame out of every ``stride`` (a small fraction of the samples, so it costs far
less than the rest of the front end) and keeps the long-term average power spectrum plus
per-frame powers in third-octave bands. The quality detectors read bandwidth and noise floor
from the result (:mod:`linernotes.quality.spectrum`).

Examples
--------
>>> import numpy as np
>>> sr = 44100
>>> rng = np.random.default_rng(0)
>>> acc = SpectrumAccumulator(sr, 2)
>>> acc.push(rng.standard_normal((2, sr * 5)).astype(np.float32) * 0.1)
>>> spec = acc.finish()
>>> spec.n_frames, round(float(spec.ltas.sum() * 100), 1)  # mean square of 0.1 noise: 0.01
(14, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft


@dataclass
class NativeSpectrum:
    """What :class:`SpectrumAccumulator` measured.

    ``ltas`` is the mean power per FFT bin, averaged over channels, scaled so that its sum is
    the mean square of a channel (a full-scale sine sums to 0.5); ``band_power`` holds the
    power in the third-octave bands between ``band_edges_hz`` of each quarter of every
    analysed frame, shape (n_bands, 4 * n_frames), in the same units.
    """

    sr: int
    n_fft: int
    ltas: np.ndarray
    band_edges_hz: np.ndarray
    band_power: np.ndarray
    n_frames: int

    @property
    def freqs(self) -> np.ndarray:
        return np.fft.rfftfreq(self.n_fft, 1.0 / self.sr)


def third_octave_edges(sr: int, fmin: float = 50.0) -> np.ndarray:
    """Band edges ``fmin * 2**(k/3)`` up to the Nyquist frequency (which closes the last band)."""
    nyquist = sr / 2
    n = int(np.floor(3 * np.log2(nyquist / fmin)))
    edges = fmin * 2.0 ** (np.arange(n + 1) / 3)
    edges = edges[edges < nyquist * 0.999]
    return np.append(edges, nyquist)


class SpectrumAccumulator:
    """Streams native-rate chunks into a :class:`NativeSpectrum`.

    Parameters
    ----------
    sr, channels : int
        Native rate and channel count of the chunks (channel powers are averaged).
    n_fft : int
        Frame length (4096 gives 10.8 Hz bins at 44.1 kHz).
    stride : int
        Analyse one frame out of every ``stride`` consecutive, non-overlapping frames.
    """

    def __init__(self, sr: int, channels: int, *, n_fft: int = 4096, stride: int = 4) -> None:
        self.sr = sr
        self.channels = channels
        self.n_fft = n_fft
        self.stride = max(1, stride)
        self.window = np.hanning(n_fft + 1)[:-1].astype(np.float32)
        scale = np.full(n_fft // 2 + 1, 2.0 / (n_fft * float(np.sum(self.window**2))))
        scale[0] /= 2
        if n_fft % 2 == 0:
            scale[-1] /= 2
        self._scale = scale
        self.edges = third_octave_edges(sr)
        # Band powers come from short sub-frames (n_fft / 4): minimum statistics need to see
        # the gaps between drum hits, which a 93 ms frame at 44.1 kHz rarely does.
        self.sub = max(256, n_fft // 4)
        self.sub_window = np.hanning(self.sub + 1)[:-1].astype(np.float32)
        sub_scale = np.full(self.sub // 2 + 1, 2.0 / (self.sub * float(np.sum(self.sub_window**2))))
        sub_scale[0] /= 2
        sub_scale[-1] /= 2
        self._sub_scale = sub_scale.astype(np.float32)
        freqs = np.fft.rfftfreq(self.sub, 1.0 / sr)
        band = np.searchsorted(self.edges, freqs, side="right") - 1
        band[freqs >= self.edges[-1]] = len(self.edges) - 2
        # bins are sorted by band: each band is a contiguous run starting at _band_start
        # (bins below the first edge belong to no band; a band narrower than a bin is empty)
        self._band_start = np.searchsorted(band, np.arange(len(self.edges) - 1))
        self._band_empty = np.diff(np.append(self._band_start, len(freqs))) == 0
        self._band_start = np.minimum(self._band_start, len(freqs) - 1)
        self._n_bands = len(self.edges) - 1
        self._sum = np.zeros(n_fft // 2 + 1)
        self._bands: list[np.ndarray] = []
        self._rest = np.zeros((channels, 0), np.float32)
        self._frame_index = 0
        self._n_analysed = 0

    def push(self, chunk: np.ndarray) -> None:
        """Add a (channels, n) or (n,) float chunk at the native rate."""
        x = np.atleast_2d(np.asarray(chunk, dtype=np.float32))
        n, rest = self.n_fft, self._rest.shape[1]
        if rest + x.shape[1] < n:
            self._rest = np.concatenate([self._rest, x], axis=1)
            return
        # frame 0 completes the previous chunk's rest; the others are views into this chunk
        off = (n - rest) % n
        full = (x.shape[1] - off) // n
        head = 1 if rest else 0
        n_frames = head + full
        first = (-self._frame_index) % self.stride
        picked = np.arange(first, n_frames, self.stride)
        self._frame_index += n_frames
        view = x[:, off : off + full * n].reshape(x.shape[0], full, n)
        parts = []
        if head and picked.size and picked[0] == 0:
            parts.append(np.concatenate([self._rest, x[:, :off]], axis=1)[:, None, :])
        parts.append(view[:, picked[picked >= head] - head])
        self._rest = np.array(x[:, off + full * n :])
        frames = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
        if frames.shape[1] == 0:
            return
        spec = scipy.fft.rfft(frames * self.window, axis=-1)
        # mean over channels of each channel's power: uncorrelated noise is not halved, and
        # anti-phase content does not vanish as it would in a mono mix
        power = (spec.real**2 + spec.imag**2).mean(axis=0) * self._scale.astype(np.float32)
        self._sum += power.sum(axis=0, dtype=np.float64)
        c, m = frames.shape[0], frames.shape[1]
        subs = frames.reshape(c, m * (self.n_fft // self.sub), self.sub) * self.sub_window
        sub_spec = scipy.fft.rfft(subs, axis=-1)
        sub_power = (sub_spec.real**2 + sub_spec.imag**2).mean(axis=0) * self._sub_scale
        bands = np.add.reduceat(sub_power, self._band_start, axis=1).T.astype(np.float64)
        bands[self._band_empty] = 0.0
        self._bands.append(bands)
        self._n_analysed += power.shape[0]

    def finish(self) -> NativeSpectrum:
        """The spectrum of everything pushed (a partial last frame is ignored)."""
        n = self._n_analysed
        bands = np.concatenate(self._bands, axis=1) if self._bands else np.zeros((self._n_bands, 0))
        return NativeSpectrum(
            sr=self.sr,
            n_fft=self.n_fft,
            ltas=self._sum / max(n, 1),
            band_edges_hz=self.edges.copy(),
            band_power=bands,
            n_frames=n,
        )
