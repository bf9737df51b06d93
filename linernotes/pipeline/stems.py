"""Measuring stems: each part (drums, bass, vocals...) of a track, whether the user provided
it beside the mix or a separation model made it (:mod:`linernotes.library.scan` finds both),
is decoded once through the shared front end (:mod:`linernotes.features`), the registered
``loudness`` and ``timbre`` stages run on it, and the ``stem_features`` stage below turns those
into a small :class:`~linernotes.models.StemFeatures` set: duration, integrated loudness, RMS,
sample and true peak, onset count and density (onsets per second, counted where the stem
sounds), a rhythm-complexity figure (see :func:`rhythm_complexity`), mean spectral centroid,
the share of the stem that sounds, and that share per second over time
(:func:`~linernotes.analyzers.activity.activity_series`); :func:`attach_stems` adds each
stem's ``presence`` against the mix's loudness
(:func:`~linernotes.analyzers.activity.presence_probability`). A separated stem says so in its
provenance, with the model and the weights' signature. Results are cached in the library
store by the stem's content hash, like analyzer results, so a rerun or a moved dataset costs
nothing. A silent or unreadable stem gets a one-line ``error`` in its
:class:`~linernotes.models.StemInfo`; the track itself still succeeds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from linernotes.analyzers.activity import activity_series, presence_probability
from linernotes.analyzers.loudness import LoudnessResult
from linernotes.analyzers.registry import FEATURES, analyzer, get_stage
from linernotes.analyzers.rhythm import RhythmParams
from linernotes.analyzers.rhythm.onsets import onset_strength_bands, pick_onsets
from linernotes.analyzers.timbre import TimbreResult, active_frames
from linernotes.audio.decode import open_audio
from linernotes.errors import AudioError
from linernotes.features import FeatureParams, Features, extract_features
from linernotes.models import Provenance, StemFeatures, StemInfo, TrackRecord
from linernotes.pipeline.track import ResultStore, file_hash, stage_key

__all__ = [
    "SEPARATED",
    "StemFile",
    "StemParams",
    "attach_stems",
    "measure_stem",
    "rhythm_complexity",
    "stem_features",
    "stems_current",
]

#: The ``layout`` of a stem a separation model made (kept in the library, not beside the mix).
SEPARATED = "separated"


@dataclass(frozen=True)
class StemFile:
    """A stem found on disk: its file, its type, the mix it belongs to and how it was found
    (``layout``: ``folder`` or ``sibling`` beside the mix, or :data:`SEPARATED`, with the
    separation's ``model`` and its weights' signature ``model_version``)."""

    path: Path
    stem_type: str
    mix: Path
    layout: str
    model: str | None = None
    model_version: str | None = None

    @property
    def relpath(self) -> str:
        """The stem relative to the mix's folder (POSIX), as stored in the record."""
        try:
            return self.path.relative_to(self.mix.parent).as_posix()
        except ValueError:
            if self.layout == SEPARATED:
                rel = os.path.relpath(self.path.absolute(), self.mix.parent.absolute())
                return Path(rel).as_posix()
            return self.path.name


#: The rhythm stage's defaults: stems pick onsets as it does, with its parameters.
_RHYTHM = RhythmParams()


class StemParams(BaseModel):
    """Settings of the per-stem measurements (part of their cache key).

    Onsets are picked as the ``rhythm`` stage picks them (same flux lag and dynamic range).
    A frame sounds when it is above ``silence_floor_dbfs`` and within ``active_range_db`` of
    the stem's loud level (95th percentile of frame RMS): separation bleed far below the
    part does not count. Inter-onset intervals between ``min_ioi_s`` and ``max_ioi_s`` feed
    the rhythm complexity, histogrammed in ``ioi_bins_per_octave`` bins per octave over
    ``ioi_span_octaves`` either side of the median interval.
    """

    model_config = ConfigDict(frozen=True)

    onset_lag: int = Field(_RHYTHM.onset_lag, ge=1)
    onset_top_db: float = Field(_RHYTHM.onset_top_db, gt=0)
    silence_floor_dbfs: float = -60.0
    active_range_db: float = Field(40.0, gt=0)
    ioi_bins_per_octave: int = Field(4, ge=1)
    ioi_span_octaves: float = Field(2.0, gt=0)
    min_ioi_s: float = Field(0.03, gt=0)
    max_ioi_s: float = Field(4.0, gt=0)
    min_intervals: int = Field(3, ge=2)
    activity_window_s: float = Field(1.0, gt=0)
    activity_range_db: float = Field(24.0, gt=0)


