"""Beat-synchronous features: what every tracked beat sounds like, for the metre.

For every beat: how strong its onset is (overall and in the low, mid and high bands), how
loud the signal is there, what the spectrum looks like just after it, and how much the
harmony (chroma), the bass and the timbre change from the previous beat to this one. Bars
repeat, so these features repeat with the bar length (:mod:`.bar_length` reads the bar from
them) and the downbeat is where accents, bass and changes weigh most (:mod:`.bar_phase`), by
the ``downbeat`` weights of :data:`linernotes.analyzers.fitted.WEIGHTS_FILE`.

Examples
--------
>>> import numpy as np
>>> _change(np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])).round(2).tolist()
[0.5, 0.0, 1.0]
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.ndimage

from linernotes.analyzers.fitted import weights_for

__all__ = [
    "DOWNBEAT_EVIDENCE",
    "DOWNBEAT_WEIGHTS",
    "BeatFeatures",
    "FrameProfiles",
    "beat_sync_features",
    "frame_profiles",
    "pitch_class_profiles",
    "zscore",
]

#: What the downbeat score weighs, each z-scored over the track: the onset accent (all bands,
#: then the low, mid and high bands), the loudness, and the chroma, bass and timbre change
#: from the previous beat.
DOWNBEAT_EVIDENCE: tuple[str, ...] = (
    "accent", "accent_low", "accent_mid", "accent_high", "loudness",
    "chroma_change", "bass_change", "timbre_change",
)
#: Weights of :data:`DOWNBEAT_EVIDENCE` (the bias first, unused: only the beats of one bar are
#: compared), fitted by ``bench/fit_downbeat`` as a choice among the phases of a bar.
DOWNBEAT_WEIGHTS: tuple[float, ...] = weights_for("downbeat", DOWNBEAT_EVIDENCE)


@dataclass(frozen=True)
class BeatFeatures:
    """Beat-synchronous features, each row one beat.

    ``periodic`` (n_beats, n_features) feeds the bar-length fit; ``downbeat`` (n_beats,) is a
    signed score that is high where a bar is likely to start; ``harmonic_change`` (n_beats,),
    when known, is how much the harmony (chroma) changes at each beat, z-scored: where the
    chords change is the clearest sign of the bar. ``downbeat_evidence`` (n_beats, 8) holds
    the z-scored :data:`DOWNBEAT_EVIDENCE` the score weighs (what ``bench/fit_downbeat`` fits).
    """

    periodic: np.ndarray
    downbeat: np.ndarray
    harmonic_change: np.ndarray | None = None
    downbeat_evidence: np.ndarray | None = None


def zscore(x: np.ndarray) -> np.ndarray:
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    return np.where(sd > 1e-9, (x - mu) / np.where(sd > 1e-9, sd, 1.0), 0.0)


def _segment_means(cols: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Mean of ``cols`` (d, n) over frames ``[start, stop)`` of every segment, shape
    (n_segments, d); empty segments take the single frame at ``start``."""
    d, n = cols.shape
    if n == 0:
        return np.zeros((starts.size, d))
    # Running sums written in place, row by row (numpy would cast all of ``cols`` to float64
    # first): no temporary as large as the result.
    cs = np.zeros((d, n + 1))
    for row, out in zip(cols, cs, strict=True):
        np.cumsum(row, dtype=np.float64, out=out[1:])
    s = np.clip(starts, 0, n - 1)
    e = np.clip(np.maximum(stops, s + 1), 1, n)
    return ((cs[:, e] - cs[:, s]) / (e - s)).T


