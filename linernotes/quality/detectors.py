"""Objective quality detectors: pure functions from measured figures to a :class:`Detection`.

Each function takes numbers or arrays (never files), applies limits from
:class:`QualityThresholds` and says in one line why it passed, warned or failed. The figures
come from the loudness analyzer (integrated loudness, LRA, true peak, crest factor, clipping)
or directly from :class:`~linernotes.dsp.LoudnessBlocks` (100 ms block powers and the stereo
cross term) and :class:`~linernotes.dsp.NativeSpectrum`.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from linernotes.dsp import NativeSpectrum
from linernotes.models.quality import Detection, Status
from linernotes.quality.detection import grade_above, grade_below, worst
from linernotes.quality.spectrum import analyse_bandwidth, noise_floor


class QualityThresholds(BaseModel, frozen=True):
    """Limits of every detector (warn, fail). Part of the quality stage's cache key.

    Clipping counts samples in flat tops near full scale (0.98 of it after an 11 kHz low-pass,
    so a file and its lossy copy count alike) and decoded samples beyond it; an inter-sample
    peak over ``clip_true_peak_dbtp`` beside them makes at least a warning. Silence is a 100 ms
    block whose
    loudest channel is below ``silence_dbfs``; stereo figures use only blocks where both
    channels carry signal.
    """

    clip_ratio_warn: float = 1e-5
    clip_ratio_fail: float = 1e-3
    """Share of the samples at full scale."""
    clip_run_warn: int = 3
    clip_run_fail: int = 8
    """Longest run of consecutive clipped samples."""
    clip_true_peak_dbtp: float = 0.5
    """A 4x oversampled true peak above this, with flat tops, is clipping at least worth a
    warning."""
    true_peak_warn_dbtp: float = 0.0
    true_peak_fail_dbtp: float = 1.0
    """True peak above these (dBTP)."""
    lufs_quiet_warn: float = -26.0
    lufs_quiet_fail: float = -36.0
    lufs_loud_warn: float = -7.0
    lufs_loud_fail: float = -4.0
    """Integrated loudness below the quiet or above the loud limits (LUFS)."""
    lra_low_warn_lu: float = 1.0
    lra_high_warn_lu: float = 20.0
    lra_min_duration_s: float = 60.0
    """Loudness range outside these (LU), judged on tracks this long or longer."""
    crest_warn_db: float = 8.0
    crest_fail_db: float = 5.0
    """Peak-to-RMS ratio below these (dB)."""
    bandwidth_warn_hz: float = 18500.0
    bandwidth_fail_hz: float = 14000.0
    """Effective bandwidth below these (Hz)."""
    silence_dbfs: float = -60.0
    edge_silence_warn_s: float = 2.0
    edge_silence_fail_s: float = 5.0
    """Leading or trailing silence longer than these (s)."""
    silence_ratio_warn: float = 0.15
    silence_ratio_fail: float = 0.5
    """Share of silent blocks."""
    dc_warn: float = 0.01
    dc_fail: float = 0.025
    """Largest channel mean, of full scale."""
    correlation_warn: float = -0.1
    correlation_fail: float = -0.2
    fold_loss_warn_db: float = -6.0
    fold_loss_fail_db: float = -9.0
    """Left/right correlation, and the level a mono fold-down loses (dB), below these."""
    snr_warn_db: float = 35.0
    snr_fail_db: float = 28.0
    """Signal over the steady noise floor (dB) below these."""


def _unknown(reason: str, unit: str = "") -> Detection:
    return Detection(value=None, status="unknown", unit=unit, reason=reason)


def _verdict(
    value: float | None, status: Status, unit: str, limits: dict[str, float], reason: str,
    **details: float | int | None,
) -> Detection:  # fmt: skip
    """A detector's result (``limits``: the thresholds that decided ``status``)."""
    return Detection(value=value, status=status, unit=unit, threshold=limits, reason=reason,
                     details=details)  # fmt: skip


def _limits(t: QualityThresholds, **names: str) -> dict[str, float]:
    """``{key: t.<name>}``: the thresholds a detector reports, by the names it reports."""
    return {key: float(getattr(t, name)) for key, name in names.items()}


