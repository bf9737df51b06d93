"""Timbre and spectral statistics: how bright, noisy, dense and textured a track sounds.

Means and standard deviations over the non-silent frames of the front end's per-frame
descriptors (spectral centroid, bandwidth, roll-off, flatness, zero-crossing rate, octave-band
contrast) and MFCC means and variances, the usual compact timbre fingerprint. Silent frames are
left out so that a long fade or gap does not drag the figures towards silence; a silent track
yields empty statistics rather than NaN.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from linernotes.analyzers.registry import analyzer
from linernotes.features import Features

_SCALARS = ("centroid", "bandwidth", "rolloff", "flatness", "zcr")


class TimbreParams(BaseModel, frozen=True):
    """``silence_floor_db``: frames whose RMS is more than this far below the loudest frame
    (or below -80 dBFS) are left out of the statistics."""

    silence_floor_db: float = 60.0


class TimbreResult(BaseModel):
    frames_used: int
    spectral_centroid_hz: float | None = None
    spectral_centroid_std_hz: float | None = None
    spectral_bandwidth_hz: float | None = None
    spectral_bandwidth_std_hz: float | None = None
    spectral_rolloff_hz: float | None = None
    spectral_rolloff_std_hz: float | None = None
    spectral_flatness: float | None = None
    spectral_flatness_std: float | None = None
    zero_crossing_rate: float | None = None
    zero_crossing_rate_std: float | None = None
    spectral_contrast_db: list[float] = Field(default_factory=list)
    spectral_contrast_std_db: list[float] = Field(default_factory=list)
    mfcc_mean: list[float] = Field(default_factory=list)
    mfcc_var: list[float] = Field(default_factory=list)


def active_frames(rms: np.ndarray, floor_db: float) -> np.ndarray:
    """Boolean mask of frames loud enough to describe the timbre."""
    if rms.size == 0:
        return np.zeros(0, bool)
    level = 20.0 * np.log10(np.maximum(rms, 1e-10))
    return (level > max(level.max() - floor_db, -80.0)) & np.isfinite(level)


def _stats(values: np.ndarray, digits: int) -> tuple[float, float]:
    return round(float(values.mean()), digits), round(float(values.std()), digits)


@analyzer("timbre", version="1", params=TimbreParams())
def timbre(features: Features, params: TimbreParams) -> TimbreResult:
    """Spectral and MFCC statistics over the non-silent frames."""
    mask = active_frames(features.rms, params.silence_floor_db)
    spectral = features.spectral
    n = int(mask.sum())
    if n == 0 or any(spectral[name].shape[-1] != mask.shape[0] for name in _SCALARS):
        return TimbreResult(frames_used=0)
    out: dict[str, object] = {"frames_used": n}
    names = {
        "centroid": ("spectral_centroid_hz", 1),
        "bandwidth": ("spectral_bandwidth_hz", 1),
        "rolloff": ("spectral_rolloff_hz", 1),
        "flatness": ("spectral_flatness", 5),
        "zcr": ("zero_crossing_rate", 5),
    }
    for source, (field, digits) in names.items():
        mean, std = _stats(spectral[source][mask].astype(np.float64), digits)
        out[field] = mean
        std_field = field.replace("_hz", "_std_hz") if field.endswith("_hz") else field + "_std"
        out[std_field] = std
    contrast = spectral["contrast"][:, mask].astype(np.float64)
    out["spectral_contrast_db"] = np.round(contrast.mean(axis=1), 3).tolist()
    out["spectral_contrast_std_db"] = np.round(contrast.std(axis=1), 3).tolist()
    mfcc = spectral["mfcc"][:, mask].astype(np.float64)
    out["mfcc_mean"] = np.round(mfcc.mean(axis=1), 3).tolist()
    out["mfcc_var"] = np.round(mfcc.var(axis=1), 3).tolist()
    return TimbreResult.model_validate(out)
