"""Timbre: track-level statistics of the shared per-frame spectral descriptors.

The front end already computes, per rhythm frame (1024-point window, hop 256 at 22050 Hz),
the spectral centroid, bandwidth and 85 % roll-off (Hz), spectral flatness, zero-crossing
rate, octave-band spectral contrast (7 bands, dB) and 13 MFCCs. This stage summarises them
over the *non-silent* frames - silence would otherwise drag every mean towards the
descriptors of the noise floor - as means and standard deviations (variances for MFCCs, the
usual "bag of frames" timbre vector).

Silent or empty input yields ``None`` / empty lists, never NaN, since the record is JSON.

Examples
--------
>>> import numpy as np
>>> from linernotes.features import extract_features_from_array
>>> sr = 22050
>>> y = np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)
>>> result = timbre(extract_features_from_array(y, sr), TimbreParams())
>>> 200 < result.centroid_mean_hz < 400
True
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from linernotes.analyzers.registry import analyzer

__all__ = ["TimbreParams", "TimbreResult", "active_frames", "round_sig", "timbre"]


class TimbreParams(BaseModel):
    """Settings of the timbre stage (part of the cache key).

    Attributes
    ----------
    silence_floor_dbfs : float
        Frames whose RMS is below this level (dB re full scale) are silent.
    relative_floor_db : float
        Frames more than this many dB below the track's 95th-percentile frame RMS are
        treated as silent too (fade tails, room noise between movements).
    significant_digits : int
        Rounding of every reported number (significant digits, so that tiny flatness values
        keep their precision while Hz values do not carry float noise).
    """

    model_config = ConfigDict(frozen=True)

    silence_floor_dbfs: float = -60.0
    relative_floor_db: float = Field(default=50.0, gt=0.0)
    significant_digits: int = Field(default=5, ge=2, le=12)


class TimbreResult(BaseModel):
    """Means and spreads of the spectral descriptors over the non-silent frames.

    All scalar fields are ``None`` and all list fields empty when no frame is non-silent.
    ``contrast_*_db`` have 7 entries (6 octave bands from 200 Hz plus the band above);
    ``mfcc_mean``/``mfcc_var`` have one entry per coefficient (13 by default).
    """

    model_config = ConfigDict(frozen=True)

    n_frames: int = 0
    active_fraction: float | None = None
    """Share of the frames that sound (the statistics below are over those)."""
    centroid_mean_hz: float | None = None
    centroid_std_hz: float | None = None
    """Spectral centroid: the brightness."""
    bandwidth_mean_hz: float | None = None
    bandwidth_std_hz: float | None = None
    rolloff_mean_hz: float | None = None
    rolloff_std_hz: float | None = None
    """Frequency below which 85 % of the energy lies."""
    flatness_mean: float | None = None
    flatness_std: float | None = None
    """Spectral flatness: 0 for a pure tone, 1 for white noise."""
    zcr_mean: float | None = None
    zcr_std: float | None = None
    """Zero-crossing rate, crossings per sample."""
    contrast_mean_db: list[float] = Field(default_factory=list)
    contrast_std_db: list[float] = Field(default_factory=list)
    """Octave-band peak/valley contrast, one entry per band."""
    mfcc_mean: list[float] = Field(default_factory=list)
    mfcc_var: list[float] = Field(default_factory=list)


def round_sig(x: float, digits: int = 5) -> float:
    """Round to ``digits`` significant digits; non-finite values become 0.0."""
    x = float(x)
    if not np.isfinite(x) or x == 0.0:
        return 0.0
    return round(x, digits - 1 - int(np.floor(np.log10(abs(x)))))


def active_frames(
    rms: np.ndarray, *, silence_floor_dbfs: float = -60.0, relative_floor_db: float = 50.0
) -> np.ndarray:
    """Boolean mask of the non-silent frames.

    A frame is active when its RMS is finite, above ``silence_floor_dbfs`` and within
    ``relative_floor_db`` of the 95th percentile of the frame RMS values.

    Parameters
    ----------
    rms : np.ndarray, shape (n_frames,)
        Linear RMS per frame (full scale = 1).
    """
    r = np.asarray(rms, dtype=np.float64)
    if r.size == 0:
        return np.zeros(0, dtype=bool)
    finite = np.isfinite(r)
    db = np.full(r.shape, -np.inf)
    db[finite] = 20.0 * np.log10(np.maximum(r[finite], 1e-12))
    mask = finite & (db > silence_floor_dbfs)
    if not mask.any():
        return mask
    loud = float(np.percentile(db[mask], 95))
    return mask & (db > loud - relative_floor_db)


def _row(features, name: str, n: int) -> np.ndarray | None:
    """A descriptor as a 2-D (rows, n) array (not copied), or None when missing or misshapen."""
    value = features.spectral.get(name) if isinstance(features.spectral, dict) else None
    if value is None:
        return None
    a = np.asarray(value)
    a = a[None, :] if a.ndim == 1 else a
    if a.ndim != 2 or a.shape[1] != n:
        return None
    return a


def _summarize(result: TimbreResult) -> dict[str, float]:
    # timbre statistics are too detailed for the one-line summary
    return {}


@analyzer("timbre", version="1", params=TimbreParams(), summarize=_summarize)
def timbre(features, params: TimbreParams) -> TimbreResult:
    """Means and spreads of spectral shape descriptors and MFCCs over non-silent frames."""
    rms = np.asarray(features.rms, dtype=np.float64).reshape(-1)
    n = rms.shape[0]
    mask = active_frames(
        rms,
        silence_floor_dbfs=params.silence_floor_dbfs,
        relative_floor_db=params.relative_floor_db,
    )
    if n == 0 or not mask.any():
        return TimbreResult(n_frames=0, active_fraction=0.0 if n else None)
    digits = params.significant_digits
    n_active = int(mask.sum())

    def stats(name: str, var: bool = False) -> tuple[list[float], list[float]]:
        a = _row(features, name, n)
        if a is None:
            return [], []
        # One row at a time in float64 (an hour of MFCCs in float64 is ~30 MB, and the
        # selection and variance would each copy it again); same sums as the 2-D reductions.
        finite = np.ones(n_active, dtype=bool)
        for row in a:
            finite &= np.isfinite(row[mask])
        if not finite.any():
            return [], []
        means, spreads = [], []
        for row in a:
            sel = row[mask].astype(np.float64)
            if not finite.all():
                sel = sel[finite]
            spread = sel.var()
            means.append(round_sig(sel.mean(), digits))
            spreads.append(round_sig(spread if var else np.sqrt(spread), digits))
        return means, spreads

    scalars: dict[str, float | None] = {}
    for name, mean_key, std_key in (
        ("centroid", "centroid_mean_hz", "centroid_std_hz"),
        ("bandwidth", "bandwidth_mean_hz", "bandwidth_std_hz"),
        ("rolloff", "rolloff_mean_hz", "rolloff_std_hz"),
        ("flatness", "flatness_mean", "flatness_std"),
        ("zcr", "zcr_mean", "zcr_std"),
    ):
        mean, std = stats(name)
        scalars[mean_key] = mean[0] if len(mean) == 1 else None
        scalars[std_key] = std[0] if len(std) == 1 else None
    contrast_mean, contrast_std = stats("contrast")
    mfcc_mean, mfcc_var = stats("mfcc", var=True)
    return TimbreResult(
        n_frames=int(mask.sum()),
        active_fraction=round_sig(mask.mean(), 4),
        contrast_mean_db=contrast_mean,
        contrast_std_db=contrast_std,
        mfcc_mean=mfcc_mean,
        mfcc_var=mfcc_var,
        **scalars,
    )
