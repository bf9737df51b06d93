"""From track records to quality sections and score-file entries (no audio is read).

The objective part comes from the record's ``signal_quality`` analysis when present; a record
made without that stage still yields the detectors its ``loudness`` section can feed
(clipping, true peak, loudness, LRA, crest factor, DC, silence share), the rest ``unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from linernotes.analyzers.loudness import LoudnessResult
from linernotes.models.quality import Detection, ObjectiveQuality, QualitySection
from linernotes.quality import detectors as d
from linernotes.quality.external import ExternalScores
from linernotes.quality.model_score import model_quality_from_listen
from linernotes.quality.objective import objective_score
from linernotes.quality.scores_file import ScoreEntry
from linernotes.quality.section import combine
from linernotes.quality.weights import OBJECTIVE_WEIGHTS


def objective_from_loudness(
    result: LoudnessResult, thresholds: d.QualityThresholds | None = None
) -> ObjectiveQuality:
    """The detectors a loudness section alone can feed; the others are ``unknown``."""
    t = thresholds or d.QualityThresholds()
    # the sample count behind the ratio (without one, the clipped samples are the whole count)
    ratio = result.clipping_ratio
    total = round(result.clipped_samples / ratio) if ratio else result.clipped_samples
    silence_status = d.grade_above(result.silence_ratio, t.silence_ratio_warn, t.silence_ratio_fail)
    missing = "no signal_quality analysis in the record"
    detections: dict[str, Detection] = {
        "clipping": d.detect_clipping(
            result.clipped_samples, max(total, 1), result.longest_clip_run, t,
            over_samples=result.over_samples, true_peak_dbtp=result.true_peak_dbtp,
        ),
        "true_peak": d.detect_true_peak(result.true_peak_dbtp, t),
        "loudness": d.detect_loudness(result.integrated_lufs, t),
        "loudness_range": d.detect_loudness_range(result.loudness_range_lu, t),
        "crest_factor": d.detect_crest_factor(result.crest_factor_db, t),
        "bandwidth": Detection(value=None, status="unknown", unit="Hz", reason=missing),
        "silence": Detection(
            value=result.silence_ratio,
            status=silence_status,
            unit="ratio",
            threshold={"ratio_warn": t.silence_ratio_warn, "ratio_fail": t.silence_ratio_fail},
            reason=f"{result.silence_ratio:.0%} silent (edges not measured)",
        ),
        "dc_offset": d.detect_dc_offset(result.dc_offset, t),
        "stereo": Detection(value=None, status="unknown", unit="corr", reason=missing),
        "noise_floor": Detection(value=None, status="unknown", unit="dB", reason=missing),
    }
    w = dict(OBJECTIVE_WEIGHTS)
    return ObjectiveQuality(detections=detections, score=objective_score(detections, w), weights=w)


def objective_from_record(record: Any) -> ObjectiveQuality | None:
    """The record's objective quality (``signal_quality`` analysis, else loudness-only)."""
    analyses = getattr(record, "analyses", {}) or {}
    if "signal_quality" in analyses:
        return ObjectiveQuality.model_validate(analyses["signal_quality"].result)
    if "loudness" in analyses:
        return objective_from_loudness(LoudnessResult.model_validate(analyses["loudness"].result))
    return None


def quality_section(
    record: Any,
    *,
    song_id: str | None = None,
    external: ExternalScores | None = None,
    model_weights: Mapping[str, float] | None = None,
    combine_weights: Mapping[str, float] | None = None,
) -> QualitySection:
    """The full quality section of one record."""
    objective = objective_from_record(record)
    model = model_quality_from_listen(getattr(record, "listen", None), weights=model_weights)
    ext = None
    if external is not None:
        path = getattr(getattr(record, "file", None), "path", None)
        ext = external.lookup(song_id, path, Path(path).name if path else None)
    section = combine(
        objective,
        model if model.status != "absent" else None,
        ext,
        weights=combine_weights,
        external_source=external.source if external is not None and ext else None,
    )
    if external is not None and ext is None:
        section.notes.append("no external scores for this track")
    return section


def overall_score(record: Any) -> float | None:
    """The track's overall quality in [0, 1]: the record's combined score (``linernotes
    quality``), else one combined from its measurements and model scores with the default
    weights; ``None`` when there is no evidence at all."""
    section = getattr(record, "quality", None)
    if section is not None and section.combined_score is not None:
        return section.combined_score
    return quality_section(record).combined_score


def score_entry(song_id: str, title: str, section: QualitySection, path: str | None) -> ScoreEntry:
    """The scores-file entry: flat scores, flagged detectors and their one-line reasons."""
    flags: dict[str, str] = {}
    reasons: list[str] = []
    if section.objective is not None:
        for name, det in section.objective.detections.items():
            if det.flagged:
                flags[name] = det.status
                reasons.append(f"{name}: {det.reason}")
    if section.model is not None and section.model.status == "parse_failed":
        flags["model"] = "parse_failed"
        reasons.append(f"model: {section.model.reason}")
    reasons.extend(n for n in section.notes if not n.startswith("model score left out"))
    return ScoreEntry(
        song_id=song_id,
        title=title,
        scores=section.flat_scores(),
        path=path,
        flags=flags,
        reasons=reasons,
    )