def pitch_class_profiles(
    pitch_spectrum: np.ndarray, pitch_bin_midi: np.ndarray, *, block_frames: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Chroma and bass chroma (bins below MIDI 57) of every pitch frame, each (12, n_frames):
    sums of the square-root magnitudes of the bins of each pitch class.

    Computed a block of frames at a time: the square-root spectrum of an hour-long track
    alone would take tens of MB, and the float64 matrix product as much again.
    """
    n_bins, n_pf = pitch_spectrum.shape
    pc = np.round(pitch_bin_midi).astype(np.int64) % 12
    fold = np.zeros((12, n_bins))
    fold[pc, np.arange(n_bins)] = 1.0
    low = pitch_bin_midi < 57
    fold_low = fold[:, low]
    chroma = np.empty((12, n_pf))
    bass = np.empty((12, n_pf))
    for start in range(0, n_pf, block_frames):
        stop = min(start + block_frames, n_pf)
        mag = np.sqrt(np.maximum(pitch_spectrum[:, start:stop], 0.0))
        chroma[:, start:stop] = fold @ mag
        bass[:, start:stop] = fold_low @ mag[low]
    return chroma, bass


def _change(vectors: np.ndarray) -> np.ndarray:
    """Cosine distance of each row to the previous row (first row: the median change)."""
    norm = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.maximum(norm, 1e-12)
    out = np.zeros(vectors.shape[0])
    if vectors.shape[0] > 1:
        out[1:] = 1.0 - np.sum(unit[1:] * unit[:-1], axis=1)
        out[0] = np.median(out[1:])
    return out


@dataclass(frozen=True)
class FrameProfiles:
    """The per-frame profiles the beat features average over each beat, computed once per
    track (a compound bar describes its felt beats too, from the same frames).

    ``coarse`` (8, n_frames) is the log-mel spectrum in eight contiguous band groups;
    ``chroma`` and ``bass`` (12, n_pitch_frames) are :func:`pitch_class_profiles`, ``None``
    when the pitch spectrum is empty.
    """

    coarse: np.ndarray
    chroma: np.ndarray | None
    bass: np.ndarray | None


def frame_profiles(
    mel_db: np.ndarray, pitch_spectrum: np.ndarray, pitch_bin_midi: np.ndarray
) -> FrameProfiles:
    """The :class:`FrameProfiles` of a track's log-mel (n_mels, n_frames) and log-frequency
    (n_bins, n_pitch_frames) spectra."""
    n_mels = mel_db.shape[0]
    # Eight contiguous groups of mel bands, averaged through views (no copy of the bands).
    edges = np.cumsum([0] + [g.size for g in np.array_split(np.arange(n_mels), 8)])
    coarse = np.stack([mel_db[lo:hi].mean(axis=0) for lo, hi in itertools.pairwise(edges)])
    n_bins, n_pf = pitch_spectrum.shape
    if not (n_pf and n_bins):
        return FrameProfiles(coarse, None, None)
    chroma, bass = pitch_class_profiles(pitch_spectrum, pitch_bin_midi)
    return FrameProfiles(coarse, chroma, bass)


def beat_sync_features(
    beat_frames: np.ndarray,
    *,
    envelope: np.ndarray,
    band_envelopes: np.ndarray,
    rms: np.ndarray,
    profiles: FrameProfiles,
    pitch_hop_ratio: float,
    downbeat_weights: Sequence[float] = DOWNBEAT_WEIGHTS[1:],
) -> BeatFeatures:
    """Describe every beat for the meter analysis.

    Parameters
    ----------
    beat_frames : np.ndarray, shape (n_beats,)
        Beat positions in rhythm frames (fractional allowed).
    envelope, band_envelopes : np.ndarray
        The onset envelope (n_frames,) and the low/mid/high band envelopes (3, n_frames).
    rms : np.ndarray
        The shared RMS (n_frames,).
    profiles : FrameProfiles
        The track's coarse spectrum, chroma and bass per frame (:func:`frame_profiles`).
    pitch_hop_ratio : float
        Rhythm frames per pitch frame (8 at the defaults).
    downbeat_weights : sequence of 8 floats
        Weights of the z-scored :data:`DOWNBEAT_EVIDENCE` in the downbeat score.
    """
    b = np.asarray(beat_frames, dtype=np.float64)
    n_frames = envelope.shape[0]
    if b.size == 0 or n_frames == 0:
        return BeatFeatures(np.zeros((0, 0)), np.zeros(0))
    idx = np.clip(np.round(b).astype(np.int64), 0, n_frames - 1)

    def accent(x: np.ndarray) -> np.ndarray:
        return scipy.ndimage.maximum_filter1d(x, size=5)[idx]

    acc_full = accent(envelope)
    acc_bands = np.stack([accent(x) for x in band_envelopes], axis=1)
    loud_db = 20 * np.log10(np.maximum(scipy.ndimage.maximum_filter1d(rms, size=5)[idx], 1e-6))

    # Spectrum just after the beat (8 coarse bands) and over the whole beat (for timbre change).
    coarse = profiles.coarse
    after = _segment_means(coarse, idx, idx + 4)
    last = round(float(np.median(np.diff(idx)))) if idx.size > 1 else 1
    stops = np.append(idx[1:], min(n_frames, idx[-1] + last))
    timbre = _segment_means(coarse, idx, stops)

    # Chroma and bass over each beat, from the pitch spectrum.
    chroma, bass = profiles.chroma, profiles.bass
    if chroma is not None and bass is not None:
        ps = np.floor(idx / pitch_hop_ratio).astype(np.int64)
        pe = np.floor(stops / pitch_hop_ratio).astype(np.int64)
        chroma_change = _change(_segment_means(chroma, ps, pe))
        bass_change = _change(_segment_means(bass, ps, pe))
    else:
        chroma_change = np.zeros(b.size)
        bass_change = np.zeros(b.size)
    timbre_change = _change(timbre - timbre.mean(axis=0))

    signed = np.column_stack(
        [acc_full, acc_bands, loud_db, chroma_change, bass_change, timbre_change]
    )
    z = zscore(signed)
    downbeat = z @ np.asarray(downbeat_weights, dtype=np.float64)
    periodic = np.column_stack([z, zscore(after) * np.sqrt(1.0 / 8.0)])
    chroma_column = 5  # position of chroma_change in ``signed``
    return BeatFeatures(
        periodic=periodic, downbeat=downbeat, harmonic_change=z[:, chroma_column],
        downbeat_evidence=z,
    )
