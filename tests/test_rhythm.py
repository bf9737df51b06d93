"""Tests of the rhythm stage on synthesized audio with known beats, downbeats and metre.

Every signal is built here in numpy: click tracks with accented downbeats, compound (6/8,
12/8) accent patterns, drum patterns from filtered noise bursts and swept-sine kicks, and a
"band" (drums plus a bass line changing chord every bar, which gives the harmonic cue to
downbeats that real music has). Drum and compound tracks sit on a quiet sustained chord with a
faint noise floor, as instruments in a real mix do: hi-hats that rise from digital silence in
bands where nothing else sounds would weigh far more than they do in recorded music.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import mir_eval
import numpy as np
import pytest

from linernotes.analyzers.rhythm import tempo as tempo_module
from linernotes.analyzers.rhythm.bar_length import bar_fit, meter_confidence
from linernotes.analyzers.rhythm.bar_phase import track_bar_phase
from linernotes.analyzers.rhythm.beat_tracking import refine_beats, track_beats
from linernotes.analyzers.rhythm.onsets import onset_strength_bands, pick_onsets
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.result import RhythmResult, summarize_rhythm
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
from linernotes.features import Features, extract_features_from_array

SR = 22050
FRAME_RATE = SR / 256


# --------------------------------------------------------------------------------------------
# Signal synthesis


def _burst(kind: str, amp: float, rng: np.random.Generator) -> np.ndarray:
    n = int(0.25 * SR)
    t = np.arange(n) / SR
    if kind == "click_hi":
        x = np.sin(2 * np.pi * 1500 * t) * np.exp(-t / 0.015)
    elif kind == "click":
        x = np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.015)
    elif kind == "kick":
        freq = 50 + 80 * np.exp(-t / 0.03)
        x = np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / 0.15)
        x = x + 0.5 * rng.standard_normal(n) * np.exp(-t / 0.004)  # beater click
    elif kind == "snare":
        noise = rng.standard_normal(n)
        x = 0.6 * noise * np.exp(-t / 0.06) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.08)
    elif kind == "hat":
        noise = rng.standard_normal(n)
        x = 0.5 * np.diff(np.concatenate([[0.0], noise])) * np.exp(-t / 0.02)
    else:
        raise ValueError(kind)
    return amp * x


def _bed(n: int) -> np.ndarray:
    """A quiet sustained A major chord with a faint noise floor (about -46 dB)."""
    t = np.arange(n) / SR
    chord = sum(np.sin(2 * np.pi * f * t + k) for k, f in enumerate((220.0, 277.2, 329.6, 440.0)))
    return 0.02 * chord + 0.004 * np.random.default_rng(7).standard_normal(n)


def _render(
    events: list[tuple[float, str, float]], dur: float, seed: int = 0, bed: bool = False
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(int(dur * SR) + SR)
    for t0, kind, amp in events:
        b = _burst(kind, amp, rng)
        i = round(t0 * SR)
        m = min(b.size, y.size - i)
        if m > 0:
            y[i : i + m] += b[:m]
    y = y[: int(dur * SR)]
    y = y / max(1e-9, float(np.abs(y).max()))
    if bed:
        y = y + _bed(y.size) / 0.5
    return (0.5 * y / max(1e-9, float(np.abs(y).max()))).astype(np.float32)


def click_track(bpm: float, beats_per_bar: int = 4, dur: float = 20.0, start: float = 0.5):
    """Clicks on every beat; the downbeat click is higher and louder."""
    times = np.arange(start, dur - 0.1, 60.0 / bpm)
    events = [
        (t, "click_hi", 2.0) if i % beats_per_bar == 0 else (t, "click", 1.0)
        for i, t in enumerate(times)
    ]
    return _render(events, dur), times, times[::beats_per_bar]


def compound_track(bpm_dotted: float, felt_per_bar: int = 2, dur: float = 20.0, start: float = 0.5):
    """6/8 (felt_per_bar=2) or 12/8 (4): eighths strong-weak-weak-medium-weak-weak."""
    eighths = np.arange(start, dur - 0.1, 60.0 / bpm_dotted / 3)
    per_bar = 3 * felt_per_bar
    events = []
    for i, t in enumerate(eighths):
        pos = i % per_bar
        if pos == 0:
            events.append((t, "click_hi", 2.0))
        elif pos % 3 == 0:
            events.append((t, "click", 1.3))
        else:
            events.append((t, "click", 0.5))
    return _render(events, dur, bed=True), eighths[::3], eighths[::per_bar]


def drum_track(bpm: float, meter: int = 4, dur: float = 20.0, start: float = 0.3, swing=False):
    """Kick on 1 and 3 (and the "and" of 3), snare on 2 and 4, quiet hi-hat eighths (or a
    three-beat pattern for ``meter=3``), over the sustained bed."""
    period = 60.0 / bpm
    beats = np.arange(start, dur - 0.1, period)
    events = []
    for i, t in enumerate(beats):
        pos = i % meter
        if meter == 4:
            if pos in (0, 2):
                events.append((t, "kick", 1.0 if pos == 0 else 0.8))
            else:
                events.append((t, "snare", 0.8))
            if pos == 2:
                events.append((t + period / 2, "kick", 0.6))
        else:
            events.append((t, "kick", 1.0) if pos == 0 else (t, "snare", 0.5))
        events.append((t, "hat", 0.22))
        events.append((t + period * (2 / 3 if swing else 0.5), "hat", 0.15))
    return _render(events, dur, bed=True), beats, beats[::meter]


def band_track(
    bpm: float, meter: int = 4, dur: float = 20.0, start: float = 0.3, chord_beats: int = 0
):
    """:func:`drum_track` plus a bass note per bar (I-IV-V-I roots), or every ``chord_beats``
    beats."""
    y, beats, downs = drum_track(bpm, meter=meter, dur=dur, start=start)
    y = y.astype(np.float64)
    bar = 60.0 / bpm * (chord_beats or meter)
    t = np.arange(int(bar * SR)) / SR
    for k, t0 in enumerate(beats[:: chord_beats or meter]):
        f0 = (55.0, 73.42, 82.41, 55.0)[k % 4]
        note = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in range(1, 6))
        note *= np.minimum(1.0, t / 0.01) * np.exp(-t / (0.8 * bar))
        i = round(t0 * SR)
        m = min(note.size, y.size - i)
        y[i : i + m] += 0.125 * note[:m]
    return (0.5 * y / np.abs(y).max()).astype(np.float32), beats, downs


@cache
def analyse(kind: str, *args) -> tuple[RhythmResult, np.ndarray, np.ndarray]:
    maker = {
        "click": click_track,
        "compound": compound_track,
        "drum": drum_track,
        "band": band_track,
    }[kind]
    y, beats, downs = maker(*args)
    return rhythm(extract_features_from_array(y, SR), RhythmParams()), beats, downs


def f_measure(ref: np.ndarray, est: list[float]) -> float:
    return float(mir_eval.beat.f_measure(np.asarray(ref), np.asarray(est, dtype=np.float64)))


def close(a: float | None, b: float, tol: float = 0.02) -> bool:
    return a is not None and abs(a / b - 1.0) <= tol


# --------------------------------------------------------------------------------------------
# Tempo, beats and downbeats


def test_downbeats_follow_a_bar_that_slips_half_way():
    """A bar of three in the middle of 4/4 (an edit, a dropped beat) moves every later
    downbeat by one beat: the bar grid must follow instead of keeping the first phase."""
    bpm, bars = 120.0, 24
    period = 60.0 / bpm
    lengths = [4] * bars + [3] + [4] * bars
    events, downs, t = [], [], 0.5
    for length in lengths:
        downs.append(t)
        for k in range(length):
            events.append((t, "click_hi", 2.0) if k == 0 else (t, "click", 1.0))
            t += period
    y = _render(events, t + 0.5)
    res = rhythm(extract_features_from_array(y, SR), RhythmParams())
    downs = np.asarray(downs)
    later = downs[bars + 2 :]
    found = [d for d in res.downbeats if d > later[0] - 0.1]
    assert res.time_signature == "4/4"
    assert f_measure(downs[:bars], [d for d in res.downbeats if d < downs[bars] - 0.1]) >= 0.95
    assert f_measure(later, found) >= 0.9


def test_bar_phase_keeps_one_phase_without_evidence_for_a_change():
    rng = np.random.default_rng(0)
    score = np.tile([1.0, 0.0, 0.3, 0.0], 30) + 0.3 * rng.standard_normal(120)
    phases = track_bar_phase(score, 4, switch_cost=8 * float(np.std(score)), start_phase=0)
    assert np.all(phases == 0)


@pytest.mark.parametrize("bpm", [60, 90, 120, 128, 150, 174])
def test_click_track_tempo_beats_and_downbeats(bpm):
    res, beats, downs = analyse("click", bpm)
    assert close(res.bpm, bpm, 0.01), res.bpm
    assert f_measure(beats, res.beats) >= 0.97
    assert res.time_signature == "4/4"
    assert res.beats_per_bar == 4 and res.numerator == 4 and res.compound is False
    assert f_measure(downs, res.downbeats) >= 0.95
    assert 0.5 <= res.bpm_confidence <= 1.0
    # Sub-frame refinement: beats within a few ms of the clicks (the flux of a click peaks
    # about 6 ms before it; sampled instruments' about 8 ms after their note-on), before the
    # latency shift that sets rendered instruments' beats on their attacks.
    est = np.asarray(res.beats) - RhythmParams().latency_s
    err = est[:, None] - beats[None, :]
    nearest = err[np.arange(est.size), np.argmin(np.abs(err), axis=1)]
    assert abs(float(np.median(nearest))) < 0.010
    assert float(np.percentile(np.abs(nearest), 90)) < 0.012


@pytest.mark.parametrize("bpm", [90, 120, 128, 150])
def test_drum_pattern_tempo_and_beats(bpm):
    res, beats, _ = analyse("drum", bpm)
    assert close(res.bpm, bpm), res.bpm
    assert f_measure(beats, res.beats) >= 0.95
    assert res.time_signature == "4/4"
    assert res.onset_rate > 60.0 / bpm  # hi-hat eighths on top of the beats


@pytest.mark.parametrize("bpm", [60, 80, 174])
def test_ambiguous_drum_tempo_is_right_or_listed(bpm):
    # Hi-hat eighths over a slow backbeat (or a fast one) make the metrical level ambiguous:
    # the true tempo must be the reading or its half/double alternative.
    res, beats, _ = analyse("band" if bpm == 80 else "drum", bpm)
    readings = [c.bpm for c in res.bpm_candidates if c.relation in ("primary", "half", "double")]
    assert any(close(b, bpm) for b in readings), readings
    if close(res.bpm, bpm):
        assert f_measure(beats, res.beats) >= 0.95


@pytest.mark.parametrize("bpm", [100, 128])
def test_band_downbeats_follow_bass_changes(bpm):
    res, _, downs = analyse("band", bpm)
    assert close(res.bpm, bpm)
    assert res.time_signature == "4/4"
    assert f_measure(downs, res.downbeats) >= 0.9
    assert res.meter_confidence > 0.5


def test_candidates_name_the_octave_alternatives():
    res, _, _ = analyse("click", 120)
    by_relation = {c.relation: c for c in res.bpm_candidates}
    assert by_relation["primary"].score == 1.0
    assert close(by_relation["primary"].bpm, 120, 0.01)
    assert close(by_relation["half"].bpm, 60, 0.01)
    assert close(by_relation["double"].bpm, 240, 0.01)
    assert close(by_relation["three_halves"].bpm, 180, 0.01)
    # A plain click train has no periodicity at two thirds of the beat.
    assert by_relation["two_thirds"].score < 0.2


def test_tempo_drift_is_followed():
    # Accelerando from 100 to 130 BPM over 40 s.
    t, beats = 0.3, []
    while t < 39.5:
        beats.append(t)
        t += 60.0 / (100 + 30 * t / 40)
    ref = np.asarray(beats)
    events = [(b, "kick" if i % 2 == 0 else "snare", 1.0) for i, b in enumerate(ref)]
    events += [(b, "hat", 0.5) for b in ref]
    res = rhythm(extract_features_from_array(_render(events, 40.0), SR), RhythmParams())
    assert f_measure(ref, res.beats) >= 0.95
    assert 100 < res.bpm < 130
    assert res.tempo_stability is not None and res.tempo_stability < 0.9


def test_beats_match_or_beat_librosa():
    librosa = pytest.importorskip("librosa")
    ours, theirs = [], []
    for kind, bpm in [("drum", 90), ("drum", 150), ("band", 110), ("drum", 174)]:
        maker = {"drum": drum_track, "band": band_track}[kind]
        y, beats, _ = maker(bpm)
        res, _, _ = analyse(kind, bpm)
        ours.append(f_measure(beats, res.beats))
        _, lb = librosa.beat.beat_track(y=y, sr=SR, units="time")
        theirs.append(f_measure(beats, list(lb)))
    assert np.mean(ours) >= np.mean(theirs)
    assert min(ours) >= 0.95


# --------------------------------------------------------------------------------------------
# Metre


@pytest.mark.parametrize(
    ("per_bar", "bpm", "signature"),
    [(3, 90, "3/4"), (3, 150, "3/4"), (4, 100, "4/4"), (4, 140, "4/4"), (2, 100, "2/4")],
)
def test_accent_pattern_gives_numerator(per_bar, bpm, signature):
    res, _, downs = analyse("click", bpm, per_bar)
    assert res.time_signature == signature
    assert res.beats_per_bar == per_bar and res.numerator == per_bar
    assert res.compound is False
    assert close(res.bpm, bpm, 0.01)
    assert f_measure(downs, res.downbeats) >= 0.95


@pytest.mark.parametrize("bpm", [130, 150])
def test_bars_of_two_follow_bass_changes_on_every_second_beat(bpm):
    """Kick and snare alternate, so the accents repeat every two beats in 2/4 and 4/4
    alike; a bass note on every second beat (I-IV-V-I) makes the bar two beats long."""
    res, _, downs = analyse("band", bpm, 2)
    assert close(res.bpm, bpm)
    assert (res.time_signature, res.meter_alternative) == ("2/4", "4/4")
    assert f_measure(downs, res.downbeats) >= 0.95


def test_meter_confidence_is_the_fitted_model_of_the_choice_and_names_the_runner_up():
    """The confidence is the dev-fitted probability that the numerator of the choice made is
    right, and the loser is offered for review."""
    three, _, _ = analyse("click", 120, 3)
    four, _, _ = analyse("click", 120, 4)
    assert (three.meter_decision, three.meter_alternative) == ("triple", "6/8")
    assert (four.meter_decision, four.meter_alternative) == ("two_or_four", "2/4")
    assert 0.0 < four.meter_confidence < 1.0 and 0.0 < three.meter_confidence < 1.0
    assert three.meter_confidence == pytest.approx(meter_confidence("triple"))
    assert four.meter_confidence == pytest.approx(
        meter_confidence("two_or_four", four.meter_decision_margin or 0.0)
    )
    # every choice is an honest doubt on real music (under 0.8); no metre, no confidence
    assert all(meter_confidence(d, m) < 0.8 for d in ("two_or_four", "six_or_twelve", "triple")
               for m in (0.0, 0.3))
    assert meter_confidence(None) == 0.0


def test_three_four_drums():
    res, _, downs = analyse("band", 120, 3)
    assert res.time_signature == "3/4"
    assert f_measure(downs, res.downbeats) >= 0.9


@pytest.mark.parametrize("bpm_dotted", [90, 60])
def test_six_eight_is_compound_with_dotted_quarter_beat(bpm_dotted):
    # At 90 the tracker follows the dotted quarters; at 60 it first locks onto the eighth
    # notes (180 per minute) and the metre analysis regroups them by three.
    res, beats, downs = analyse("compound", bpm_dotted)
    assert res.compound is True
    assert res.numerator == 6
    assert res.beats_per_bar == 2
    assert res.time_signature == "6/8"
    assert close(res.bpm, bpm_dotted, 0.01)
    assert f_measure(beats, res.beats) >= 0.95
    assert f_measure(downs, res.downbeats) >= 0.95


def test_twelve_eight():
    res, beats, downs = analyse("compound", 90, 4)
    assert res.time_signature == "12/8"
    assert res.compound is True and res.numerator == 12 and res.beats_per_bar == 4
    assert close(res.bpm, 90, 0.01)
    assert f_measure(beats, res.beats) >= 0.95
    assert f_measure(downs, res.downbeats) >= 0.9


def test_swing_is_not_compound():
    # Swung eighths fall at 2/3 of the beat but nothing falls at 1/3: still simple metre.
    y, _, _ = drum_track(120, swing=True)
    res = rhythm(extract_features_from_array(y, SR), RhythmParams())
    assert res.compound is False
    assert res.time_signature == "4/4"
    assert close(res.bpm, 120)


# --------------------------------------------------------------------------------------------
# Degenerate input: never raise, never invent


def _assert_empty(res: RhythmResult) -> None:
    assert res.bpm is None
    assert res.bpm_confidence == 0.0
    assert res.beats == [] and res.downbeats == []
    assert res.time_signature is None and res.beats_per_bar is None and res.compound is None
    assert res.numerator is None
    assert res.meter_confidence == 0.0


@pytest.mark.parametrize(
    "y",
    [
        np.zeros(0, np.float32),
        np.zeros(1, np.float32),
        np.zeros(300, np.float32),
        np.zeros(10 * SR, np.float32),
        (np.random.default_rng(0).standard_normal(10 * SR) * 1e-5).astype(np.float32),
        np.full(SR, np.nan, np.float32),
    ],
    ids=["empty", "one-sample", "one-frame", "silence", "near-silence", "nan"],
)
def test_silence_and_tiny_inputs_give_nothing(y):
    res = rhythm(extract_features_from_array(y, SR), RhythmParams())
    _assert_empty(res)
    assert res.onset_rate == 0.0
    assert summarize_rhythm(res) == {
        "bpm": None,
        "time_signature": None,
        "beats": [],
        "downbeats": [],
    }


def test_noise_and_tones_have_no_tempo():
    rng = np.random.default_rng(1)
    noise = (0.1 * rng.standard_normal(15 * SR)).astype(np.float32)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(10 * SR) / SR)).astype(np.float32)
    for y in (noise, tone):
        res = rhythm(extract_features_from_array(y, SR), RhythmParams())
        _assert_empty(res)
        assert res.onset_rate < 0.5


def _noise(seconds: int, seed: int, *, pink: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(seconds * SR)
    if pink:
        spectrum = np.fft.rfft(x)
        x = np.fft.irfft(spectrum / np.sqrt(np.arange(spectrum.size) + 1), x.size)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


@pytest.mark.parametrize("change_strength_noise", [1.0, 0.5])
def test_short_noise_gets_no_tempo_from_its_pitch_changes(change_strength_noise):
    """Five seconds of noise: its pitch-change envelope, sampled at the pitch frame rate,
    looks periodic by chance far more often than its onsets do. With the change path's own
    noise term at 1.0 at most two of ten clips get a tempo; at 0.5 nearly all did."""
    params = RhythmParams(change_strength_noise=change_strength_noise)
    clips = [_noise(5, seed, pink=pink) for seed in range(1, 6) for pink in (False, True)]
    with_tempo = sum(
        rhythm(extract_features_from_array(y, SR), params).bpm is not None for y in clips
    )
    if change_strength_noise == 1.0:
        assert with_tempo <= 2
    else:
        assert with_tempo >= 8


def _random_clicks(seconds: int, seed: int) -> np.ndarray:
    """Clicks at random times (a Poisson process of 2-6 a second): onsets with no tempo."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(2.0, 6.0)
    times = np.cumsum(rng.exponential(1.0 / rate, int(2 * rate * seconds)))
    y = np.zeros(seconds * SR)
    for t in times[times < seconds - 0.3]:
        burst = _burst("click", float(rng.uniform(0.4, 1.0)), rng)
        i = int(t * SR)
        y[i : i + burst.size] += burst[: y.size - i]
    return (0.5 * y / np.abs(y).max()).astype(np.float32)


