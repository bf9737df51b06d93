"""Frame-level features shared by every measured analyzer.

Audio is read once, in chunks, and reduced on the fly to compact arrays: a log-mel spectrogram
and per-frame spectral descriptors for rhythm and timbre, a log-frequency pitch spectrum for
tonal analysis, and K-weighted block energies and peaks at the native rate for loudness. The
analyzers are pure functions over these arrays, so an hour-long file never needs to sit in
memory as samples, and each analyzer sees exactly the same view of the signal.

Examples
--------
>>> import numpy as np
>>> sr = 22050
>>> y = np.sin(2 * np.pi * 440 * np.arange(sr * 2) / sr).astype(np.float32)
>>> feats = extract_features_from_array(y, sr)
>>> feats.mel_db.shape[0]
64
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import av
import numpy as np
import scipy.fft

from linernotes.dsp import (
    FrameStore,
    FrameStream,
    LoudnessAccumulator,
    LoudnessBlocks,
    NativeSpectrum,
    SpectrumAccumulator,
    mel_filterbank,
    pitch_filterbank,
    spectral_frame_features,
)

__all__ = [
    "FeatureParams",
    "Features",
    "LoudnessBlocks",
    "extract_features",
    "extract_features_from_array",
]


@dataclass(frozen=True)
class FeatureParams:
    """Settings of the shared front end; part of every analyzer's cache key.

    ``sr`` is the analysis rate of the mono signal. The rhythm/timbre STFT uses ``n_fft`` and
    ``hop_length`` (about 86 frames per second at the defaults, fine enough for beat times). The
    pitch STFT uses a long window (``pitch_n_fft``, 2.7 Hz resolution) so that bass notes
    separate, mapped to ``bins_per_semitone`` bins per semitone from ``midi_min`` to ``midi_max``.
    """

    sr: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 64
    fmin: float = 27.5
    fmax: float = 11025.0
    n_mfcc: int = 13
    pitch_n_fft: int = 8192
    pitch_hop_length: int = 2048
    bins_per_semitone: int = 3
    midi_min: int = 33
    midi_max: int = 105

    @property
    def frame_rate(self) -> float:
        """Rhythm frames per second."""
        return self.sr / self.hop_length

    @property
    def pitch_frame_rate(self) -> float:
        """Pitch-spectrum frames per second."""
        return self.sr / self.pitch_hop_length

    @property
    def n_pitch_bins(self) -> int:
        return (self.midi_max - self.midi_min) * self.bins_per_semitone

    def pitch_bin_midi(self) -> np.ndarray:
        """MIDI pitch (fractional) at the centre of each pitch bin; bin 0 is ``midi_min``."""
        return self.midi_min + np.arange(self.n_pitch_bins) / self.bins_per_semitone

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


@dataclass
class Features:
    """What the analyzers read. Frame ``k`` of the rhythm arrays is centred at
    ``k * hop_length / sr`` seconds; frame ``k`` of ``pitch_spectrum`` at
    ``k * pitch_hop_length / sr`` seconds.

    Attributes
    ----------
    params : FeatureParams
    duration : float
        Seconds of audio analysed.
    mel_db : np.ndarray, shape (n_mels, n_frames)
        Log-mel power spectrogram in dB (floor -100 dB).
    rms : np.ndarray, shape (n_frames,)
        Linear RMS of each analysis frame of the mono signal.
    spectral : dict[str, np.ndarray]
        Per-frame descriptors, each shape (n_frames,) unless noted: ``centroid``, ``bandwidth``,
        ``rolloff`` (Hz), ``flatness``, ``zcr``, ``contrast`` (7, n_frames), ``mfcc``
        (n_mfcc, n_frames).
    pitch_spectrum : np.ndarray, shape (n_pitch_bins, n_pitch_frames)
        Magnitude in log-frequency bins (see ``FeatureParams.pitch_bin_midi``).
    loudness : LoudnessBlocks
        Native-rate, per-channel block energies and peaks for loudness and signal checks.
    native_spectrum : NativeSpectrum
        Native-rate long-term average spectrum (sees above 11 kHz: bandwidth, noise floor).
    """

    params: FeatureParams
    duration: float
    mel_db: np.ndarray
    rms: np.ndarray
    spectral: dict[str, np.ndarray]
    pitch_spectrum: np.ndarray
    loudness: LoudnessBlocks
    sr_native: int = 0
    channels: int = 1
    notes: list[str] = field(default_factory=list)
    native_spectrum: NativeSpectrum | None = None

    @property
    def n_frames(self) -> int:
        return int(self.mel_db.shape[1])

    def frame_times(self) -> np.ndarray:
        """Centre time in seconds of every rhythm frame."""
        return np.arange(self.n_frames) * (self.params.hop_length / self.params.sr)

    def pitch_frame_times(self) -> np.ndarray:
        """Centre time in seconds of every pitch-spectrum frame."""
        n = self.pitch_spectrum.shape[1]
        return np.arange(n) * (self.params.pitch_hop_length / self.params.sr)


class _MonoResampler:
    """Streams a multichannel chunk to mono at the analysis rate (libswresample)."""

    def __init__(self, sr_in: int, sr_out: int) -> None:
        self.sr_in = sr_in
        self.sr_out = sr_out
        self._resampler = (
            None if sr_in == sr_out else av.AudioResampler(format="flt", layout="mono", rate=sr_out)
        )
        self._pts = 0

    def push(self, mono: np.ndarray | None) -> np.ndarray:
        if self._resampler is None:
            return np.zeros(0, np.float32) if mono is None else mono
        if mono is None:
            frames = self._resampler.resample(None)
        else:
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(mono[None, :], dtype=np.float32), format="flt", layout="mono"
            )
            frame.sample_rate = self.sr_in
            frame.pts = self._pts
            self._pts += mono.shape[0]
            frames = self._resampler.resample(frame)
        if not frames:
            return np.zeros(0, np.float32)
        out = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
        return out.astype(np.float32, copy=False)


def extract_features(
    chunks: Iterable[np.ndarray],
    sr: int,
    channels: int,
    *,
    params: FeatureParams | None = None,
) -> Features:
    """Reduce a stream of audio chunks to :class:`Features`.

    Parameters
    ----------
    chunks : iterable of np.ndarray, each shape (channels, n), float32 in [-1, 1]
        Consecutive pieces of the signal at its native rate.
    sr : int
        Native sample rate of the chunks.
    channels : int
        Channel count of every chunk.
    params : FeatureParams, optional
        Front-end settings; defaults to ``FeatureParams()``.
    """
    p = params or FeatureParams()
    mel_fb = mel_filterbank(p.sr, p.n_fft, p.n_mels, p.fmin, p.fmax)
    pitch_fb = pitch_filterbank(p.sr, p.pitch_n_fft, p.pitch_bin_midi(), p.bins_per_semitone)
    rhythm_frames = FrameStream(p.n_fft, p.hop_length)
    pitch_frames = FrameStream(p.pitch_n_fft, p.pitch_hop_length)
    window = np.hanning(p.n_fft + 1)[:-1].astype(np.float32)
    pitch_window = np.hanning(p.pitch_n_fft + 1)[:-1].astype(np.float32)
    loud = LoudnessAccumulator(sr, channels)
    native = SpectrumAccumulator(sr, channels)
    resampler = _MonoResampler(sr, p.sr)

    spectral_shapes = {"contrast": (7,), "mfcc": (p.n_mfcc,)}
    spectral_names = ("centroid", "bandwidth", "rolloff", "flatness", "zcr", "contrast", "mfcc")
    mel_store = FrameStore((p.n_mels,))
    rms_store = FrameStore(())
    spectral_stores = {name: FrameStore(spectral_shapes.get(name, ())) for name in spectral_names}
    pitch_store = FrameStore((p.n_pitch_bins,))
    n_mono = 0

    def consume(mono_22k: np.ndarray, final: bool) -> None:
        nonlocal n_mono
        n_mono += mono_22k.shape[0]
        frames = rhythm_frames.push(mono_22k, final=final)
        if frames.shape[0]:
            spec = np.abs(scipy.fft.rfft(frames * window, axis=1))
            power = spec**2
            mel = mel_fb @ power.T
            mel_db = (10.0 * np.log10(np.maximum(mel, 1e-10))).astype(np.float32)
            mel_store.append(mel_db)
            rms_store.append(np.sqrt(np.einsum("ij,ij->i", frames, frames) / p.n_fft))
            for name, values in spectral_frame_features(frames, spec, mel_db, p).items():
                spectral_stores[name].append(values)
        pframes = pitch_frames.push(mono_22k, final=final)
        if pframes.shape[0]:
            pspec = np.abs(scipy.fft.rfft(pframes * pitch_window, axis=1))
            pitch_store.append(pitch_fb @ pspec.T)

    for chunk in chunks:
        if chunk.ndim == 1:
            chunk = chunk[None, :]
        if chunk.shape[1] == 0:
            continue
        chunk = chunk.astype(np.float32, copy=False)
        loud.push(chunk)
        native.push(chunk)
        mono = chunk.mean(axis=0) if chunk.shape[0] > 1 else chunk[0]
        consume(resampler.push(mono), final=False)
    consume(resampler.push(None), final=True)

    # Each store is joined (and its blocks released) before the next, so the frame data exist
    # about once at any time: this sets the peak memory of an hour-long file.
    spectral = {name: spectral_stores.pop(name).join() for name in spectral_names}
    return Features(
        params=p,
        duration=n_mono / p.sr,
        mel_db=mel_store.join(),
        rms=rms_store.join(),
        spectral=spectral,
        pitch_spectrum=pitch_store.join(),
        loudness=loud.finish(),
        native_spectrum=native.finish(),
        sr_native=sr,
        channels=channels,
    )


def iter_array_chunks(y: np.ndarray, chunk_size: int) -> Iterator[np.ndarray]:
    """Split a (channels, n) array into consecutive chunks."""
    for start in range(0, y.shape[1], chunk_size):
        yield y[:, start : start + chunk_size]


def extract_features_from_array(
    y: np.ndarray, sr: int, *, params: FeatureParams | None = None
) -> Features:
    """:func:`extract_features` for an in-memory signal, shape (n,) or (channels, n)."""
    y2 = np.atleast_2d(np.asarray(y, dtype=np.float32))
    return extract_features(iter_array_chunks(y2, sr * 10), sr, y2.shape[0], params=params)
