"""Synthesized rhythm test signals with known beats, downbeats and metre (``test_rhythm``
and ``test_rhythm_parts``).

Click tracks with accented downbeats, compound (6/8, 12/8) accent patterns, drum patterns from
filtered noise bursts and swept-sine kicks, and a "band" (drums plus a bass line changing
chord every bar, which gives the harmonic cue to downbeats that real music has). Drum and
compound tracks sit on a quiet sustained chord with a faint noise floor, as instruments in a
real mix do: hi-hats that rise from digital silence in bands where nothing else sounds would
weigh far more than they do in recorded music.
"""

from __future__ import annotations

import numpy as np

SR = 22050
FRAME_RATE = SR / 256


def noise_burst(kind: str, amp: float, rng: np.random.Generator) -> np.ndarray:
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


def render_events(
    events: list[tuple[float, str, float]], dur: float, seed: int = 0, bed: bool = False
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = np.zeros(int(dur * SR) + SR)
    for t0, kind, amp in events:
        b = noise_burst(kind, amp, rng)
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
    return render_events(events, dur), times, times[::beats_per_bar]


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
    return render_events(events, dur, bed=True), eighths[::3], eighths[::per_bar]


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
    return render_events(events, dur, bed=True), beats, beats[::meter]


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


def close(a: float | None, b: float, tol: float = 0.02) -> bool:
    return a is not None and abs(a / b - 1.0) <= tol