def detect_clipping(
    clipped_samples: int,
    total_samples: int,
    longest_run: int,
    t: QualityThresholds,
    *,
    over_samples: int = 0,
    true_peak_dbtp: float | None = None,
) -> Detection:
    """Share of samples in flat tops near full scale (or beyond it) and the longest run of
    them; an inter-sample peak over ``t.clip_true_peak_dbtp`` beside flat tops warns at least.
    Decoded overs (``over_samples``) are part of the count and reported on their own."""
    if total_samples <= 0:
        return _unknown("no samples", "ratio")
    ratio = clipped_samples / total_samples
    status = worst(
        grade_above(ratio, t.clip_ratio_warn, t.clip_ratio_fail),
        grade_above(longest_run, t.clip_run_warn, t.clip_run_fail),
    )
    inter_sample = (true_peak_dbtp is not None and true_peak_dbtp > t.clip_true_peak_dbtp
                    and clipped_samples > 0)  # fmt: skip
    if inter_sample:
        status = worst(status, "warn")
    verdict = {"pass": "no clipping to speak of", "warn": "some clipping", "fail": "clipped"}
    limits = _limits(t, ratio_warn="clip_ratio_warn", ratio_fail="clip_ratio_fail",
                     run_warn="clip_run_warn", run_fail="clip_run_fail",
                     true_peak_dbtp="clip_true_peak_dbtp")  # fmt: skip
    reason = (f"{verdict[status]}: {clipped_samples} samples in flat tops at full scale "
              f"({ratio:.2e}), longest run {longest_run}")  # fmt: skip
    if over_samples:
        reason += f", {over_samples} decoded beyond full scale"
    if inter_sample:
        reason += f", true peak {true_peak_dbtp:+.2f} dBTP"
    return _verdict(round(ratio, 8), status, "ratio", limits, reason,
                    clipped_samples=int(clipped_samples), longest_run=int(longest_run),
                    over_samples=int(over_samples))  # fmt: skip


def detect_true_peak(true_peak_dbtp: float | None, t: QualityThresholds) -> Detection:
    """Inter-sample peaks over 0 dBTP clip in every lossy encoder and DAC."""
    if true_peak_dbtp is None:
        return _unknown("digital silence", "dBTP")
    status: Status = "pass"
    if true_peak_dbtp > t.true_peak_fail_dbtp:
        status = "fail"
    elif true_peak_dbtp > t.true_peak_warn_dbtp:
        status = "warn"
    note = " (over full scale)" if status != "pass" else ""
    limits = _limits(t, warn="true_peak_warn_dbtp", fail="true_peak_fail_dbtp")
    return _verdict(true_peak_dbtp, status, "dBTP", limits,
                    f"true peak {true_peak_dbtp:+.2f} dBTP{note}")  # fmt: skip


def detect_loudness(integrated_lufs: float | None, t: QualityThresholds) -> Detection:
    """Integrated loudness far below streaming targets (buried) or crushed far above them."""
    if integrated_lufs is None:
        return Detection(
            value=None, status="fail", unit="LUFS", reason="no programme above the -70 LUFS gate"
        )
    status = worst(
        grade_below(integrated_lufs, t.lufs_quiet_warn, t.lufs_quiet_fail),
        grade_above(integrated_lufs, t.lufs_loud_warn, t.lufs_loud_fail),
    )
    word = "" if status == "pass" else (" (too quiet)" if integrated_lufs < -14 else " (too loud)")
    limits = _limits(t, quiet_warn="lufs_quiet_warn", quiet_fail="lufs_quiet_fail",
                     loud_warn="lufs_loud_warn", loud_fail="lufs_loud_fail")  # fmt: skip
    return _verdict(integrated_lufs, status, "LUFS", limits,
                    f"integrated loudness {integrated_lufs:.1f} LUFS{word}")  # fmt: skip


def detect_loudness_range(
    lra_lu: float | None, t: QualityThresholds, duration_s: float | None = None
) -> Detection:
    """Loudness range: under 1 LU is a squashed master, over 20 LU hard to play back. EBU
    Tech 3342 measures programmes, not clips: under ``lra_min_duration_s`` the figure is
    reported but not judged (a 20 s loop has no loudness range to speak of)."""
    if lra_lu is None:
        return _unknown("too short or too quiet for a loudness range", "LU")
    if duration_s is not None and duration_s < t.lra_min_duration_s:
        reason = f"loudness range {lra_lu:.1f} LU (not judged: {duration_s:.0f} s is too short)"
        return _verdict(lra_lu, "unknown", "LU", _limits(t, min_duration_s="lra_min_duration_s"),
                        reason)  # fmt: skip
    status: Status = "warn" if lra_lu < t.lra_low_warn_lu or lra_lu > t.lra_high_warn_lu else "pass"
    limits = _limits(t, low_warn="lra_low_warn_lu", high_warn="lra_high_warn_lu")
    return _verdict(lra_lu, status, "LU", limits, f"loudness range {lra_lu:.1f} LU")


