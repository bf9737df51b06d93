"""Loudness and level statistics: ITU-R BS.1770-4 integrated loudness, EBU Tech 3342 loudness
range, true peak, RMS, crest factor, clipping, silence and DC offset.

All figures come from :class:`~linernotes.dsp.LoudnessBlocks`, measured at the file's native
rate and channel layout (K-weighting there, 4x oversampled true peak below 96 kHz), so they
agree with broadcast meters rather than with a resampled mono copy.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from linernotes.analyzers.registry import analyzer
from linernotes.dsp import LoudnessBlocks
from linernotes.features import Features

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0


class LoudnessParams(BaseModel, frozen=True):
    """``silence_threshold_dbfs``: a 100 ms block whose loudest channel's RMS is below this
    counts as silent."""

    silence_threshold_dbfs: float = -60.0


class LoudnessResult(BaseModel):
    integrated_lufs: float | None
    loudness_range_lu: float | None
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    rms_dbfs: float | None
    crest_factor_db: float | None
    clipping_ratio: float
    clipped_samples: int
    """Samples in flat tops near full scale or beyond it (:mod:`linernotes.dsp.loudness`)."""
    longest_clip_run: int
    over_samples: int = 0
    """Decoded samples beyond full scale."""
    silence_ratio: float
    dc_offset: list[float]
    channels: int
    sample_rate: int


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 weights: 1.0 for front channels, 1.41 for surrounds, 0 for LFE (5.1/7.1 in
    FFmpeg's channel order: L R C LFE Ls Rs [Lb Rb])."""
    weights = np.ones(channels)
    if channels in (6, 8):
        weights[3] = 0.0
        weights[4:] = 1.41
    elif channels == 5:
        weights[3:] = 1.41
    return weights


def _db(power: float | np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def windowed_loudness(weighted_power: np.ndarray, n_blocks: int) -> np.ndarray:
    """Loudness (LUFS) of sliding windows of ``n_blocks`` 100 ms blocks, one per block hop."""
    if weighted_power.shape[0] < n_blocks:
        return np.zeros(0)
    csum = np.concatenate([[0.0], np.cumsum(weighted_power)])
    mean = (csum[n_blocks:] - csum[:-n_blocks]) / n_blocks
    return -0.691 + _db(mean)


def integrated_loudness(weighted_power: np.ndarray) -> float | None:
    """Gated integrated loudness (BS.1770-4) from per-block channel-weighted mean squares.

    Returns ``None`` when no 400 ms block is above the absolute gate (silence).
    """
    if weighted_power.shape[0] < 4:
        return None
    csum = np.concatenate([[0.0], np.cumsum(weighted_power)])
    block_power = (csum[4:] - csum[:-4]) / 4
    block_lufs = -0.691 + _db(block_power)
    above = block_lufs > ABSOLUTE_GATE_LUFS
    if not above.any():
        return None
    relative_gate = -0.691 + _db(block_power[above].mean()) + RELATIVE_GATE_LU
    gated = above & (block_lufs > relative_gate)
    return float(-0.691 + _db(block_power[gated].mean()))


def loudness_range(weighted_power: np.ndarray) -> float | None:
    """EBU Tech 3342 loudness range: spread (10th to 95th percentile) of gated 3 s short-term
    loudness values, hopped every 100 ms."""
    short_term = windowed_loudness(weighted_power, 30)
    short_term = short_term[short_term > ABSOLUTE_GATE_LUFS]
    if short_term.size < 2:
        return None
    power = 10.0 ** ((short_term + 0.691) / 10.0)
    gate = -0.691 + _db(power.mean()) + LRA_RELATIVE_GATE_LU
    kept = short_term[short_term > gate]
    if kept.size < 2:
        return None
    low, high = np.percentile(kept, [10, 95])
    return float(high - low)


def measure_loudness(blocks: LoudnessBlocks, params: LoudnessParams) -> LoudnessResult:
    """All loudness and level figures of one signal."""
    weights = channel_weights(blocks.channels)
    weighted = (
        (weights[:, None] * blocks.kw_power).sum(axis=0) if blocks.kw_power.size else np.zeros(0)
    )
    total = blocks.n_samples * blocks.channels
    momentary = windowed_loudness(weighted, 4)
    short_term = windowed_loudness(weighted, 30)
    mean_power = float(blocks.power.mean()) if blocks.power.size else 0.0
    peak = float(blocks.sample_peak.max()) if blocks.sample_peak.size else 0.0
    silent = peak == 0.0

    def level(value: float) -> float | None:
        return None if silent else round(float(_db(value**2)), 2)

    rms_db = None if silent or mean_power <= 0 else round(float(_db(mean_power)), 2)
    block_rms_db = _db(blocks.power.max(axis=0)) if blocks.power.size else np.zeros(0)
    silence_ratio = (
        float(np.mean(block_rms_db < params.silence_threshold_dbfs)) if block_rms_db.size else 1.0
    )
    integrated = integrated_loudness(weighted)
    lra = loudness_range(weighted)
    sample_peak_db = level(peak)
    return LoudnessResult(
        integrated_lufs=_round(integrated),
        loudness_range_lu=_round(lra),
        max_momentary_lufs=_round(_max_above_gate(momentary)),
        max_short_term_lufs=_round(_max_above_gate(short_term)),
        true_peak_dbtp=level(float(blocks.true_peak.max()) if blocks.true_peak.size else 0.0),
        sample_peak_dbfs=sample_peak_db,
        rms_dbfs=rms_db,
        crest_factor_db=(
            None if rms_db is None or sample_peak_db is None else round(sample_peak_db - rms_db, 2)
        ),
        clipping_ratio=round(float(blocks.clipped_samples.sum()) / max(total, 1), 6),
        clipped_samples=int(blocks.clipped_samples.sum()),
        longest_clip_run=int(blocks.longest_clip_run),
        over_samples=int(blocks.over_samples),
        silence_ratio=round(silence_ratio, 4),
        dc_offset=[round(float(v), 6) for v in blocks.dc_offset],
        channels=blocks.channels,
        sample_rate=blocks.sr,
    )


def _max_above_gate(values: np.ndarray) -> float | None:
    values = values[values > ABSOLUTE_GATE_LUFS]
    return float(values.max()) if values.size else None


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _summarize(result: LoudnessResult) -> dict[str, float | None]:
    return {"loudness_lufs": result.integrated_lufs}


@analyzer("loudness", version="2", params=LoudnessParams(), summarize=_summarize)
def analyze_loudness(features: Features, params: LoudnessParams) -> LoudnessResult:
    """Loudness, peaks and level statistics at the native rate."""
    return measure_loudness(features.loudness, params)