def rhythm_complexity(
    onset_times: Sequence[float] | np.ndarray,
    *,
    bins_per_octave: int = 4,
    span_octaves: float = 2.0,
    min_ioi_s: float = 0.03,
    max_ioi_s: float = 4.0,
    min_intervals: int = 3,
) -> float | None:
    """How varied the spacing of a part's onsets is, in [0, 1].

    The inter-onset intervals (IOIs) between ``min_ioi_s`` and ``max_ioi_s`` (longer gaps are
    rests, not rhythm) are placed on a log2 scale relative to their median, clipped to
    ``span_octaves`` either side (sixteenths to whole notes around a quarter-note median), and
    rounded to ``1 / bins_per_octave`` octave, so a steady part with small timing jitter keeps
    every IOI in one bin. The figure is the Shannon entropy of that histogram divided by its
    largest possible value, ``log(2 * span_octaves * bins_per_octave + 1)``: 0 for a
    metronome-steady part (straight eighths, four on the floor), higher the more different
    interval lengths the part mixes and the more evenly it uses them (about 0.2 to 0.4 for
    two to three lengths, 0.6 for six used equally). It does not depend on how long the part
    is. ``None`` with fewer than ``min_intervals`` usable IOIs.

    Examples
    --------
    >>> rhythm_complexity([0.0, 0.5, 1.0, 1.5, 2.0])
    0.0
    >>> rhythm_complexity([0.0, 0.25, 0.375, 0.75, 1.0, 1.125, 1.5, 2.0])
    0.4771
    >>> rhythm_complexity([0.0, 1.0]) is None
    True
    """
    times = np.sort(np.asarray(onset_times, dtype=np.float64))
    iois = np.diff(times)
    iois = iois[(iois >= min_ioi_s) & (iois <= max_ioi_s)]
    if iois.size < min_intervals:
        return None
    reach = round(span_octaves * bins_per_octave)
    steps = np.rint(bins_per_octave * np.log2(iois / np.median(iois))).astype(np.int64)
    _, counts = np.unique(np.clip(steps, -reach, reach), return_counts=True)
    p = counts / counts.sum()
    entropy = max(0.0, float(-(p * np.log(p)).sum()))
    return round(min(1.0, entropy / math.log(2 * reach + 1)), 4)


def _db_round(value: float | None) -> float | None:
    return None if value is None else round(value, 2) + 0.0  # no "-0.0"


@analyzer(
    "stem_features",
    version="2",
    params=StemParams(),
    inputs=(FEATURES, "loudness", "timbre"),
    register_stage=False,
)
def stem_features(
    features: Features, loudness: LoudnessResult, timbre: TimbreResult, params: StemParams
) -> StemFeatures:
    """Per-stem figures from the shared front end and the loudness and timbre results."""
    fp = features.params
    mask = active_frames(
        features.rms,
        silence_floor_dbfs=params.silence_floor_dbfs,
        relative_floor_db=params.active_range_db,
    )
    duration = float(features.duration)
    times = np.zeros(0)
    if mask.any():
        bands = onset_strength_bands(features.mel_db, sr=fp.sr, fmin=fp.fmin, fmax=fp.fmax,
                                     lag=params.onset_lag, top_db=params.onset_top_db)  # fmt: skip
        frames = pick_onsets(bands.full, frame_rate=fp.frame_rate)
        frames = frames[mask[np.minimum(frames, mask.size - 1)]] if frames.size else frames
        times = frames / fp.frame_rate
    complexity = rhythm_complexity(
        times, bins_per_octave=params.ioi_bins_per_octave, span_octaves=params.ioi_span_octaves,
        min_ioi_s=params.min_ioi_s, max_ioi_s=params.max_ioi_s, min_intervals=params.min_intervals,
    )  # fmt: skip
    return StemFeatures(
        duration=round(duration, 3),
        integrated_lufs=_db_round(loudness.integrated_lufs),
        rms_dbfs=_db_round(loudness.rms_dbfs),
        peak_dbfs=_db_round(loudness.sample_peak_dbfs),
        true_peak_dbtp=_db_round(loudness.true_peak_dbtp),
        onset_count=int(times.size),
        onset_density=round(times.size / duration, 4) if duration > 0 else 0.0,
        rhythm_complexity=complexity,
        spectral_centroid_hz=(
            None if timbre.centroid_mean_hz is None else round(timbre.centroid_mean_hz, 1)
        ),
        active_ratio=round(float(mask.mean()), 4) if mask.size else 0.0,
        activity_window_s=params.activity_window_s,
        activity=activity_series(
            features.rms,
            fp.frame_rate,
            window_s=params.activity_window_s,
            silence_floor_dbfs=params.silence_floor_dbfs,
            range_db=params.activity_range_db,
        ).round(3).tolist(),
    )


