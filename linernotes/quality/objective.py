"""All objective detectors of one track and the objective score that combines them.

The score is the weighted mean of the detectors' statuses (pass 1, warn 0.5, fail 0) over the
detectors that could measure something; ``unknown`` detectors drop out and the remaining
weights are renormalised. The weights are
:data:`~linernotes.quality.weights.OBJECTIVE_WEIGHTS`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from linernotes.analyzers.loudness import LoudnessParams, LoudnessResult, measure_loudness
from linernotes.dsp import (
    LOUDNESS_BLOCK_S,
    LoudnessAccumulator,
    LoudnessBlocks,
    NativeSpectrum,
    SpectrumAccumulator,
)
from linernotes.models.quality import Detection, ObjectiveQuality
from linernotes.quality import detectors as d
from linernotes.quality.detection import STATUS_SCORE
from linernotes.quality.weights import OBJECTIVE_WEIGHTS


def objective_score(
    detections: Mapping[str, Detection], weights: Mapping[str, float] | None = None
) -> float | None:
    """Weighted mean of the statuses' scores; unknown detectors (and unweighted ones) skip."""
    w = OBJECTIVE_WEIGHTS if weights is None else weights
    num = den = 0.0
    for name, det in detections.items():
        if det.status == "unknown" or w.get(name, 0.0) <= 0:
            continue
        num += w[name] * STATUS_SCORE[det.status]
        den += w[name]
    return round(num / den, 4) if den > 0 else None


def assess(
    blocks: LoudnessBlocks,
    spectrum: NativeSpectrum | None = None,
    *,
    loudness: LoudnessResult | None = None,
    thresholds: d.QualityThresholds | None = None,
    weights: Mapping[str, float] | None = None,
) -> ObjectiveQuality:
    """Run every detector on one track's block measurements (and native spectrum, if any).

    ``loudness`` is the loudness analyzer's result; when absent it is computed here with the
    same code, so the figures always agree with the record's loudness section.
    """
    t = thresholds or d.QualityThresholds()
    lr = loudness or measure_loudness(blocks, LoudnessParams(silence_threshold_dbfs=t.silence_dbfs))
    block_s = blocks.block_size / blocks.sr if blocks.sr else LOUDNESS_BLOCK_S
    power = np.asarray(blocks.power)
    detections = {
        "clipping": d.detect_clipping(
            lr.clipped_samples, blocks.n_samples * blocks.channels, lr.longest_clip_run, t,
            over_samples=lr.over_samples, true_peak_dbtp=lr.true_peak_dbtp,
        ),
        "true_peak": d.detect_true_peak(lr.true_peak_dbtp, t),
        "loudness": d.detect_loudness(lr.integrated_lufs, t),
        "loudness_range": d.detect_loudness_range(
            lr.loudness_range_lu, t, blocks.n_samples / blocks.sr if blocks.sr else None
        ),
        "crest_factor": d.detect_crest_factor(lr.crest_factor_db, t),
        "bandwidth": d.detect_bandwidth(spectrum, t),
        "silence": d.detect_silence(power, block_s, t),
        "dc_offset": d.detect_dc_offset(blocks.dc_offset, t),
        "stereo": d.detect_stereo(power, blocks.cross, t),
        "noise_floor": d.detect_noise_floor(spectrum, t),
    }
    w = dict(OBJECTIVE_WEIGHTS if weights is None else weights)
    return ObjectiveQuality(detections=detections, score=objective_score(detections, w), weights=w)


def assess_array(
    y: np.ndarray,
    sr: int,
    *,
    thresholds: d.QualityThresholds | None = None,
    weights: Mapping[str, float] | None = None,
    chunk_s: float = 10.0,
) -> ObjectiveQuality:
    """:func:`assess` for an in-memory signal, shape (n,) or (channels, n), streamed in chunks
    through the same accumulators as the front end (no mel or pitch analysis)."""
    x = np.atleast_2d(np.asarray(y, dtype=np.float32))
    loud = LoudnessAccumulator(sr, x.shape[0])
    spec = SpectrumAccumulator(sr, x.shape[0])
    step = max(1, int(chunk_s * sr))
    for start in range(0, x.shape[1], step):
        chunk = np.ascontiguousarray(x[:, start : start + step])
        loud.push(chunk)
        spec.push(chunk)
    return assess(loud.finish(), spec.finish(), thresholds=thresholds, weights=weights)
