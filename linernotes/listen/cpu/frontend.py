"""musicnn's input: a log-compressed mel spectrogram of 16 kHz mono audio, cut into 3 s patches.

The parameters are musicnn's own (``musicnn/configuration.py``): 512-point STFT, hop 256,
96 Slaney mel bands from 0 to 8 kHz on the power spectrum, then ``log10(10000 * mel + 1)``.
musicnn casts the mel spectrogram to float16 before that product, which overflows to ``inf``
under NumPy 2 (``10000 * mel`` stays float16); here everything is float32. The module needs
only NumPy and :mod:`linernotes.dsp`, so the conversion script can load it on its own to
compare it with librosa.

Examples
--------
>>> import numpy as np
>>> y = np.sin(2 * np.pi * 440 * np.arange(SAMPLE_RATE * 4) / SAMPLE_RATE).astype(np.float32)
>>> mel = log_mel(y)
>>> mel.shape, mel.dtype
((251, 96), dtype('float32'))
>>> patches, starts = patch_frames(mel)
>>> patches.shape, frames_to_seconds(starts).round(2).tolist()
((2, 187, 96), [0.0, 1.02])
"""

from __future__ import annotations

import numpy as np

from linernotes.dsp import mel_filterbank

#: musicnn's sample rate, STFT size, hop and mel bands.
SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
#: Frames in one 3 s patch (``librosa.time_to_frames(3, sr=16000, n_fft=512, hop=256) + 1``).
PATCH_FRAMES = 187
#: A trailing remainder at least this long (in frames) gets a patch aligned to the track's end.
MIN_TAIL_FRAMES = 64


#: musicnn's mel filters: librosa's defaults (Slaney scale and area normalisation, 0 to 8 kHz).
MEL_FILTERS = mel_filterbank(SAMPLE_RATE, N_FFT, N_MELS, 0.0, SAMPLE_RATE / 2)
_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """``(frames, 1 + N_FFT // 2)`` power spectrum of centred frames (reflect padding, periodic
    Hann window), as ``librosa.stft(..., center=True, pad_mode="reflect")`` squared."""
    y = np.asarray(samples, dtype=np.float32)
    if y.shape[0] < N_FFT // 2 + 1:
        y = np.pad(y, (0, N_FFT // 2 + 1 - y.shape[0]))
    padded = np.pad(y, N_FFT // 2, mode="reflect")
    n_frames = 1 + (padded.shape[0] - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0])
    )
    spectrum = np.fft.rfft(frames * _WINDOW, axis=1)
    return (spectrum.real**2 + spectrum.imag**2).astype(np.float32)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """``(frames, 96)`` float32 ``log10(10000 * mel + 1)`` of 16 kHz mono samples."""
    mel = power_spectrogram(samples) @ MEL_FILTERS.T
    return np.log10(np.float32(10000.0) * mel + np.float32(1.0)).astype(np.float32)


def patch_frames(mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut a ``(frames, 96)`` spectrogram into ``(patches, 187, 96)`` and their start frames.

    Patches follow each other without overlap, as musicnn's tagger does; a remainder of at
    least :data:`MIN_TAIL_FRAMES` gets one more patch that ends with the track, so the last
    seconds are heard too. A spectrogram shorter than one patch is repeated to fill it
    (musicnn's training used the same repeat-padding).
    """
    n = mel.shape[0]
    if n == 0:
        raise ValueError("no audio frames to tag")
    if n < PATCH_FRAMES:
        reps = -(-PATCH_FRAMES // n)
        return np.tile(mel, (reps, 1))[None, :PATCH_FRAMES], np.array([0])
    starts = list(range(0, n - PATCH_FRAMES + 1, PATCH_FRAMES))
    if n - (starts[-1] + PATCH_FRAMES) >= MIN_TAIL_FRAMES:
        starts.append(n - PATCH_FRAMES)
    patches = np.stack([mel[s : s + PATCH_FRAMES] for s in starts])
    return patches, np.asarray(starts)


def frames_to_seconds(frames: np.ndarray | int) -> np.ndarray:
    """Frame indices to seconds (frame ``i`` is centred at ``i * HOP / SAMPLE_RATE``)."""
    return np.asarray(frames, dtype=np.float64) * HOP / SAMPLE_RATE