def test_random_onsets_get_no_tempo_on_long_clips():
    """The floor of chance periodicity (:func:`tempo.periodicity_floor`) is lower on long
    clips, but still over what clicks at random times reach."""
    for seed in (1, 2, 3):
        res = rhythm(extract_features_from_array(_random_clicks(45, seed), SR), RhythmParams())
        _assert_empty(res)


def test_faint_pulse_above_chance_gets_its_tempo_when_pitch_changes_find_none():
    """A pulse under the onset floor goes to the pitch changes first; when they show no
    period either, the pulse is kept if it is above chance, and dropped only below it."""
    y, _, _ = click_track(120, dur=40.0)
    features = extract_features_from_array(y, SR)
    # Every onset tempo counts as faint here, and the pitch changes can never be periodic.
    faint = {"min_tempo_strength": 1.5, "tempo_strength_noise": 0.0, "change_strength_noise": 100.0}
    kept = rhythm(features, RhythmParams(**faint))
    assert close(kept.bpm, 120)
    refused = rhythm(features, RhythmParams(**faint, long_tempo_strength=1.5))
    _assert_empty(refused)


def test_five_second_clip_best_effort():
    y, beats, _ = band_track(100, dur=5.0)
    res = rhythm(extract_features_from_array(y, SR), RhythmParams())
    assert close(res.bpm, 100)
    assert f_measure(beats, res.beats) >= 0.9
    # Eight beats are fewer than two bars of four plus one: no metre is claimed.
    assert res.time_signature is None and res.meter_confidence == 0.0
    y, _, _ = click_track(120, dur=5.0)
    res = rhythm(extract_features_from_array(y, SR), RhythmParams())
    assert close(res.bpm, 120)


