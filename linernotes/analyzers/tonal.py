"""Tonal analysis: tuning, chroma and key from the shared log-frequency pitch spectrum.

The stage reads :attr:`linernotes.features.Features.pitch_spectrum` (3 bins per semitone,
MIDI 33-105, 8192-point window at 22050 Hz) and works in four steps, each a pure function:

1. :func:`estimate_tuning` - the spectral peaks of every frame are located to a fraction of
   a bin, their deviations from the equal-tempered grid are histogrammed on a circle, and the
   histogram's mode is the tuning offset in cents. The concentration of that histogram says
   whether the signal is pitched at all: noise and drums give near-uniform deviations, and
   then neither a tuning nor a key is reported (nothing is invented).
2. :func:`semitone_spectrogram` - the spectrum is log-compressed (quiet notes count), spectrally
   whitened (a one-octave moving average along the pitch axis is subtracted, so broadband
   noise and drum hits cancel while partials stay), shifted by the tuning and collapsed to
   one row per semitone.
3. :func:`chroma_from_semitones` - pitch classes per frame, each frame normalised to its
   maximum so that every moment of the track counts about equally (loud drops do not outvote
   quiet verses), averaged over the track; nearly silent frames are gated out.
4. :func:`key_scores` - Pearson correlation of the chroma with the 24 rotated key templates.
   The templates average the Sha'ath (pop) and Albrecht-Shanahan (classical) profiles and
   account for the overtones that every audio chroma contains (each scale degree also adds
   to the pitch classes of its 2nd and 3rd harmonics: octave and fifth), which is what makes
   profile matching work on audio rather than on symbolic notes.

The confidence (:func:`key_confidence`) is a logistic function of how clearly the tonic wins
(the margin over the best key that is not the parallel mode), of the best correlation and of
how clearly the chroma tells the mode's third from the other mode's, fitted on held-out
rendered songs (``bench/key_calibration``) so that it approximates the probability that the
key is exactly right. It is
scaled towards 0 when only a few pitch classes sound (a drone, one note) and is 0 when the
input is not pitched (then ``key`` is ``None``).

Key spelling (one conventional name per key):

========  =====================================================
major     C, Db, D, Eb, E, F, F#, G, Ab, A, Bb, B
minor     C, C#, D, Eb, E, F, F#, G, G#, A, Bb, B
========  =====================================================

i.e. the spelling whose key signature has the fewest accidentals; for the six-accidental
pair, F# major and Eb minor.

Examples
--------
>>> import numpy as np
>>> from linernotes.features import extract_features_from_array
>>> sr = 22050
>>> t = np.arange(sr * 3) / sr
>>> y = sum(np.sin(2 * np.pi * f * t) for f in (261.63, 329.63, 392.0)) / 3
>>> tonal(extract_features_from_array(y.astype(np.float32), sr), TonalParams()).key
'C major'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.ndimage
from pydantic import BaseModel, ConfigDict, Field, field_validator

from linernotes.analyzers.registry import analyzer

__all__ = [
    "KEY_PROFILES",
    "MAJOR_KEY_NAMES",
    "MINOR_KEY_NAMES",
    "PITCH_CLASSES",
    "KeyCandidate",
    "TonalParams",
    "TonalResult",
    "choose_key",
    "chroma_from_semitones",
    "effective_pitch_classes",
    "estimate_tuning",
    "key_confidence",
    "key_evidence",
    "key_name",
    "key_scores",
    "key_templates",
    "mode_contrast",
    "semitone_spectrogram",
    "tonal",
    "tonic_margin",
]

#: Frames :func:`semitone_spectrogram` processes at a time (bounds its temporaries).
_FRAME_BLOCK = 4096

#: Pitch-class names in ``chroma`` order (index 0 = C).
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
#: Tonic spelling of each major key by pitch class (0 = C).
MAJOR_KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Tonic spelling of each minor key by pitch class (0 = C).
MINOR_KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

#: Key profiles as (major, minor) weights per scale degree in semitones from the tonic.
#: ``krumhansl``: Krumhansl & Kessler (1982) probe-tone ratings. ``temperley``: Temperley
#: (2007), note frequencies in the Kostka-Payne corpus. ``albrecht``: Albrecht & Shanahan
#: (2013), note durations in a classical corpus. ``shaath``: Sha'ath (2011), a Krumhansl
#: variant adjusted for popular music (stronger flat-seventh in minor).
KEY_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "temperley": (
        (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
        (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
    ),
    "albrecht": (
        (0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081),
        (0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052),
    ),
    "shaath": (
        (6.6, 2.0, 3.5, 2.3, 4.6, 4.0, 2.5, 5.2, 2.4, 3.7, 2.3, 3.4),
        (6.5, 2.7, 3.5, 5.4, 2.6, 3.5, 2.5, 5.2, 4.0, 2.7, 4.3, 3.2),
    ),
}


class TonalParams(BaseModel):
    """Settings of the tonal stage (part of the cache key).

    Attributes
    ----------
    profiles : tuple of str
        Key profile families from :data:`KEY_PROFILES`; their normalised templates are
        averaged.
    n_harmonics, harmonic_decay : int, float
        Partials assumed per note when turning a profile into an expected audio chroma
        (amplitude of partial ``h`` is ``harmonic_decay ** (h - 1)``); 1 disables.
    compression : float
        ``log1p(compression * S / max(S))`` compression of the pitch spectrum.
    whiten_semitones : float
        Width of the pitch-axis moving average subtracted for whitening (0 disables).
    frame_normalize : bool
        Normalise each frame's chroma to max 1 before averaging.
    frame_gate : float
        Frames whose chroma energy is below this fraction of the track's 95th-percentile
        frame are down-weighted proportionally (fade-outs, near-silence).
    bass_weight, bass_max_midi : float
        Weight of a bass-chroma correlation (semitones weighted by a ramp falling to 0 at
        ``bass_max_midi``). Off by default: it did not improve accuracy on the checks.
    tuning_min_midi, tuning_max_midi : float
        Pitch range whose peaks vote on the tuning (lower bins are too coarse).
    min_pitch_concentration : float
        Minimum resultant length (0..1) of the tuning-deviation histogram for the signal to
        count as pitched; below it tuning and key are ``None``. Rendered music gives 0.4-0.95,
        white noise about 0.02, a drum kit about 0.13.
    n_candidates : int
        Number of ranked keys kept in ``key_scores``.
    """

    model_config = ConfigDict(frozen=True)

    profiles: tuple[str, ...] = ("shaath", "albrecht")
    n_harmonics: int = Field(default=3, ge=1, le=16)
    harmonic_decay: float = Field(default=0.7, gt=0.0, le=1.0)
    compression: float = Field(default=1000.0, gt=0.0)
    whiten_semitones: float = Field(default=12.0, ge=0.0)
    frame_normalize: bool = True
    frame_gate: float = Field(default=0.05, ge=0.0, le=1.0)
    bass_weight: float = Field(default=0.0, ge=0.0)
    bass_max_midi: float = 60.0
    tuning_min_midi: float = 50.0
    tuning_max_midi: float = 100.0
    min_pitch_concentration: float = Field(default=0.25, ge=0.0, le=1.0)
    n_candidates: int = Field(default=5, ge=2, le=24)

    @field_validator("profiles")
    @classmethod
    def _known_profiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [p for p in value if p not in KEY_PROFILES]
        if not value or unknown:
            raise ValueError(f"profiles must be a non-empty subset of {sorted(KEY_PROFILES)}")
        return value


class KeyCandidate(BaseModel):
    """One key hypothesis and its score (template correlation, -1..1, higher is better)."""

    model_config = ConfigDict(frozen=True)

    key: str
    score: float


class TonalResult(BaseModel):
    """Key, mode, tuning and mean chroma of a track.

    ``key``, ``tonic``, ``mode``, ``runner_up`` and the tuning are ``None`` when the track has
    no reliably pitched content (silence, noise, drums only); ``key_scores`` may still rank
    keys then, but ``key_confidence`` is 0. ``chroma`` is empty when there was no audio
    energy at all. ``key`` is the first of ``key_scores`` unless the chroma's third
    contradicts that key's mode (:func:`choose_key`); ``runner_up`` is the best other key.
    """

    model_config = ConfigDict(frozen=True)

    key: str | None = None
    tonic: str | None = None
    mode: Literal["major", "minor"] | None = None
    key_confidence: float = 0.0
    runner_up: KeyCandidate | None = None
    key_scores: list[KeyCandidate] = Field(default_factory=list)
    tuning_cents: float | None = None
    tuning_hz: float | None = None
    chroma: list[float] = Field(default_factory=list)


def key_name(tonic_pc: int, mode: str) -> str:
    """Conventional spelling of a key, e.g. ``key_name(6, "major") == "F# major"``."""
    names = MAJOR_KEY_NAMES if mode == "major" else MINOR_KEY_NAMES
    return f"{names[int(tonic_pc) % 12]} {mode}"


def estimate_tuning(
    spectrum: np.ndarray,
    bin_midi: np.ndarray,
    *,
    min_midi: float = 50.0,
    max_midi: float = 100.0,
    rel_threshold: float = 0.05,
    resolution_cents: float = 1.0,
    smooth_cents: float = 4.0,
) -> tuple[float | None, float]:
    """Estimate the tuning offset from A4 = 440 Hz, in cents (-50..50).

    Every local maximum of every frame above ``rel_threshold`` times the frame's maximum is
    located by parabolic interpolation of the log magnitude (about a cent of error at the
    1/3-semitone bin spacing), and its deviation from the nearest equal-tempered pitch is
    accumulated, weighted by magnitude, in a circular histogram. The smoothed histogram's
    mode is the estimate: unlike a mean it ignores the off-grid 5th and 7th harmonics.

    Parameters
    ----------
    spectrum : np.ndarray, shape (n_bins, n_frames)
        Magnitude pitch spectrum.
    bin_midi : np.ndarray, shape (n_bins,)
        Fractional MIDI pitch of each bin, evenly spaced.
    min_midi, max_midi : float
        Pitch range of the peaks that vote.
    rel_threshold : float
        Peaks weaker than this fraction of their frame's maximum are ignored.
    resolution_cents, smooth_cents : float
        Histogram bin width and Gaussian smoothing.

    Returns
    -------
    cents : float or None
        Tuning offset; ``None`` when no peak votes.
    concentration : float
        Resultant length (0..1) of the magnitude-weighted deviation angles: near 1 for
        stable pitched partials, near 0 for noise.
    """
    s = np.asarray(spectrum, dtype=np.float32)
    bin_midi = np.asarray(bin_midi, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 3 or s.shape[1] == 0 or bin_midi.shape[0] != s.shape[0]:
        return None, 0.0
    step = float(bin_midi[1] - bin_midi[0])
    lo, mid, hi = s[:-2], s[1:-1], s[2:]
    midi_c = bin_midi[1:-1]
    in_range = ((midi_c >= min_midi) & (midi_c <= max_midi))[:, None]
    frame_max = s.max(axis=0, keepdims=True)
    # one boolean array, narrowed in place (each ``&`` would allocate another)
    peaks = mid > lo
    peaks &= mid >= hi
    peaks &= mid > rel_threshold * frame_max
    peaks &= mid > 0
    peaks &= in_range
    if not peaks.any():
        return None, 0.0
    rows, cols = np.nonzero(peaks)
    del peaks
    # An hour of music has about a million peaks: each per-peak array is several MB, so
    # intermediates are dropped as soon as they are used.
    weight = mid[rows, cols]
    a = np.log(lo[rows, cols] + 1e-12)
    b = np.log(weight + 1e-12)
    c = np.log(hi[rows, cols] + 1e-12)
    del cols
    denom = a - 2.0 * b + c
    del b
    safe = np.where(denom < 0, denom, -1.0)
    delta = np.clip(np.where(denom < 0, 0.5 * (a - c) / safe, 0.0), -0.5, 0.5)
    del a, c, denom, safe
    pitch = midi_c[rows] + delta * step
    del rows, delta
    dev = pitch - np.round(pitch)  # semitones in -0.5..0.5
    del pitch
    total = weight.sum()
    if not np.isfinite(total) or total <= 0:
        return None, 0.0
    # the unit phasors, exponentiated and weighted in place (one complex array, not three)
    phasor = 2j * np.pi * dev
    np.exp(phasor, out=phasor)
    phasor *= weight
    concentration = float(np.abs(np.sum(phasor)) / total)
    del phasor
    n_hist = max(1, int(np.rint(100.0 / resolution_cents)))
    idx = np.floor((dev * 100.0 + 50.0) / resolution_cents).astype(int) % n_hist
    hist = np.bincount(idx, weights=weight, minlength=n_hist)
    hist = scipy.ndimage.gaussian_filter1d(hist, smooth_cents / resolution_cents, mode="wrap")
    centre = (int(np.argmax(hist)) + 0.5) * resolution_cents - 50.0
    # refine the mode with the weighted mean of the deviations near it (on the circle)
    diff = (dev * 100.0 - centre + 50.0) % 100.0 - 50.0
    near = np.abs(diff) <= 2.0 * smooth_cents
    if near.any():
        centre += float(np.average(diff[near], weights=weight[near]))
    return float((centre + 50.0) % 100.0 - 50.0), concentration


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


def _harmonic_profile(profile: np.ndarray, n_harmonics: int, decay: float) -> np.ndarray:
    """Expected chroma of notes distributed as ``profile`` when each note has ``n_harmonics``
    partials of amplitude ``decay ** (h - 1)`` (partial ``h`` falls on pitch class
    ``round(12 log2 h)`` above the note)."""
    out = np.zeros(12)
    for h in range(1, max(1, n_harmonics) + 1):
        out += decay ** (h - 1) * np.roll(profile, int(np.rint(12.0 * np.log2(h))) % 12)
    return out


def key_templates(
    profiles: Sequence[str] = ("shaath", "albrecht"),
    *,
    n_harmonics: int = 3,
    harmonic_decay: float = 0.7,
) -> np.ndarray:
    """Zero-mean, unit-norm chroma templates of the 24 keys, shape (24, 12).

    Rows 0-11 are the major keys with tonic C..B, rows 12-23 the minor keys. Each family in
    ``profiles`` is turned into an expected audio chroma (see :func:`_harmonic_profile`),
    normalised, and the families are averaged.
    """
    out = np.zeros((24, 12))
    for name in profiles:
        major, minor = (
            _harmonic_profile(np.asarray(p, dtype=np.float64), n_harmonics, harmonic_decay)
            for p in KEY_PROFILES[name]
        )
        t = np.array(
            [np.roll(major, k) for k in range(12)] + [np.roll(minor, k) for k in range(12)]
        )
        t -= t.mean(axis=1, keepdims=True)
        out += t / np.linalg.norm(t, axis=1, keepdims=True)
    out -= out.mean(axis=1, keepdims=True)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def key_scores(
    chroma: np.ndarray,
    templates: np.ndarray,
    *,
    bass_chroma: np.ndarray | None = None,
    bass_weight: float = 0.0,
) -> np.ndarray:
    """Correlation of a chroma with each key template, shape (24,), -1..1.

    With ``bass_weight > 0`` the bass chroma's correlation is added with that weight and the
    sum divided by ``1 + bass_weight``. A flat (or zero) chroma scores 0 everywhere.
    """

    def corr(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.float64)
        c = c - c.mean()
        norm = np.linalg.norm(c)
        return templates @ (c / norm) if norm > 1e-12 else np.zeros(len(templates))

    scores = corr(chroma)
    if bass_chroma is not None and bass_weight > 0:
        scores = (scores + bass_weight * corr(bass_chroma)) / (1.0 + bass_weight)
    return scores


def effective_pitch_classes(chroma: np.ndarray) -> float:
    """Perplexity (exp of the entropy) of a chroma: about how many pitch classes carry it.

    Rendered tonal music gives 8.5-11; a single harmonic tone about 3.4, a bare fifth 4.5, a
    sustained triad 5.5 - too little to tell a key from.
    """
    c = np.maximum(np.asarray(chroma, dtype=np.float64), 0.0)
    total = c.sum()
    if total <= 0:
        return 0.0
    p = c[c > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def mode_contrast(chroma: np.ndarray, tonic_pc: int, mode: str) -> float:
    """How much more the chosen mode's third sounds than the other mode's, -1..1.

    A major and a minor key on the same tonic share most of their scale and differ mainly in
    the third, so when the chroma barely tells the minor third from the major one the mode,
    and with it the exact key, is a guess whatever the template scores say.
    """
    c = np.maximum(np.asarray(chroma, dtype=np.float64), 0.0)
    minor, major = c[(tonic_pc + 3) % 12], c[(tonic_pc + 4) % 12]
    own, other = (major, minor) if mode == "major" else (minor, major)
    total = own + other
    return float((own - other) / total) if total > 1e-12 else 0.0


def choose_key(scores: np.ndarray, chroma: np.ndarray) -> int:
    """Index of the key to report (0-11 major, 12-23 minor): the best-scoring key, unless the
    chroma contradicts its mode, i.e. the other mode's third sounds more than its own
    (:func:`mode_contrast` below 0); then its parallel key.

    Templates weigh all seven degrees, so a melody that dwells on the sixth or seventh can
    outvote the third; the third decides the mode. On the held-out songs of
    ``bench/key_calibration`` (192 songs, whole and in three 10 s excerpts) 17 of 768
    analyses contradicted their third: the template's mode was wrong in 15 of them and the
    parallel key right in all 15 (whole songs: 185 to 188 of 192 exactly right).
    """
    best = int(np.argmax(scores))
    tonic, minor = best % 12, best >= 12
    if mode_contrast(chroma, tonic, "minor" if minor else "major") < 0:
        return (best + 12) % 24
    return best


def tonic_margin(scores: np.ndarray, best: int) -> float:
    """Best key score minus the best score of any key that is not its parallel mode
    (keys 0-11 major, 12-23 minor): how clearly the tonic wins."""
    s = np.asarray(scores, dtype=np.float64)
    others = np.delete(s, [best, (best + 12) % 24])
    return float(s[best] - others.max()) if others.size else 1.0


def key_evidence(scores: np.ndarray, chroma: np.ndarray, key: int) -> dict[str, float]:
    """The inputs of :func:`key_confidence` for the reported ``key`` (0-11 major, 12-23
    minor): ``margin`` (:func:`tonic_margin`), ``best`` (its score) and ``contrast``
    (:func:`mode_contrast`)."""
    return {
        "margin": tonic_margin(scores, key),
        "best": float(scores[key]),
        "contrast": mode_contrast(chroma, key % 12, "minor" if key >= 12 else "major"),
    }


def key_confidence(
    margin: float, best: float, contrast: float, *, n_pitch_classes: float = 12.0
) -> float:
    """Approximate probability (0..1) that the reported key is exactly right.

    A logistic function of the tonic's margin (:func:`tonic_margin`), of the key's
    correlation itself (how key-like the chroma is) and of the mode's third
    (:func:`mode_contrast`), with constants fitted by ``bench/key_calibration`` on 192
    rendered songs in all 24 keys that the accuracy benchmark never sees (there, estimates
    at 0.5-0.7 were right 56 % of the time, 0.7-0.85 82 %, 0.85-0.95 90 %, above 0.95
    97 %). It is scaled down linearly when fewer than 8 pitch classes carry the chroma (see
    :func:`effective_pitch_classes`), reaching 0 at 4: a drone or single note has no key.
    """
    z = _CONF_BIAS + _CONF_MARGIN * margin + _CONF_BEST * best + _CONF_MODE * contrast
    coverage = float(np.clip((n_pitch_classes - 4.0) / 4.0, 0.0, 1.0))
    return float(coverage / (1.0 + np.exp(-z)))


#: Fitted by ``bench/key_calibration`` (192 held-out songs, whole and in 10 s excerpts).
_CONF_BIAS, _CONF_MARGIN, _CONF_BEST, _CONF_MODE = -3.345, 10.513, 2.348, 3.235


def _summarize(result: TonalResult) -> dict[str, str | None]:
    return {"key": result.key}


@analyzer(
    "tonal",
    version="1",
    params=TonalParams(),
    summarize=_summarize,
    confidence_fields={"key": "key_confidence"},
)
def tonal(features, params: TonalParams) -> TonalResult:
    """Key, mode, tuning and chroma from the log-frequency pitch spectrum."""
    fp = features.params
    bin_midi = fp.pitch_bin_midi()
    spectrum = np.asarray(features.pitch_spectrum, dtype=np.float32)
    if spectrum.ndim != 2 or spectrum.shape[1] == 0 or spectrum.shape[0] != len(bin_midi):
        return TonalResult()
    # NaN propagates through max() and inf/negatives show in max()/min(): the front end's
    # spectrum is clean, and copying it (tens of MB for an hour) is only needed otherwise.
    if spectrum.size and not (np.isfinite(spectrum.max()) and spectrum.min() >= 0):
        spectrum = np.nan_to_num(spectrum, nan=0.0, posinf=0.0, neginf=0.0)
        np.maximum(spectrum, 0.0, out=spectrum)
    # silence: frames with nothing within ~80 dB of a full-scale sine's pitch-spectrum peak
    active = spectrum.max(axis=0) > 1e-4 * fp.pitch_n_fft / 4.0
    if not active.any():
        return TonalResult()
    if not active.all():
        spectrum = spectrum[:, active]

    cents, concentration = estimate_tuning(
        spectrum, bin_midi, min_midi=params.tuning_min_midi, max_midi=params.tuning_max_midi
    )
    pitched = cents is not None and concentration >= params.min_pitch_concentration
    tuning = cents if pitched else None
    semis, semi_midi = semitone_spectrogram(
        spectrum,
        bin_midi,
        tuning_cents=tuning or 0.0,
        compression=params.compression,
        whiten_semitones=params.whiten_semitones,
    )
    chroma, bass = chroma_from_semitones(
        semis,
        semi_midi,
        frame_normalize=params.frame_normalize,
        frame_gate=params.frame_gate,
        bass_max_midi=params.bass_max_midi,
    )
    peak = float(chroma.max())
    result = TonalResult(
        chroma=[round(float(v), 4) for v in (chroma / peak if peak > 0 else chroma)],
        tuning_cents=None if tuning is None else round(tuning, 1),
        tuning_hz=None if tuning is None else round(440.0 * 2.0 ** (tuning / 1200.0), 2),
    )
    if peak <= 0:
        return result

    templates = key_templates(
        params.profiles, n_harmonics=params.n_harmonics, harmonic_decay=params.harmonic_decay
    )
    scores = key_scores(chroma, templates, bass_chroma=bass, bass_weight=params.bass_weight)
    order = np.argsort(-scores, kind="stable")
    names = [key_name(i % 12, "major" if i < 12 else "minor") for i in range(24)]
    candidates = [
        KeyCandidate(key=names[i], score=round(float(scores[i]), 4))
        for i in order[: params.n_candidates]
    ]
    if tuning is None:
        return result.model_copy(update={"key_scores": candidates})
    best = choose_key(scores, chroma)
    tonic, mode = names[best].split(" ")
    other = int(order[0]) if best != order[0] else int(order[1])
    runner_up = KeyCandidate(key=names[other], score=round(float(scores[other]), 4))
    return result.model_copy(
        update={
            "key": names[best],
            "tonic": tonic,
            "mode": mode,
            "key_confidence": round(
                key_confidence(
                    **key_evidence(scores, chroma, best),
                    n_pitch_classes=effective_pitch_classes(chroma),
                ),
                3,
            ),
            "runner_up": runner_up,
            "key_scores": candidates,
        }
    )
