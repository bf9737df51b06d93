"""Beat placement on soft attacks (how prominent the onsets are at the beats, and the
regularised grid that replaces the tracked positions when they are not) and on unsteady
grids (a beat squeezed into every bar, tracked again more rigidly)."""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from linernotes.analyzers.rhythm.beat_tracking import (
    beat_prominence,
    off_period_share,
    refine_beats,
    regularize_beats,
    track_beats,
    track_steady_beats,
)
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.stage import rhythm
from linernotes.features import extract_features_from_array

PERIOD = 50.0


def _jittered_grid(
    n: int = 40, spread: float = 4.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    grid = 20.0 + np.arange(n) * PERIOD
    return grid, grid + rng.uniform(-spread, spread, n)


def test_regularised_beats_are_closer_to_the_grid_than_the_jittered_ones():
    grid, tracked = _jittered_grid()
    before = np.abs(tracked - grid)
    after = np.abs(regularize_beats(tracked) - grid)
    assert after.mean() < 0.6 * before.mean()
    assert after.max() < before.max()


def test_a_tempo_ramp_is_followed_not_flattened():
    # 20 % faster over 40 beats: each local line follows the ramp, off by the curvature
    # over seven beats only (under 2 % of a period, 10 ms at 120 BPM).
    periods = np.linspace(PERIOD, 0.8 * PERIOD, 40)
    beats = np.concatenate([[0.0], np.cumsum(periods)])
    assert np.abs(regularize_beats(beats) - beats).max() < 0.02 * PERIOD


def test_one_bad_beat_is_pulled_back_and_does_not_drag_its_neighbours():
    grid, _ = _jittered_grid(spread=0.0)
    tracked = grid.copy()
    tracked[20] += 0.2 * PERIOD  # a beat caught on the wrong peak, within the regular range
    out = regularize_beats(tracked)
    assert abs(out[20] - grid[20]) < 0.05 * PERIOD
    assert np.abs(out[np.arange(40) != 20] - grid[np.arange(40) != 20]).max() < 0.05 * PERIOD


def test_the_clearest_attacks_anchor_the_line():
    # Downbeats (every fourth beat) are struck on time; the weak beats between them swell
    # and were tracked late. Weighted by strength, the downbeats stay and the others move.
    grid, _ = _jittered_grid(spread=0.0)
    strong = np.arange(40) % 4 == 0
    tracked = np.where(strong, grid, grid + 0.1 * PERIOD)
    strength = np.where(strong, 3.0, 1.0)
    weighted = regularize_beats(tracked, strength=strength)
    plain = regularize_beats(tracked)
    assert np.abs(weighted - grid)[strong].max() < 0.01 * PERIOD
    assert np.abs(plain - grid)[strong].min() > 0.04 * PERIOD
    assert np.abs(weighted - grid)[~strong].mean() < 0.5 * np.abs(tracked - grid)[~strong].mean()


def test_uneven_groupings_and_skipped_beats_keep_their_tracked_positions():
    # 7/8 as 2+2+3 eighths: the pulses are not evenly spaced.
    groups = np.tile([2.0, 2.0, 3.0], 12) * 20.0
    uneven = np.concatenate([[0.0], np.cumsum(groups)])
    np.testing.assert_array_equal(regularize_beats(uneven), uneven)
    # A skipped beat: the beats whose window spans the gap stay where they were.
    grid, _ = _jittered_grid(spread=0.0)
    gap = np.delete(grid, 20)
    out = regularize_beats(gap)
    np.testing.assert_array_equal(out[16:24], gap[16:24])


def test_beats_without_onsets_stay_on_the_grid_between_two_anchors():
    # Nine beats of which only the first and last have any onset (random clicks of 5 s, by
    # chance close to a grid): the weighted lines once had one point each and the beats
    # collapsed onto the anchors, two sets of four at one time each.
    grid = 32.0 + np.arange(9) * 42.0
    strength = np.zeros(9)
    strength[[0, -1]] = 10.0
    out = regularize_beats(grid, strength=strength)
    assert np.all(np.diff(out) > 0.5 * 42.0)
    assert np.abs(out - grid).max() < 0.05 * 42.0


def test_too_few_beats_are_returned_unchanged():
    beats = np.array([0.0, 51.0, 99.0, 152.0])
    np.testing.assert_array_equal(regularize_beats(beats), beats)


def _envelope(shape: np.ndarray, beats: np.ndarray, n: int) -> np.ndarray:
    env = np.full(n, 0.05)
    for b in beats.astype(int):
        stop = min(n, b + shape.size)
        env[b:stop] += shape[: stop - b]
    return env


def test_prominence_tells_struck_from_swelling_attacks():
    beats = 10.0 + np.arange(30) * PERIOD
    n = int(beats[-1] + PERIOD)
    struck = _envelope(np.array([1.0, 0.4, 0.1]), beats, n)
    swell = _envelope(
        np.concatenate([np.linspace(0.2, 1.0, 10), np.linspace(1.0, 0.5, 40)]), beats - 5, n
    )
    assert beat_prominence(struck, beats) > 5.0
    assert beat_prominence(swell, beats) < 2.0
    assert beat_prominence(struck, beats[:2]) == 0.0


def test_clicks_are_prominent_enough_to_keep_their_tracked_beats():
    sr, bpm = 22050, 120.0
    y = np.zeros(sr * 12, np.float32)
    for t in np.arange(0.5, 11.5, 60.0 / bpm):
        i = int(t * sr)
        y[i : i + 200] += np.hanning(400)[200:].astype(np.float32)
    features = extract_features_from_array(y, sr)
    kept = rhythm(features, RhythmParams(soft_beat_prominence=0.0))
    default = rhythm(features, RhythmParams())
    assert default.beats == kept.beats
    forced = rhythm(features, RhythmParams(soft_beat_prominence=1e9))
    assert forced.bpm == kept.bpm  # the tempo is the tracked grid's either way


def _seven_eight_envelope(n_bars: int, group_onsets: float, period: float = 36.0) -> np.ndarray:
    """Eighth-note onsets of a 2+2+3 bar whose last group has three strokes of strength
    ``group_onsets`` at 3/4 of the period (the pull of a 7/8 piano bar's sixteenths) and only
    faint onsets on its own eighths."""
    env = np.zeros(int(n_bars * 7 * period + 4 * period))
    for bar in range(n_bars):
        b0 = bar * 7 * period
        for k in range(5):
            env[round(b0 + k * period)] = 1.0
        for k in range(1, 4):
            env[round(b0 + 4 * period + k * 0.75 * period)] = group_onsets
        env[round(b0 + 5 * period)] += 0.2
        env[round(b0 + 6 * period)] += 0.2
    env[round(n_bars * 7 * period)] = 1.0
    return scipy.ndimage.gaussian_filter1d(env, 1.0)


def test_steady_tracking_removes_a_beat_squeezed_into_every_bar() -> None:
    period, n_bars = 36.0, 24
    env = _seven_eight_envelope(n_bars, group_onsets=2.0, period=period)
    loose = refine_beats(env, track_beats(env, period_frames=period))
    assert loose.size == 8 * n_bars  # one pulse too many in every bar
    assert off_period_share(loose) > 0.14
    steady = track_steady_beats(env, period_frames=period)
    assert steady.size == 7 * n_bars + 1
    assert off_period_share(steady) == 0.0
    np.testing.assert_allclose(np.diff(steady), period, atol=1.0)


def test_steady_tracking_leaves_a_steady_grid_alone() -> None:
    period = 36.0
    env = _seven_eight_envelope(24, group_onsets=1.0, period=period)
    loose = refine_beats(env, track_beats(env, period_frames=period))
    assert off_period_share(loose) <= 0.14  # kept as tracked: expressive timing stays
    np.testing.assert_array_equal(track_steady_beats(env, period_frames=period), loose)