def test_shorter_than_minimum_duration_gets_no_tempo():
    y, _, _ = click_track(120, dur=2.5, start=0.1)
    res = rhythm(extract_features_from_array(y, SR), RhythmParams())
    _assert_empty(res)
    assert res.onset_rate > 0  # onsets are still counted


# --------------------------------------------------------------------------------------------
# Stage wiring, summary and speed


def test_stage_is_registered_with_frozen_params():
    stage = rhythm.stage  # type: ignore[attr-defined]
    assert stage.name == "rhythm" and stage.version == "18"
    assert isinstance(stage.params, RhythmParams)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        stage.params.tightness = 5.0  # type: ignore[misc]
    summary = stage.summarize(analyse("click", 120)[0])
    assert set(summary) == {"bpm", "time_signature", "beats", "downbeats"}


def test_summary_rounds_values():
    res = RhythmResult(
        bpm=120.123456,
        bpm_confidence=0.5,
        beats=[0.12345678, 0.62345678],
        downbeats=[0.12345678],
        time_signature="4/4",
    )
    assert summarize_rhythm(res) == {
        "bpm": 120.12,
        "time_signature": "4/4",
        "beats": [0.123, 0.623],
        "downbeats": [0.123],
    }


def test_result_round_trips_through_json():
    res = analyse("compound", 90)[0]
    again = RhythmResult.model_validate_json(res.model_dump_json())
    assert again == res


