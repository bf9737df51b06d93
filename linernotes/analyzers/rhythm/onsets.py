"""Onset strength from the shared log-mel spectrogram.

The onset envelope is the half-wave rectified rise of log-mel energy over a short lag, with a
small maximum filter across frequency so that vibrato and slow glides do not read as attacks
(the "SuperFlux" idea). Working in dB makes the envelope insensitive to overall level, so a
quiet intro and a loud chorus drive the beat tracker equally. Besides the full-band envelope we
keep low, mid and high band envelopes: kick drums, snares and hi-hats live in different bands
and the meter analysis uses them to tell a downbeat from an off-beat.

Examples
--------
>>> import numpy as np
>>> mel_db = np.full((64, 100), -80.0)
>>> mel_db[:, 50:] = -20.0
>>> env = onset_strength_bands(mel_db, sr=22050, fmin=27.5, fmax=11025.0)
>>> int(np.argmax(env.full))
50
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.ndimage

from linernotes.dsp import hz_to_mel, mel_to_hz

__all__ = [
    "OnsetBands",
    "mel_band_centres",
    "onset_strength_bands",
    "pick_onsets",
    "pitch_change_strength",
]


@dataclass(frozen=True)
class OnsetBands:
    """Onset envelopes, each shape (n_frames,), in dB of rise per frame averaged over bands.

    ``full`` averages all mel bands; ``low``, ``mid`` and ``high`` average the bands below,
    between and above the split frequencies (bass drum, snare/voice, cymbals).
    """

    full: np.ndarray
    low: np.ndarray
    mid: np.ndarray
    high: np.ndarray

    @property
    def n_frames(self) -> int:
        return int(self.full.shape[0])

    def stack(self) -> np.ndarray:
        """The band envelopes as one array, shape (3, n_frames): low, mid, high."""
        return np.stack([self.low, self.mid, self.high])


def mel_band_centres(n_mels: int, *, sr: int, fmin: float, fmax: float) -> np.ndarray:
    """Centre frequency in Hz of each band of :func:`linernotes.dsp.mel_filterbank`."""
    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(min(fmax, sr / 2)), n_mels + 2)
    return np.asarray(mel_to_hz(mels))[1:-1]


def onset_strength_bands(
    mel_db: np.ndarray,
    *,
    sr: int = 22050,
    fmin: float = 27.5,
    fmax: float = 11025.0,
    lag: int = 2,
    max_size: int = 3,
    top_db: float = 80.0,
    split_hz: tuple[float, float] = (200.0, 2000.0),
    block_frames: int = 8192,
) -> OnsetBands:
    """Spectral-flux onset envelopes of a log-mel spectrogram.

    Parameters
    ----------
    mel_db : np.ndarray, shape (n_mels, n_frames)
        Log-mel power in dB.
    sr, fmin, fmax : float
        The mel filterbank's settings, used to place the band splits.
    lag : int
        Frames between the compared spectra. Two frames (23 ms at the default hop) compare
        spectra with little window overlap, so attacks give a clear rise.
    max_size : int
        Width in mel bands of the maximum filter applied to the reference frame, so that a
        partial drifting to a neighbouring band is not counted as a new onset.
    top_db : float
        Dynamic range kept below the loudest bin; quieter bins are raised to that floor so
        that noise far below the music cannot create onsets.
    split_hz : (float, float)
        Frequencies separating the low, mid and high bands.
    block_frames : int
        Frames processed at a time (bounds the temporaries; the result does not depend on it).

    Returns
    -------
    OnsetBands
        ``full[t]`` is the mean over bands of ``max(0, S[b, t] - maxfilt(S)[b, t - lag])``;
        the first ``lag`` frames are zero.
    """
    n_mels, n_frames = mel_db.shape
    zeros = np.zeros(n_frames, np.float32)
    if n_frames <= lag or n_mels == 0:
        return OnsetBands(zeros, zeros.copy(), zeros.copy(), zeros.copy())
    floor = float(np.max(mel_db)) - top_db

    centres = mel_band_centres(n_mels, sr=sr, fmin=fmin, fmax=fmax)
    lo_sel = centres < split_hz[0]
    hi_sel = centres >= split_hz[1]
    mid_sel = ~(lo_sel | hi_sel)
    selections = [None, lo_sel, mid_sel, hi_sel]
    # The first frames have no reference: a signal that starts loud is not an onset there
    # (it may be cut from the middle of a note); the beat grid reaches it by extension.
    envelopes = [np.zeros(n_frames, np.float32) for _ in selections]
    # Every step is per frame (or between frames ``lag`` apart), so the flux is computed in
    # blocks of frames: an hour-long track never holds several spectrogram-sized temporaries.
    for start in range(lag, n_frames, block_frames):
        stop = min(start + block_frames, n_frames)
        s = np.maximum(np.asarray(mel_db[:, start - lag : stop], dtype=np.float32), floor)
        ref = scipy.ndimage.maximum_filter1d(s, size=max_size, axis=0) if max_size > 1 else s
        flux = np.maximum(s[:, lag:] - ref[:, :-lag], 0.0)
        for env, sel in zip(envelopes, selections, strict=True):
            if sel is None:
                env[start:stop] = _band_mean(flux)
            elif sel.any():
                env[start:stop] = _band_mean(flux[sel])
    full, low, mid, high = envelopes
    return OnsetBands(full=full, low=low, mid=mid, high=high)


def _band_mean(flux: np.ndarray) -> np.ndarray:
    """``flux.mean(axis=0)`` of a block of frames, bit for bit as for the whole spectrogram.

    numpy sums the bands one after another when there are two or more frames, but pairwise
    when a single frame is left, which can change the last bit: a lone frame is therefore
    averaged as two copies of itself.
    """
    if flux.shape[1] == 1:
        return np.repeat(flux, 2, axis=1).mean(axis=0)[:1]
    return flux.mean(axis=0)


def pick_onsets(
    envelope: np.ndarray,
    *,
    frame_rate: float,
    pre_max_s: float = 0.03,
    post_max_s: float = 0.03,
    avg_s: float = 0.1,
    delta: float = 0.5,
    min_rise_db: float = 2.0,
    wait_s: float = 0.03,
) -> np.ndarray:
    """Frames of the onsets in an onset envelope (peak picking).

    A frame is an onset when it is the maximum within ``pre_max_s`` before and ``post_max_s``
    after, exceeds the local mean within ``avg_s`` either side by ``delta`` standard deviations
    of the envelope, rises by at least ``min_rise_db`` (averaged over bands; frame-to-frame
    fluctuation of steady noise stays below about 1 dB), and comes at least ``wait_s`` after
    the previous onset.

    Returns
    -------
    np.ndarray of int
        Onset frame indices, increasing.
    """
    env = np.asarray(envelope, dtype=np.float64)
    if env.size < 3:
        return np.zeros(0, np.int64)
    scale = float(env.std())
    if scale <= 1e-9:
        return np.zeros(0, np.int64)
    frame_rate = float(frame_rate)
    pre = max(1, round(pre_max_s * frame_rate))
    post = max(1, round(post_max_s * frame_rate))
    # A window of pre + 1 + post frames ending post frames after the current one.
    padded = np.concatenate([np.full(pre, -np.inf), env, np.full(post, -np.inf)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, pre + post + 1)
    local_max = windows.max(axis=1)
    avg = max(1, round(avg_s * frame_rate))
    local_mean = scipy.ndimage.uniform_filter1d(env, size=2 * avg + 1)
    cand = np.flatnonzero(
        (env >= local_max) & (env > local_mean + delta * scale) & (env >= min_rise_db)
    )
    if cand.size == 0:
        return cand.astype(np.int64)
    wait = round(wait_s * frame_rate)
    keep = [int(cand[0])]
    for c in cand[1:]:
        if c - keep[-1] > wait:
            keep.append(int(c))
    return np.asarray(keep, np.int64)


def pitch_change_strength(
    pitch_spectrum: np.ndarray,
    *,
    n_frames: int,
    hop_ratio: float,
    range_db: float = 100.0,
    max_size: int = 3,
    block_frames: int = 4096,
) -> np.ndarray:
    """How much new pitch content starts in each frame: the "note and chord change" envelope.

    Bowed strings, pads and organs swell into their notes, so the log-mel flux above (which
    sees 23 ms rises) hardly moves when they change; their pitches still change, and the
    log-frequency pitch spectrum (three bins per semitone) shows it. The envelope is the
    half-wave rectified rise in dB from one pitch frame to the next, with the same maximum
    filter across bins as the mel flux, averaged over bins and interpolated onto the rhythm
    frames. Its periodicity is mostly the harmonic rhythm (chord changes: a bar or half bar),
    which is why :mod:`.tempo` uses it to find the group period and not the beat itself.

    Parameters
    ----------
    pitch_spectrum : np.ndarray, shape (n_bins, n_pitch_frames)
        Magnitude in log-frequency bins.
    n_frames : int
        Rhythm frames to return.
    hop_ratio : float
        Rhythm frames per pitch frame.
    range_db : float
        Magnitudes more than this below the loudest bin are raised to that floor.
    max_size : int
        Width in bins of the maximum filter on the previous frame (a third of a semitone of
        vibrato or intonation drift is not a new note).
    block_frames : int
        Pitch frames processed at a time (bounds the temporaries; the result does not depend
        on it).

    Returns
    -------
    np.ndarray, shape (n_frames,)
        Zero where nothing changes; the first pitch frame has no predecessor and is zero.
    """
    n_bins, n_pf = pitch_spectrum.shape
    out = np.zeros(max(n_frames, 0))
    if n_pf < 2 or n_bins == 0 or n_frames <= 0:
        return out
    peak = float(np.max(pitch_spectrum))
    if peak <= 0:
        return out
    floor = peak * 10 ** (-range_db / 20)
    flux = np.zeros(n_pf)
    for start in range(1, n_pf, block_frames):
        stop = min(start + block_frames, n_pf)
        level = 20 * np.log10(np.maximum(np.asarray(pitch_spectrum[:, start - 1 : stop],
                                                    dtype=np.float64), floor))
        ref = scipy.ndimage.maximum_filter1d(level, size=max_size, axis=0)
        flux[start:stop] = np.maximum(level[:, 1:] - ref[:, :-1], 0.0).mean(axis=0)
    return np.interp(np.arange(n_frames) / float(hop_ratio), np.arange(n_pf), flux)