def detect_crest_factor(crest_db: float | None, t: QualityThresholds) -> Detection:
    """Peak-to-RMS ratio: a few dB means heavy limiting or clipping."""
    if crest_db is None:
        return _unknown("digital silence", "dB")
    status = grade_below(crest_db, t.crest_warn_db, t.crest_fail_db)
    note = " (over-compressed)" if status != "pass" else ""
    limits = _limits(t, warn="crest_warn_db", fail="crest_fail_db")
    return _verdict(crest_db, status, "dB", limits, f"crest factor {crest_db:.1f} dB{note}")


def detect_bandwidth(spectrum: NativeSpectrum | None, t: QualityThresholds) -> Detection:
    """Effective bandwidth: a brick-wall cut-off well below the Nyquist frequency marks a lossy
    transcode (MP3 64k: ~11 kHz, 128k: ~16-17 kHz) or upsampled audio."""
    if spectrum is None:
        return _unknown("native spectrum not collected for this record", "Hz")
    if spectrum.n_frames == 0 or not np.any(spectrum.ltas > 0):
        return _unknown("no signal to measure a bandwidth on", "Hz")
    est = analyse_bandwidth(spectrum.ltas, spectrum.sr)
    nyquist = spectrum.sr / 2
    limits = _limits(t, warn="bandwidth_warn_hz", fail="bandwidth_fail_hz")
    if not est.cut_off:
        status = grade_below(nyquist, t.bandwidth_warn_hz, t.bandwidth_fail_hz)
        reason = f"no cut-off below the Nyquist frequency ({nyquist / 1000:.1f} kHz)"
        if status != "pass":
            reason = f"sample rate {spectrum.sr} Hz limits the band to {nyquist / 1000:.1f} kHz"
        return _verdict(nyquist, status, "Hz", limits, reason, cliff_db=0.0)
    status = grade_below(est.hz, t.bandwidth_warn_hz, t.bandwidth_fail_hz)
    kind = {"pass": "", "warn": " (lossy transcode or upsampled?)", "fail": " (lossy or upsampled)"}
    reason = f"spectrum cut off at {est.hz / 1000:.1f} kHz, {est.cliff_db:.0f} dB wall"
    reason += kind[status]
    return _verdict(round(est.hz, 1), status, "Hz", limits, reason, cliff_db=est.cliff_db)


def silent_blocks(power: np.ndarray, silence_dbfs: float) -> np.ndarray:
    """Boolean per 100 ms block: the loudest channel's RMS is below ``silence_dbfs``."""
    if power.size == 0:
        return np.zeros(0, bool)
    loudest = power.max(axis=0) if power.ndim == 2 else power
    return loudest < 10.0 ** (silence_dbfs / 10.0)


def edge_silence_s(silent: np.ndarray, block_s: float) -> tuple[float, float]:
    """Seconds of silence before the first and after the last non-silent block."""
    if silent.size == 0:
        return 0.0, 0.0
    sound = np.flatnonzero(~silent)
    if sound.size == 0:
        total = silent.size * block_s
        return total, total
    return float(sound[0] * block_s), float((silent.size - 1 - sound[-1]) * block_s)


def detect_silence(power: np.ndarray, block_s: float, t: QualityThresholds) -> Detection:
    """Leading/trailing silence and the share of silent blocks overall; value = that share."""
    silent = silent_blocks(power, t.silence_dbfs)
    if silent.size == 0:
        return _unknown("no complete 100 ms block", "ratio")
    lead, trail = edge_silence_s(silent, block_s)
    ratio = float(silent.mean())
    status = worst(
        grade_above(max(lead, trail), t.edge_silence_warn_s, t.edge_silence_fail_s),
        grade_above(ratio, t.silence_ratio_warn, t.silence_ratio_fail),
    )
    limits = _limits(t, edge_warn_s="edge_silence_warn_s", edge_fail_s="edge_silence_fail_s",
                     ratio_warn="silence_ratio_warn", ratio_fail="silence_ratio_fail",
                     level_dbfs="silence_dbfs")  # fmt: skip
    reason = f"{ratio:.0%} silent; {lead:.1f} s leading, {trail:.1f} s trailing"
    return _verdict(round(ratio, 4), status, "ratio", limits, reason,
                    leading_s=round(lead, 2), trailing_s=round(trail, 2))  # fmt: skip