def test_three_minute_track_keeps_tempo_and_grid():
    # Three minutes of features, tiled from a 20 s band track: the beat grid covers the whole
    # track at the right period (speed is measured in bench/speed, not here).
    f = extract_features_from_array(band_track(123)[0], SR)
    reps = 9
    feats = Features(
        params=f.params,
        duration=f.duration * reps,
        mel_db=np.tile(f.mel_db, (1, reps)),
        rms=np.tile(f.rms, reps),
        spectral=f.spectral,
        pitch_spectrum=np.tile(f.pitch_spectrum, (1, reps)),
        loudness=f.loudness,
    )
    res = rhythm(feats, RhythmParams())
    assert close(res.bpm, 123, 0.01)
    beats = np.asarray(res.beats)
    assert beats[-1] > feats.duration - 2.0
    assert np.median(np.diff(beats)) == pytest.approx(60 / 123, rel=0.01)


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
    assert evidence is not None and evidence.shape == (track.pulse_frames.size,
                                                       len(DOWNBEAT_EVIDENCE))
    np.testing.assert_allclose(described.downbeat, evidence @ np.asarray(DOWNBEAT_WEIGHTS[1:]))
    # the louder, higher downbeat click scores highest in its bar
    times = track.pulse_frames / track.frame_rate
    on_down = np.min(np.abs(times[:, None] - downs[None, :]), axis=1) < 0.05
    assert described.downbeat[on_down].mean() > described.downbeat[~on_down].mean()
