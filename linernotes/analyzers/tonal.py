"""Tonal analysis: tuning, chroma and key from the shared log-frequency pitch spectrum.

The stage reads :attr:`linernotes.features.Features.pitch_spectrum` (3 bins per semitone, MIDI
33-105, long 8192-point window) and works in four steps, each a pure function here:

1. :func:`estimate_tuning` - spectral peaks of pitched frames are located to a fraction of a
   bin, their deviations from the equal-tempered grid are histogrammed on a circle, and the
   mode of that histogram is the tuning offset in cents. A histogram that is not concentrated
   (noise, drums) yields ``None`` instead of an invented value.
2. :func:`semitone_spectrogram` - the spectrum is log-compressed, spectrally whitened (a local
   pitch-axis average is subtracted so broadband noise and drum hits cancel and partials
   remain), shifted by the tuning and collapsed to one bin per semitone.
3. :func:`chroma_from_semitones` - treble and bass pitch-class profiles of the whole track,
   frames weighted by how tonal they are.
4. :func:`key_scores` - correlation of the chroma with rotated key profiles (treble) plus a
   weighted correlation of the bass chroma, giving a score for each of the 24 keys; the
   confidence comes from the margin between the best and runner-up keys and the overall
   tonal strength.

Key names use one conventional spelling per key (:data:`MAJOR_KEY_NAMES`,
:data:`MINOR_KEY_NAMES`): majors C Db D Eb E F F# G Ab A Bb B, minors C C# D Eb E F F# G G# A
Bb B - the spelling with the fewest accidentals in its key signature, sharps for the tie at
six (F# major, Eb minor follow common usage).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.ndimage
from pydantic import BaseModel, ConfigDict, Field

from linernotes.analyzers.registry import analyzer

__all__ = [
    "KEY_PROFILES",
    "MAJOR_KEY_NAMES",
    "MINOR_KEY_NAMES",
    "KeyCandidate",
    "TonalParams",
    "TonalResult",
    "chroma_from_semitones",
    "estimate_tuning",
    "key_name",
    "key_scores",
    "semitone_spectrogram",
    "tonal",
]

#: Pitch-class names used for ``chroma`` index order (0 = C).
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
#: Tonic spelling of each major key by pitch class (0 = C).
MAJOR_KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Tonic spelling of each minor key by pitch class (0 = C).
MINOR_KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

#: Key profiles (tonic first) as (major, minor) weights per scale degree in semitones.
#: ``krumhansl``: Krumhansl & Kessler (1982) probe-tone ratings. ``temperley``: Temperley
#: (2007), note frequencies in the Kostka-Payne corpus. ``albrecht``: Albrecht & Shanahan
#: (2013), durations in a corpus of classical pieces. ``shaath``: Sha'ath (2011), a
#: Krumhansl variant tuned on popular music.
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

#: Bass-line profiles: how often each scale degree is the sounding bass note (chord roots),
#: approximating root frequencies reported for rock/pop and common-practice corpora
#: (tonic, subdominant and dominant roots dominate; vi/VI, bVII/VII next).
BASS_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "roots": (
        (1.0, 0.02, 0.2, 0.04, 0.12, 0.65, 0.03, 0.6, 0.05, 0.35, 0.12, 0.03),
        (1.0, 0.02, 0.15, 0.35, 0.04, 0.5, 0.03, 0.55, 0.45, 0.03, 0.45, 0.05),
    ),
}

ProfileName = str


class TonalParams(BaseModel):
    """Settings of the tonal stage (part of the cache key).

    Attributes
    ----------
    profile : str
        Key profile family from :data:`KEY_PROFILES`.
    bass_weight : float
        Weight of the bass-chroma correlation relative to the full-range chroma's.
    compression : float
        ``log1p(compression * S / max(S))`` compression of the pitch spectrum, so that loud
        notes do not drown quiet ones and a few frames do not dominate the track.
    whiten_semitones : float
        Width (semitones) of the pitch-axis moving average subtracted for whitening.
    bass_max_midi : float
        Upper edge (MIDI) of the bass region (its weight falls linearly to 0 there).
    tuning_min_midi, tuning_max_midi : float
        Pitch range whose peaks vote on the tuning (low bins are too coarse to interpolate).
    tuning_min_concentration : float
        Minimum resultant length (0..1) of the circular deviation histogram for the tuning to
        be reported; noise gives near-uniform deviations and falls below it.
    min_tonal_strength : float
        Below this best-key correlation no key is reported (``key=None``).
    n_candidates : int
        Number of ranked keys kept in ``key_scores``.
    """

    model_config = ConfigDict(frozen=True)

    profile: ProfileName = "temperley"
    bass_weight: float = 0.5
    compression: float = 100.0
    whiten_semitones: float = 12.0
    bass_max_midi: float = 60.0
    tuning_min_midi: float = 50.0
    tuning_max_midi: float = 100.0
    tuning_min_concentration: float = 0.25
    min_tonal_strength: float = 0.3
    n_harmonics: int = 1
    frame_norm: bool = False
    bass_profile: str = "roots"
    harmonic_decay: float = 0.6
    n_candidates: int = Field(default=5, ge=1, le=24)


class KeyCandidate(BaseModel):
    """One key hypothesis and its score (correlation-based, higher is better)."""

    model_config = ConfigDict(frozen=True)

    key: str
    score: float


class TonalResult(BaseModel):
    """Key, mode, tuning and mean chroma of a track.

    ``key`` is ``None`` when the track has no reliable pitched content (silence, noise, drums).
    ``chroma`` is empty when there was no audio energy at all.
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
    min_concentration: float = 0.25,
    rel_threshold: float = 0.05,
    resolution_cents: float = 1.0,
    smooth_cents: float = 4.0,
) -> tuple[float | None, float]:
    """Estimate the tuning offset from A4 = 440 Hz, in cents (-50..50).

    Every local maximum of every frame above ``rel_threshold`` times the frame's maximum is
    located by parabolic interpolation of the log magnitude (accurate to about a cent at
    the 1/3-semitone bin spacing), and its deviation from the nearest equal-tempered pitch is
    accumulated, weighted by magnitude, in a circular histogram. The histogram's smoothed
    mode is the estimate: unlike a mean it ignores the off-grid 5th and 7th harmonics.

    Parameters
    ----------
    spectrum : np.ndarray, shape (n_bins, n_frames)
        Magnitude pitch spectrum.
    bin_midi : np.ndarray, shape (n_bins,)
        Fractional MIDI pitch of each bin, evenly spaced.
    min_midi, max_midi : float
        Pitch range of the peaks that vote.
    min_concentration : float
        Resultant length of the weighted deviation angles below which the deviations are
        considered unstructured (no pitched content) and ``None`` is returned.

    Returns
    -------
    cents : float or None
        Tuning offset; ``None`` when there are no pitched peaks.
    concentration : float
        Resultant length (0..1) of the deviations, a measure of how pitched the signal is.
    """
    s = np.asarray(spectrum, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 3 or s.shape[1] == 0 or len(bin_midi) != s.shape[0]:
        return None, 0.0
    step = float(bin_midi[1] - bin_midi[0])
    mid = s[1:-1]
    lo, hi = s[:-2], s[2:]
    frame_max = s.max(axis=0, keepdims=True)
    midi_c = np.asarray(bin_midi[1:-1], dtype=np.float64)
    in_range = ((midi_c >= min_midi) & (midi_c <= max_midi))[:, None]
    peaks = (mid > lo) & (mid >= hi) & (mid > rel_threshold * frame_max) & (mid > 0) & in_range
    if not peaks.any():
        return None, 0.0
    rows, cols = np.nonzero(peaks)
    a = np.log(lo[rows, cols] + 1e-12)
    b = np.log(mid[rows, cols] + 1e-12)
    c = np.log(hi[rows, cols] + 1e-12)
    denom = a - 2.0 * b + c
    delta = np.where(denom < 0, 0.5 * (a - c) / np.where(denom < 0, denom, -1.0), 0.0)
    delta = np.clip(delta, -0.5, 0.5)
    pitch = midi_c[rows] + delta * step
    dev = pitch - np.round(pitch)  # semitones, -0.5..0.5
    weight = mid[rows, cols]
    angle = 2.0 * np.pi * dev
    total = weight.sum()
    if total <= 0:
        return None, 0.0
    concentration = float(np.abs(np.sum(weight * np.exp(1j * angle))) / total)
    if concentration < min_concentration:
        return None, concentration
    n_hist = int(round(100.0 / resolution_cents))
    idx = np.floor((dev * 100.0 + 50.0) / resolution_cents).astype(int) % n_hist
    hist = np.bincount(idx, weights=weight, minlength=n_hist)
    hist = scipy.ndimage.gaussian_filter1d(hist, smooth_cents / resolution_cents, mode="wrap")
    k = int(np.argmax(hist))
    # refine the mode with the weighted circular mean of the deviations near it
    centre = (k + 0.5) * resolution_cents - 50.0
    diff = (dev * 100.0 - centre + 50.0) % 100.0 - 50.0
    near = np.abs(diff) <= 2.0 * smooth_cents
    if near.any():
        centre += float(np.average(diff[near], weights=weight[near]))
    cents = (centre + 50.0) % 100.0 - 50.0
    return float(cents), concentration


def semitone_spectrogram(
    spectrum: np.ndarray,
    bin_midi: np.ndarray,
    *,
    tuning_cents: float = 0.0,
    compression: float = 100.0,
    whiten_semitones: float = 12.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Log-compressed, whitened, tuning-corrected spectrum with one row per semitone.

    Parameters
    ----------
    spectrum : np.ndarray, shape (n_bins, n_frames)
        Magnitude pitch spectrum with ``b = round(1 / (bin_midi[1] - bin_midi[0]))`` bins per
        semitone starting on an equal-tempered pitch.
    bin_midi : np.ndarray
        Fractional MIDI pitch of each bin.
    tuning_cents : float
        Tuning offset; semitone ``k`` collects the bins around ``midi0 + k + cents / 100``.
    compression : float
        Log compression factor relative to the track's maximum magnitude.
    whiten_semitones : float
        Width of the moving average subtracted along the pitch axis (0 disables whitening).

    Returns
    -------
    semitones : np.ndarray, shape (n_semitones, n_frames)
        Non-negative salience per semitone.
    semitone_midi : np.ndarray, shape (n_semitones,)
        Nominal MIDI number of each row.
    """
    s = np.asarray(spectrum, dtype=np.float64)
    n_bins = s.shape[0]
    step = float(bin_midi[1] - bin_midi[0]) if n_bins > 1 else 1.0
    per = max(1, int(round(1.0 / step)))
    n_semi = n_bins // per
    semitone_midi = np.round(bin_midi[0]) + np.arange(n_semi)
    if s.shape[1] == 0 or n_semi == 0:
        return np.zeros((n_semi, s.shape[1])), semitone_midi
    peak = s.max()
    if peak <= 0:
        return np.zeros((n_semi, s.shape[1])), semitone_midi
    log_s = np.log1p(compression * s / peak)
    if whiten_semitones > 0:
        width = max(3, int(round(whiten_semitones * per)) | 1)
        background = scipy.ndimage.uniform_filter1d(log_s, width, axis=0, mode="nearest")
        log_s = np.maximum(log_s - background, 0.0)
    # sample each semitone's bins (centre and neighbours) at the tuned positions
    offsets = np.arange(per) - (per - 1) / 2.0 if per % 2 else np.arange(per) - per / 2.0
    weights = 1.0 - np.abs(offsets) / (per / 2.0 + 0.5)
    pos = (np.arange(n_semi)[:, None] * per + offsets[None, :] + tuning_cents / 100.0 * per)
    pos = np.clip(pos, 0, n_bins - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n_bins - 1)
    frac = pos - i0
    out = np.zeros((n_semi, s.shape[1]))
    for j in range(per):
        v = log_s[i0[:, j]] * (1.0 - frac[:, j, None]) + log_s[i1[:, j]] * frac[:, j, None]
        out += weights[j] * v
    return out, semitone_midi


FRAME_NORM_ORD = "max"
FRAME_ALPHA = 0.0


def chroma_from_semitones(
    semitones: np.ndarray,
    semitone_midi: np.ndarray,
    *,
    frame_weights: np.ndarray | None = None,
    bass_max_midi: float = 60.0,
    frame_norm: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Track-level full-range and bass chroma (index 0 = C), each summing to 1 (or zeros).

    The bass chroma weights semitones by a ramp falling from 1 at the lowest pitch to 0 at
    ``bass_max_midi``, because the bass line's pitch classes (tonic and dominant roots) are
    strong, mostly harmonic-free key evidence.
    """
    x = np.asarray(semitones, dtype=np.float64)
    if x.shape[1] == 0:
        return np.zeros(12), np.zeros(12)
    w = np.ones(x.shape[1]) if frame_weights is None else np.asarray(frame_weights, float)
    pc = np.asarray(semitone_midi, dtype=int) % 12
    lo = float(semitone_midi[0])
    ramp = np.clip((bass_max_midi - semitone_midi) / max(bass_max_midi - lo, 1e-9), 0.0, 1.0)
    fold = np.zeros((12, len(pc)))
    fold[pc, np.arange(len(pc))] = 1.0
    full_frames = fold @ x
    bass_frames = (fold * ramp[None, :]) @ x
    if frame_norm:
        energy = full_frames.sum(axis=0)
        for c in (full_frames, bass_frames):
            m = c.max(axis=0, keepdims=True) if FRAME_NORM_ORD == "max" else np.linalg.norm(c, ord=2 if FRAME_NORM_ORD=="l2" else 1, axis=0, keepdims=True)
            c /= np.where(m > 0, m, 1.0)
        if FRAME_ALPHA:
            w = w * (energy / max(energy.max(), 1e-12)) ** FRAME_ALPHA
    full = full_frames @ w
    bass = bass_frames @ w
    out = []
    for c in (full, bass):
        total = c.sum()
        out.append(c / total if total > 0 else np.zeros(12))
    return out[0], out[1]


def key_scores(
    chroma: np.ndarray,
    bass_chroma: np.ndarray | None = None,
    *,
    profile: str = "temperley",
    bass_weight: float = 0.5,
    n_harmonics: int = 1,
    harmonic_decay: float = 0.6,
    bass_profile: str = "roots",
) -> np.ndarray:
    """Score of each of the 24 keys, shape (24,): majors (tonic C..B) then minors.

    The score is the Pearson correlation of the chroma with the key's rotated profile plus
    ``bass_weight`` times that of the bass chroma, divided by ``1 + bass_weight`` so that it
    stays in -1..1.
    """
    names = profile.split("+")
    templates = np.zeros((24, 12))
    for name in names:
        major, minor = (
            _harmonic_profile(np.asarray(p, dtype=np.float64), n_harmonics, harmonic_decay)
            for p in KEY_PROFILES[name]
        )
        t = np.array([np.roll(major, k) for k in range(12)] + [np.roll(minor, k) for k in range(12)])
        t = t - t.mean(axis=1, keepdims=True)
        templates += t / np.linalg.norm(t, axis=1, keepdims=True)
    templates /= len(names)

    def corr(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.float64) - np.mean(c)
        n = np.linalg.norm(c)
        return templates @ (c / n) if n > 0 else np.zeros(24)

    scores = corr(chroma)
    if bass_chroma is not None and bass_weight > 0:
        if bass_profile in BASS_PROFILES:
            major, minor = (
                _harmonic_profile(np.asarray(p, dtype=np.float64), n_harmonics, harmonic_decay)
                for p in BASS_PROFILES[bass_profile]
            )
            t = np.array(
                [np.roll(major, k) for k in range(12)] + [np.roll(minor, k) for k in range(12)]
            )
            t = t - t.mean(axis=1, keepdims=True)
            bass_templates = t / np.linalg.norm(t, axis=1, keepdims=True)
        else:
            bass_templates = templates
        c = np.asarray(bass_chroma, dtype=np.float64) - np.mean(bass_chroma)
        n = np.linalg.norm(c)
        bass_scores = bass_templates @ (c / n) if n > 0 else np.zeros(24)
        scores = (scores + bass_weight * bass_scores) / (1.0 + bass_weight)
    return scores


def _harmonic_profile(profile: np.ndarray, n_harmonics: int, decay: float) -> np.ndarray:
    """Expected chroma of notes distributed as ``profile`` when each note carries
    ``n_harmonics`` partials with amplitudes ``decay ** (h - 1)``."""
    out = np.zeros(12)
    for h in range(1, max(1, n_harmonics) + 1):
        shift = int(round(12.0 * np.log2(h))) % 12
        out += decay ** (h - 1) * np.roll(profile, shift)
    return out


def _key_confidence(best: float, margin: float, concentration: float) -> float:
    """Map the best score and its margin over the runner-up to 0..1.

    A margin of about 0.1 in correlation separates reliable from unreliable estimates on
    rendered test material; weak best scores (noise, drums) shrink the confidence to zero.
    """
    strength = np.clip((best - 0.3) / 0.4, 0.0, 1.0)
    sep = 1.0 - np.exp(-margin / 0.05)
    pitched = np.clip(concentration / 0.5, 0.0, 1.0)
    return float(np.clip(strength * sep * pitched, 0.0, 1.0))


def _summarize(result: TonalResult) -> dict[str, str | None]:
    return {"key": result.key}


@analyzer("tonal", version="1", params=TonalParams(), summarize=_summarize)
def tonal(features, params: TonalParams) -> TonalResult:
    """Key, mode, tuning and chroma from the log-frequency pitch spectrum."""
    spectrum = np.asarray(features.pitch_spectrum, dtype=np.float64)
    fp = features.params
    bin_midi = fp.pitch_bin_midi()
    if spectrum.ndim != 2 or spectrum.shape[1] == 0 or spectrum.shape[0] != len(bin_midi):
        return TonalResult()
    spectrum = np.nan_to_num(np.maximum(spectrum, 0.0), nan=0.0, posinf=0.0)
    # silence: nothing within ~80 dB of a full-scale sine's pitch-spectrum peak
    floor = 1e-4 * fp.pitch_n_fft / 4.0
    frame_peak = spectrum.max(axis=0)
    active = frame_peak > floor
    if not active.any():
        return TonalResult()
    active_spec = spectrum[:, active]

    cents, concentration = estimate_tuning(
        active_spec,
        bin_midi,
        min_midi=params.tuning_min_midi,
        max_midi=params.tuning_max_midi,
        min_concentration=params.tuning_min_concentration,
    )
    semis, semi_midi = semitone_spectrogram(
        active_spec,
        bin_midi,
        tuning_cents=cents or 0.0,
        compression=params.compression,
        whiten_semitones=params.whiten_semitones,
    )
    full, bass = chroma_from_semitones(
        semis, semi_midi, bass_max_midi=params.bass_max_midi, frame_norm=params.frame_norm
    )
    chroma = full / full.max() if full.max() > 0 else full
    chroma_out = [round(float(v), 4) for v in chroma]
    tuning_hz = None if cents is None else round(440.0 * 2.0 ** (cents / 1200.0), 2)
    base = TonalResult(
        tuning_cents=None if cents is None else round(cents, 1),
        tuning_hz=tuning_hz,
        chroma=chroma_out,
    )
    if full.max() <= 0:
        return base

    scores = key_scores(
        full,
        bass,
        profile=params.profile,
        bass_weight=params.bass_weight,
        n_harmonics=params.n_harmonics,
        harmonic_decay=params.harmonic_decay,
        bass_profile=params.bass_profile,
    )
    order = np.argsort(-scores, kind="stable")
    names = [key_name(i % 12, "major" if i < 12 else "minor") for i in range(24)]
    cands = [
        KeyCandidate(key=names[i], score=round(float(scores[i]), 4))
        for i in order[: params.n_candidates]
    ]
    best, second = float(scores[order[0]]), float(scores[order[1]])
    confidence = _key_confidence(best, best - second, concentration)
    if best < params.min_tonal_strength or cents is None:
        return base.model_copy(update={"key_scores": cands, "key_confidence": 0.0})
    i = int(order[0])
    mode: Literal["major", "minor"] = "major" if i < 12 else "minor"
    return base.model_copy(
        update={
            "key": names[i],
            "tonic": names[i].split(" ")[0],
            "mode": mode,
            "key_confidence": round(confidence, 3),
            "runner_up": cands[1] if len(cands) > 1 else None,
            "key_scores": cands,
        }
    )