def detect_dc_offset(dc_offset: np.ndarray | list[float], t: QualityThresholds) -> Detection:
    """Largest per-channel mean: a DC offset wastes headroom and thumps at edits."""
    dc = np.abs(np.asarray(dc_offset, dtype=np.float64))
    if dc.size == 0:
        return _unknown("no channels", "FS")
    value = float(dc.max())
    status = grade_above(value, t.dc_warn, t.dc_fail)
    return _verdict(round(value, 6), status, "FS", _limits(t, warn="dc_warn", fail="dc_fail"),
                    f"DC offset {value:.4f} of full scale")  # fmt: skip


def stereo_figures(power: np.ndarray, cross: np.ndarray | None) -> tuple[float, float] | None:
    """(correlation, mono fold-down gain in dB) over blocks where both channels carry signal.

    The fold-down gain compares the power of (L + R) / 2 with the mean channel power: 0 dB for
    identical channels, -3 dB for unrelated ones, very negative when the channels cancel.
    """
    if cross is None or power.ndim != 2 or power.shape[0] < 2 or cross.size == 0:
        return None
    left, right = power[0], power[1]
    n = min(left.size, right.size, cross.size)
    left, right, c = left[:n], right[:n], cross[:n]
    active = (left > 1e-8) & (right > 1e-8)
    if active.sum() < 2:
        return None
    pl, pr, pc = float(left[active].sum()), float(right[active].sum()), float(c[active].sum())
    corr = pc / np.sqrt(pl * pr)
    fold = (pl + pr + 2.0 * pc) / (2.0 * (pl + pr))
    return float(corr), float(10.0 * np.log10(max(fold, 1e-12)))


def detect_stereo(power: np.ndarray, cross: np.ndarray | None, t: QualityThresholds) -> Detection:
    """Phase problems: negative correlation (a polarity-inverted channel) and a mono fold-down
    that cancels. Value = the correlation."""
    figures = stereo_figures(power, cross)
    if figures is None:
        return _unknown("mono, or one channel silent", "corr")
    corr, fold_db = figures
    status = worst(
        grade_below(corr, t.correlation_warn, t.correlation_fail),
        grade_below(fold_db, t.fold_loss_warn_db, t.fold_loss_fail_db),
    )
    note = {"pass": "", "warn": " (phase problem?)", "fail": " (out of phase)"}
    limits = _limits(t, corr_warn="correlation_warn", corr_fail="correlation_fail",
                     fold_warn_db="fold_loss_warn_db",
                     fold_fail_db="fold_loss_fail_db")  # fmt: skip
    reason = f"L/R correlation {corr:+.2f}, mono fold-down {fold_db:+.1f} dB{note[status]}"
    return _verdict(round(corr, 4), status, "corr", limits, reason,
                    mono_fold_db=round(fold_db, 2))  # fmt: skip


def detect_noise_floor(spectrum: NativeSpectrum | None, t: QualityThresholds) -> Detection:
    """Steady broadband noise (hiss, added noise) under the music: the signal-to-floor ratio
    in dB (value), see :func:`~linernotes.quality.spectrum.noise_floor`."""
    if spectrum is None:
        return _unknown("native spectrum not collected for this record", "dB")
    bw = analyse_bandwidth(spectrum.ltas, spectrum.sr)
    nf = noise_floor(spectrum.band_power, spectrum.band_edges_hz, bandwidth_hz=bw.hz)
    if nf.snr_db is None:
        return _unknown("too little signal to estimate a noise floor", "dB")
    status = grade_below(nf.snr_db, t.snr_warn_db, t.snr_fail_db)
    reason = (f"steady floor {nf.floor_dbfs:.1f} dBFS (white-equivalent, read at"
              f" {(nf.band_hz or 0) / 1000:.1f} kHz), {nf.snr_db:.1f} dB under the signal"
              + (" (noisy)" if status != "pass" else ""))  # fmt: skip
    return _verdict(nf.snr_db, status, "dB", _limits(t, warn="snr_warn_db", fail="snr_fail_db"),
                    reason, floor_dbfs=nf.floor_dbfs, signal_dbfs=nf.signal_dbfs,
                    band_hz=nf.band_hz)  # fmt: skip
