"""Chroma from the log-frequency pitch spectrum: whitened semitones folded into pitch classes.

Examples
--------
>>> import numpy as np
>>> x = np.zeros((24, 1)); x[0] = x[12] = 1.0  # two Cs an octave apart
>>> _fold_octaves(x, 48)[:, 0].tolist()[:2]
[2.0, 0.0]
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

__all__ = ["chroma_from_semitones", "semitone_spectrogram"]


#: Frames :func:`semitone_spectrogram` processes at a time (bounds its temporaries).
_FRAME_BLOCK = 4096


def semitone_spectrogram(
    spectrum: np.ndarray,
    bin_midi: np.ndarray,
    *,
    tuning_cents: float = 0.0,
    compression: float = 1000.0,
    whiten_semitones: float = 12.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-compressed, whitened, tuning-corrected salience with one row per semitone.

    Parameters
    ----------
    spectrum : np.ndarray, shape (n_bins, n_frames)
        Magnitude pitch spectrum, ``b`` bins per semitone (``b = 1 / bin spacing``) with bin 0
        on an equal-tempered pitch.
    bin_midi : np.ndarray, shape (n_bins,)
        Fractional MIDI pitch of each bin.
    tuning_cents : float
        Tuning offset; semitone ``k`` collects the bins around ``bin_midi[0] + k + cents/100``.
    compression : float
        Log compression factor relative to the spectrum's maximum.
    whiten_semitones : float
        Width of the moving average subtracted along the pitch axis (0 disables whitening).

    Returns
    -------
    semitones : np.ndarray, shape (n_semitones, n_frames)
        Non-negative salience per semitone (centre bin weighted 1, neighbours 1/2).
    semitone_midi : np.ndarray, shape (n_semitones,)
        MIDI number of each row.
    """
    s = np.asarray(spectrum, dtype=np.float32)
    bin_midi = np.asarray(bin_midi, dtype=np.float64)
    n_bins, n_frames = s.shape
    step = float(bin_midi[1] - bin_midi[0]) if n_bins > 1 else 1.0
    per = max(1, int(np.rint(1.0 / step)))
    n_semi = n_bins // per
    semitone_midi = np.round(bin_midi[0]) + np.arange(n_semi) if n_bins else np.zeros(0)
    peak = float(s.max()) if s.size else 0.0
    if n_frames == 0 or n_semi == 0 or not peak > 0:
        return np.zeros((n_semi, n_frames)), semitone_midi
    scale = np.float32(compression / peak)
    width = max(3, int(np.rint(whiten_semitones * per)) | 1) if whiten_semitones > 0 else 0
    # sample each semitone's bins (centre and neighbours) at the tuned positions; the shift
    # is the same for every semitone, so each neighbour is a blend of two gathered rows
    offsets = np.arange(per) - (per - 1) / 2.0
    weights = 1.0 - np.abs(offsets) / (per / 2.0 + 0.5) if per > 1 else np.ones(1)
    taps = []
    for offset, weight in zip(offsets, weights, strict=True):
        pos = offset + tuning_cents / 100.0 * per
        base = int(np.floor(pos))
        rows = np.arange(n_semi) * per + base
        taps.append(
            (
                np.clip(rows, 0, n_bins - 1),
                np.clip(rows + 1, 0, n_bins - 1),
                np.float32(pos - base),
                np.float32(weight),
            )
        )
    out = np.zeros((n_semi, n_frames), dtype=np.float32)
    # Every step below is per frame, so frames are processed a block at a time: the
    # compressed and whitened spectrum of an hour-long track never exists whole.
    for start in range(0, n_frames, _FRAME_BLOCK):
        stop = min(start + _FRAME_BLOCK, n_frames)
        log_s = s[:, start:stop] * scale
        np.log1p(log_s, out=log_s)
        if width:
            log_s -= scipy.ndimage.uniform_filter1d(log_s, width, axis=0, mode="nearest")
            np.maximum(log_s, 0.0, out=log_s)
        block = out[:, start:stop]
        for lower_rows, upper_rows, frac, weight in taps:
            lower = log_s[lower_rows]
            upper = log_s[upper_rows]
            block += weight * (lower + frac * (upper - lower))
    return out, semitone_midi


def chroma_from_semitones(
    semitones: np.ndarray,
    semitone_midi: np.ndarray,
    *,
    frame_normalize: bool = True,
    frame_gate: float = 0.05,
    bass_max_midi: float = 60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Track-level chroma and bass chroma (index 0 = C), each summing to 1 (or all zeros).

    Parameters
    ----------
    semitones : np.ndarray, shape (n_semitones, n_frames)
        Per-semitone salience, see :func:`semitone_spectrogram`.
    semitone_midi : np.ndarray, shape (n_semitones,)
        MIDI number of each row.
    frame_normalize : bool
        Scale each frame's chroma to max 1 before averaging, so that the key evidence of
        quiet passages is not outvoted by loud ones.
    frame_gate : float
        Frames with chroma energy below ``frame_gate`` times the 95th percentile are
        down-weighted in proportion (0 disables).
    bass_max_midi : float
        The bass chroma weights semitones by a ramp falling from 1 at the lowest row to 0 at
        this pitch.
    """
    x = np.asarray(semitones, dtype=np.float32)
    midi = np.asarray(semitone_midi)
    if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] == 0:
        return np.zeros(12), np.zeros(12)
    span = max(bass_max_midi - float(midi[0]), 1e-9)
    ramp = np.clip((bass_max_midi - midi) / span, 0.0, 1.0).astype(x.dtype)
    full_frames = _fold_octaves(x, int(midi[0]))
    n_bass = int(np.count_nonzero(ramp))
    bass_frames = _fold_octaves(x[:n_bass] * ramp[:n_bass, None], int(midi[0]))
    energy = full_frames.sum(axis=0)
    w = np.ones(x.shape[1], dtype=np.float32)
    if frame_gate > 0:
        ref = float(np.percentile(energy, 95))
        if ref > 0:
            w = np.clip(energy / (frame_gate * ref), 0.0, 1.0)
    if frame_normalize:
        for frames in (full_frames, bass_frames):
            peak = frames.max(axis=0, keepdims=True)
            frames /= np.where(peak > 0, peak, 1.0)
    out = []
    for frames in (full_frames, bass_frames):
        c = (frames * w).sum(axis=1, dtype=np.float64)
        total = c.sum()
        out.append(c / total if total > 0 else np.zeros(12))
    return out[0], out[1]


def _fold_octaves(x: np.ndarray, first_midi: int) -> np.ndarray:
    """Sum consecutive semitone rows (the first at MIDI ``first_midi``) into 12 pitch classes
    (row 0 = C); a reshape-and-sum, much faster than a (12, n) matrix product here."""
    lead = first_midi % 12
    n_rows = lead + x.shape[0]
    padded = np.zeros((-(-n_rows // 12) * 12, x.shape[1]), dtype=x.dtype)
    padded[lead:n_rows] = x
    return padded.reshape(-1, 12, x.shape[1]).sum(axis=0)
