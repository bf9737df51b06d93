"""Tests of the rhythm stage's building blocks (onset envelopes, tempo salience and prior,
beat tracking, bar fit, subdivision, tempo changes, tempo from pitch changes, downbeat score)
on small synthesized inputs; the whole stage is tested in ``test_rhythm``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from rhythm_signals import FRAME_RATE, SR, click_track, close

from linernotes.analyzers.rhythm import tempo as tempo_module
from linernotes.analyzers.rhythm.bar_length import bar_fit
from linernotes.analyzers.rhythm.beat_tracking import refine_beats, track_beats
from linernotes.analyzers.rhythm.onsets import onset_strength_bands, pick_onsets
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.stage import rhythm
from linernotes.analyzers.rhythm.subdivision import (
    COMPOUND_FEATURES,
    COMPOUND_WEIGHTS,
    compound_evidence,
    compound_probability,
    subdivision_profile,
)
from linernotes.analyzers.rhythm.tempo import (
    estimate_tempo,
    tempo_from_changes,
    tempo_prior,
    tempo_salience,
)
from linernotes.features import extract_features_from_array

# --------------------------------------------------------------------------------------------
# Building blocks


def test_onset_envelope_marks_a_step_and_its_band():
    mel = np.full((64, 200), -100.0, np.float32)
    mel[:3, 100:] = -10.0  # a rise in the lowest bands only
    env = onset_strength_bands(mel, sr=SR, fmin=27.5, fmax=11025.0)
    assert int(np.argmax(env.full)) == 100
    assert env.low.max() > 10 * max(env.high.max(), 1e-6)
    assert env.full[:100].max() == 0.0


def test_onset_envelopes_do_not_depend_on_the_block_size():
    # blocks bound the memory of long tracks; the envelopes must be identical to the bit
    mel = np.random.default_rng(5).normal(-40.0, 20.0, (64, 1001)).astype(np.float32)
    whole = onset_strength_bands(mel, block_frames=10**6)
    for block in (1, 2, 7, 256):
        part = onset_strength_bands(mel, block_frames=block)
        for name in ("full", "low", "mid", "high"):
            assert np.array_equal(getattr(whole, name), getattr(part, name)), (name, block)


def test_tempo_salience_does_not_depend_on_the_window_batch(monkeypatch):
    env = np.abs(np.random.default_rng(6).normal(0.0, 1.0, int(600 * FRAME_RATE)))
    whole = tempo_salience(env, frame_rate=FRAME_RATE)  # 297 windows: two batches of 256
    monkeypatch.setattr(tempo_module, "_WINDOW_BATCH", 64)
    part = tempo_salience(env, frame_rate=FRAME_RATE)
    for name in ("acf", "dft", "combined", "local", "window_weight", "lag_acf"):
        assert np.array_equal(getattr(whole, name), getattr(part, name)), name


def test_pick_onsets_finds_isolated_peaks_and_ignores_noise():
    env = np.zeros(500)
    env[[50, 150, 152, 300]] = [10.0, 8.0, 9.0, 12.0]
    onsets = pick_onsets(env, frame_rate=FRAME_RATE)
    assert onsets.tolist() == [50, 152, 300]
    noise = np.abs(np.random.default_rng(0).normal(0, 0.5, 2000))
    assert pick_onsets(noise, frame_rate=FRAME_RATE).size == 0


def test_tempo_prior_peaks_at_centre():
    p = tempo_prior(np.array([55.0, 110.0, 220.0]), center_bpm=110.0, std_octaves=1.0)
    assert p[1] == pytest.approx(1.0)
    assert p[0] == pytest.approx(np.exp(-0.5)) and p[2] == pytest.approx(np.exp(-0.5))


def test_estimate_tempo_on_impulses_and_flat_input():
    env = np.zeros(int(30 * FRAME_RATE))
    env[np.round(np.arange(0.2, 29.5, 60 / 97) * FRAME_RATE).astype(int)] = 1.0
    est = estimate_tempo(env, frame_rate=FRAME_RATE)
    assert close(est.bpm, 97, 0.015)
    assert est.strength > 0.5
    flat = estimate_tempo(np.ones(2000), frame_rate=FRAME_RATE)
    assert flat.bpm is None


def test_track_beats_handles_missing_onsets_and_refines():
    period = 0.5 * FRAME_RATE
    pos = np.arange(2, 40) * period
    env = np.zeros(int(21 * FRAME_RATE))
    frames = np.round(pos).astype(int)
    env[frames] = 1.0
    env[frames[10:14]] = 0.0  # a four-beat break: the grid must bridge it
    beats = track_beats(env, period_frames=period)
    assert beats.size == pos.size
    assert np.all(np.abs(beats - pos) <= 1.0)
    # Sub-frame refinement moves a beat to the vertex of a parabola through the peak.
    env2 = np.zeros(50)
    env2[[19, 20, 21]] = [0.5, 1.0, 0.9]
    refined = refine_beats(env2, np.array([20]))
    assert 20.0 < refined[0] < 20.5
    assert track_beats(np.zeros(100), period_frames=20).size == 0


def test_bar_fit_prefers_true_bar_length():
    accents = np.tile([3.0, 1.0, 2.0, 1.0], 16)[:, None]
    fit = bar_fit(accents, [2, 3, 4])
    assert fit[4] > 0.99 and fit[3] < 0.05 and fit[2] < fit[4]


def test_subdivision_profile_separates_thirds_from_halves():
    beats = np.arange(10, 1000, 48.0)
    env = np.zeros(1100)
    env[beats.astype(int)] = 1.0
    triplets = env.copy()
    triplets[(beats[:-1] + 16).astype(int)] = 0.6
    triplets[(beats[:-1] + 32).astype(int)] = 0.6
    eighths = env.copy()
    eighths[(beats[:-1] + 24).astype(int)] = 0.6
    pt = subdivision_profile(triplets, beats)
    pe = subdivision_profile(eighths, beats)
    assert pt[4] > 0.5 and pt[8] > 0.5 and pt[6] < 0.1
    assert pe[6] > 0.5 and pe[4] < 0.1
    assert compound_probability(pt) > 0.9 and compound_probability(pe) < 0.1


def test_compound_probability_needs_the_first_third():
    # A 6/8 beat whose middle eighth is softer (common in broken chords) is still compound;
    # swung eighths (an onset at two thirds only) and straight sixteenths are not.
    soft_middle = np.array([1, 0.02, 0.02, 0.02, 0.2, 0.02, 0.02, 0.02, 0.7, 0.02, 0.02, 0.02])
    swing = np.array([1, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.7, 0.02, 0.02, 0.02])
    sixteenths = np.array([1, 0.02, 0.02, 0.5, 0.02, 0.02, 0.7, 0.02, 0.02, 0.5, 0.02, 0.02])
    assert compound_probability(soft_middle) > 0.5
    assert compound_probability(swing) == 0.0
    assert compound_probability(sixteenths) < 0.5
    assert compound_probability(np.zeros(12)) == 0.0
    assert tuple(compound_evidence(soft_middle)) == COMPOUND_FEATURES
    assert len(COMPOUND_WEIGHTS) == len(COMPOUND_FEATURES) + 1


def _clicks(tempo_at: Callable[[float], float], seconds: float, sr: int = 22050) -> np.ndarray:
    """Hann clicks whose spacing follows ``tempo_at(t)`` (BPM)."""
    y = np.zeros(int(sr * seconds), np.float32)
    t = 0.25
    while t < seconds - 0.5:
        i = int(t * sr)
        y[i : i + 300] += np.hanning(300).astype(np.float32)
        t += 60.0 / tempo_at(t)
    return y


def test_tempo_change_is_reported_as_segments_not_averaged() -> None:
    y = _clicks(lambda t: 100.0 if t < 40 else 130.0, 80.0)
    result = rhythm(extract_features_from_array(y, 22050), RhythmParams())
    segs = [(s.start, s.end, s.bpm) for s in result.tempo_segments]
    assert len(segs) == 2, segs
    assert abs(segs[0][2] - 100) < 2 and abs(segs[1][2] - 130) < 2
    assert 36 < segs[0][1] < 45  # the change is placed near 40 s
    bpms = [b for _, b in result.tempo_curve]
    assert min(bpms) < 102 and max(bpms) > 128


def test_steady_tempo_is_one_segment() -> None:
    y = _clicks(lambda t: 120.0, 40.0)
    result = rhythm(extract_features_from_array(y, 22050), RhythmParams())
    assert len(result.tempo_segments) == 1
    assert abs(result.tempo_segments[0].bpm - 120) < 1.5


def _harmonic_rhythm(
    bpm: float, beats_per_change: int, seconds: float, pulse: float, rng: np.random.Generator
) -> tuple[float, np.ndarray, np.ndarray]:
    """Frame rate, a change envelope with a chord every ``beats_per_change`` beats, and noisy
    onsets with a pulse of ``pulse`` on every beat."""
    fr = 22050 / 256
    n = int(seconds * fr)
    beat = 60.0 / bpm * fr
    group = beats_per_change * beat
    changes = np.zeros(n)
    changes[np.round(np.arange(0, n / group) * group).astype(int) % n] = 1.0
    onsets = rng.random(n)
    onsets[np.round(np.arange(0, n / beat) * beat).astype(int) % n] += pulse
    return fr, changes, onsets


def test_tempo_from_changes_divides_the_harmonic_rhythm_into_beats() -> None:
    """Chords change every two beats at 90 BPM (45 changes a minute); the onsets are mostly
    noise with a faint pulse on the beats: the beat is 90, not the change rate."""
    rng = np.random.default_rng(3)
    fr, changes, onsets = _harmonic_rhythm(90.0, 2, 40.0, 1.5, rng)
    assert estimate_tempo(rng.random(changes.size), frame_rate=fr, min_strength=0.2).bpm is None
    est = tempo_from_changes(
        changes, tempo_salience(onsets, frame_rate=fr), frame_rate=fr, min_strength=0.2
    )
    assert est.bpm is not None and abs(est.bpm / 90.0 - 1) < 0.04, est.bpm
    assert 0.5 < est.octave_margin <= 1.0


def test_tempo_from_changes_finds_groups_slower_than_the_beat_floor() -> None:
    """A chord per bar of three at 66 BPM is 22 changes a minute, below the 30 BPM beat
    floor: the group search falls back below it, and where the onsets pulse on the beat the
    beat (not the group) is reported. With the fallback off nothing is found."""
    fr, changes, onsets = _harmonic_rhythm(66.0, 3, 45.0, 3.0, np.random.default_rng(5))
    salience = tempo_salience(onsets, frame_rate=fr)
    est = tempo_from_changes(changes, salience, frame_rate=fr, min_strength=0.2)
    assert est.bpm is not None and abs(est.bpm / 66.0 - 1) < 0.04, est.bpm
    floor_at_beat = tempo_from_changes(
        changes, salience, frame_rate=fr, min_strength=0.2, min_group_bpm=30.0
    )
    assert floor_at_beat.bpm is None


def test_tempo_from_changes_reports_nothing_without_periodic_changes() -> None:
    fr = 22050 / 256
    rng = np.random.default_rng(4)
    n = int(30 * fr)
    onsets = tempo_salience(rng.random(n), frame_rate=fr)
    est = tempo_from_changes(rng.random(n), onsets, frame_rate=fr, min_strength=0.2)
    assert est.bpm is None


def test_downbeat_score_is_the_fitted_weighting_of_its_evidence():
    """The bar is placed by the ``downbeat`` weights of the fitted-weights file over the
    z-scored evidence each beat records (what ``bench/fit_downbeat`` fits)."""
    from linernotes.analyzers.rhythm.beat_features import DOWNBEAT_EVIDENCE, DOWNBEAT_WEIGHTS
    from linernotes.analyzers.rhythm.meter import describe_pulses
    from linernotes.analyzers.rhythm.pulse import PulseTrack, track_pulses

    y, _, downs = click_track(120, 4)
    features = extract_features_from_array(y, SR)
    track = track_pulses(features, RhythmParams())
    assert isinstance(track, PulseTrack)
    described = describe_pulses(features, track, track.pulse_frames)
    evidence = described.downbeat_evidence
    assert evidence is not None and evidence.shape == (
        track.pulse_frames.size,
        len(DOWNBEAT_EVIDENCE),
    )
    np.testing.assert_allclose(described.downbeat, evidence @ np.asarray(DOWNBEAT_WEIGHTS[1:]))
    # the louder, higher downbeat click scores highest in its bar
    times = track.pulse_frames / track.frame_rate
    on_down = np.min(np.abs(times[:, None] - downs[None, :]), axis=1) < 0.05
    assert described.downbeat[on_down].mean() > described.downbeat[~on_down].mean()