STAGE = stem_features.stage  # type: ignore[attr-defined]


def _compute(path: Path, frontend: FeatureParams) -> StemFeatures:
    source = open_audio(path)
    info = source.info
    features = extract_features(source.chunks(), info.sample_rate, info.channels, params=frontend)
    loudness = get_stage("loudness").run(features)
    timbre = get_stage("timbre").run(features)
    return STAGE.run(features, loudness, timbre)


def measure_stem(
    stem: StemFile,
    *,
    store: ResultStore | None = None,
    frontend: FeatureParams | None = None,
    force: bool = False,
) -> tuple[StemInfo, float]:
    """Measure one stem; never raises for a bad file.

    Returns the stem's :class:`StemInfo` and the seconds of audio newly decoded (0 when the
    store already held the result). A silent stem keeps its features and gets
    ``error="silent: ..."``; an unreadable one gets the decoder's one-line reason.
    """
    frontend = frontend or FeatureParams()
    info = StemInfo(
        stem_type=stem.stem_type,
        path=str(stem.path),
        relpath=stem.relpath,
        analyzer=STAGE.name,
        version=STAGE.version,
        params=STAGE.params_dict,
    )
    if stem.layout == SEPARATED:
        info.provenance = Provenance.SEPARATED
        info.model, info.model_version = stem.model, stem.model_version
    decoded = 0.0
    try:
        digest = file_hash(stem.path, store)
        info.sha256 = digest
        key = stage_key(STAGE, digest, frontend)
        cached = store.get_result(key) if store is not None and not force else None
        if cached is not None:
            features = StemFeatures.model_validate(cached)
        else:
            features = _compute(stem.path, frontend)
            decoded = features.duration
            if store is not None:
                store.put_results([(key, STAGE.params_dict, features.model_dump(mode="json"))])
    except AudioError as exc:
        info.error = exc.reason
        return info, decoded
    except MemoryError:
        info.error = "out of memory"
        return info, decoded
    except Exception as exc:  # a bug must not fail the track; report it with the stem
        info.error = f"internal error: {type(exc).__name__}: {exc}"
        return info, decoded
    info.features = features
    if features.active_ratio <= 0.0:
        params = StemParams.model_validate(info.params)
        info.error = f"silent: nothing above {params.silence_floor_dbfs:g} dBFS"
    return info, decoded


def attach_stems(
    record: TrackRecord,
    stems: Sequence[StemFile],
    *,
    store: ResultStore | None = None,
    frontend: FeatureParams | None = None,
    force: bool = False,
) -> float:
    """Replace ``record.stems`` with the measurements of ``stems``; returns the seconds of
    stem audio newly decoded (cached stems cost nothing)."""
    infos: list[StemInfo] = []
    decoded = 0.0
    for stem in stems:
        info, seconds = measure_stem(stem, store=store, frontend=frontend, force=force)
        if info.features is not None:
            info.presence = presence_probability(
                info.features.integrated_lufs, record.summary.loudness_lufs
            )
        infos.append(info)
        decoded += seconds
    record.stems = infos
    return decoded


def stems_current(
    record: TrackRecord, stems: Sequence[StemFile], store: ResultStore | None = None
) -> bool:
    """True when ``record.stems`` describes exactly ``stems``, at the current stem-analysis
    version and parameters, and no stem file's content changed."""
    have = {(s.stem_type, s.path): s for s in record.stems}
    want = {(s.stem_type, str(s.path)): s for s in stems}
    if any(have[k].model_version != want[k].model_version for k in set(have) & set(want)):
        return False
    if set(have) != set(want) or len(record.stems) != len(stems):
        return False
    for key, stem in want.items():
        info = have[key]
        if info.version != STAGE.version or info.params != STAGE.params_dict:
            return False
        try:
            digest = file_hash(stem.path, store)
        except AudioError:
            if info.sha256 is None and info.error is not None:
                continue
            return False
        if digest != info.sha256:
            return False
    return True
