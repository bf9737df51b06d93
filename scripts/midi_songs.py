"""Generate plausible MIDI songs whose tempo, beats, downbeats, meter and key are known exactly.

The example clips, the speed benchmark and the accuracy benchmark all need music with ground
truth that no annotator disputes. This module writes such music: a diatonic chord progression
that starts on the tonic and closes with V-I cadences, a bass line, a motif-based melody and
drums idiomatic for the meter, arranged for one of a few General MIDI ensembles. Everything is
derived from :class:`SongSpec` and its ``seed``, so the same spec always gives the same song.

Conventions used in the ground truth (:class:`SongTruth`):

* A *beat* is the counted pulse of the time signature. In simple meters (2/4, 3/4, 4/4, 5/4,
  2/2, 7/8, ...) it is one denominator note, so 7/8 has seven eighth-note beats per bar and its
  bpm counts eighth notes. In compound meters (6/8, 9/8, 12/8: numerator a multiple of 3 above
  3, denominator 8 or 16) the beat is the dotted note: 6/8 has two dotted-quarter beats per bar,
  12/8 has four, and **bpm counts dotted-quarter beats** (a 6/8 jig at 66 bpm has 198 eighth
  notes a minute). ``numerator`` keeps the written numerator; ``beats_per_bar`` is the count
  of beats as defined here.
* ``beats`` are the exact onset times, in seconds, of every beat of every generated bar;
  ``downbeats`` are the first beat of each bar. Times come from the tempo events written into
  the MIDI file, so a synthesiser rendering the file reproduces them exactly.
* ``bpm`` is 60 / median inter-beat interval; with no tempo drift it equals the nominal tempo
  (to the microsecond resolution of MIDI tempo events). ``bpm_nominal`` is the spec value.
* ``key`` is spelled conventionally: ``"Bb major"``, ``"F# minor"``, ``"Eb minor"``.

Rendering (:func:`render_midi`) uses the ``fluidsynth`` command line with a General MIDI
soundfont (Debian ``fluid-soundfont-gm``) and needs no Python audio library beyond numpy/scipy.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pretty_midi
import scipy.io.wavfile

#: Soundfonts tried, in order, when none is given.
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
)
STYLES = ("band", "piano", "strings", "electronic")
MODES = ("major", "minor")

#: Ticks per quarter note in generated files (divisible by 2, 3, 4, 5, 8 and 16).
RESOLUTION = 480

MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
_PC_OF_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)  # natural minor; V and vii take the leading tone

# Four-chord phrase templates as scale degrees (0 = tonic). Each starts away from or on the
# tonic and the song's last phrase is rewritten to end V-I, so the tonic is heard first, most
# often and last.
MAJOR_PHRASES = (  # I V vi IV | I IV V I | I vi IV V | I IV I V | vi IV I V | I ii V I
    (0, 4, 5, 3), (0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 0, 4), (5, 3, 0, 4), (0, 1, 4, 0),
)  # fmt: skip
MINOR_PHRASES = (  # i VI III VII | i iv V i | i VII VI V | i iv VII III | i VI iv V | i iv i V
    (0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 4), (0, 3, 6, 2), (0, 5, 3, 4), (0, 3, 0, 4),
)  # fmt: skip

# General MIDI programs (0-based) per style and part; one of each list is drawn by seed.
PROGRAMS: dict[str, dict[str, tuple[int, ...]]] = {
    "band": {
        "chords": (0, 4, 25, 27),  # grand piano, electric piano, steel guitar, clean guitar
        "bass": (33, 34, 32),  # finger, pick, acoustic bass
        "melody": (65, 73, 56, 11),  # alto sax, flute, trumpet, vibraphone
    },
    "piano": {"chords": (0, 1), "bass": (0, 1), "melody": (0, 1)},
    "strings": {
        "chords": (48, 49),  # string ensembles
        "bass": (42, 45),  # cello, pizzicato strings
        "melody": (40, 68, 71, 73),  # violin, oboe, clarinet, flute
    },
    "electronic": {
        "chords": (89, 90, 88),  # warm pad, polysynth, new-age pad
        "bass": (38, 39),  # synth basses
        "melody": (80, 81, 84),  # square, saw, charang leads
        "arp": (81, 80, 87),  # saw, square, bass+lead
    },
}

# GM percussion keys.
KICK, SIDE_STICK, SNARE, CLAP = 36, 37, 38, 39
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM = 45, 47, 50
CRASH, RIDE = 49, 51


# --------------------------------------------------------------------------------------------
# Keys and meters
# --------------------------------------------------------------------------------------------


def key_name(tonic: int, mode: str) -> str:
    """Conventional spelling of a key, e.g. ``key_name(6, "minor") == "F# minor"``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    names = MAJOR_NAMES if mode == "major" else MINOR_NAMES
    return f"{names[tonic % 12]} {mode}"


def parse_key(text: str) -> tuple[int, str]:
    """Parse ``"F# minor"``, ``"Bb major"``, ``"Am"``, ``"C#"`` into (tonic pitch class, mode)."""
    t = text.strip().replace("♯", "#").replace("♭", "b")
    parts = t.split()
    mode = "major"
    if len(parts) == 2:
        t, m = parts
        mode = {"maj": "major", "major": "major", "min": "minor", "minor": "minor"}[m.lower()]
    elif t.endswith("m") and len(t) >= 2:
        t, mode = t[:-1], "minor"
    letter = t[0].upper()
    if letter not in _PC_OF_LETTER:
        raise ValueError(f"cannot parse key {text!r}")
    pc = _PC_OF_LETTER[letter] + t[1:].count("#") - t[1:].count("b")
    return pc % 12, mode


@dataclass(frozen=True)
class Meter:
    """A time signature and the beat convention this module uses for it (see module doc)."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        if self.numerator < 1 or self.denominator not in (1, 2, 4, 8, 16, 32):
            raise ValueError(f"unsupported time signature {self.numerator}/{self.denominator}")

    @property
    def compound(self) -> bool:
        """6/8, 9/8, 12/8 (and x/16): the beat is a dotted note divided in three."""
        return self.numerator % 3 == 0 and self.numerator > 3 and self.denominator >= 8

    @property
    def beats_per_bar(self) -> int:
        return self.numerator // 3 if self.compound else self.numerator

    @property
    def beat_quarters(self) -> float:
        """Length of one beat in quarter notes (1.5 for 6/8, 0.5 for 7/8)."""
        return 4.0 / self.denominator * (3 if self.compound else 1)

    @property
    def subdivisions(self) -> int:
        """Notes of the denominator value per beat in compound meters, else 2."""
        return 3 if self.compound else 2

    @property
    def beat_unit(self) -> str:
        names = {1: "whole", 2: "half", 4: "quarter", 8: "eighth", 16: "sixteenth", 32: "32nd"}
        unit = names[self.denominator]
        return f"dotted {names[self.denominator // 2]}" if self.compound else unit

    @property
    def grouping(self) -> tuple[int, ...]:
        """How the beats of a bar group into strong-weak units (drives drums and accents)."""
        n = self.beats_per_bar
        table = {1: (1,), 2: (2,), 3: (3,), 4: (2, 2), 5: (3, 2), 6: (3, 3), 7: (2, 2, 3)}
        if n in table:
            return table[n]
        return (2,) * (n // 2 - 1) + ((3,) if n % 2 else (2,))

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @classmethod
    def parse(cls, text: str) -> Meter:
        num, den = text.split("/")
        return cls(int(num), int(den))


# --------------------------------------------------------------------------------------------
# Spec and truth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SongSpec:
    """Everything that determines a generated song.

    ``tempo_bpm`` counts beats as defined in the module doc (dotted quarters in 6/8).
    ``tempo_drift`` is the largest fractional tempo deviation (0.05 = +/-5 %); the tempo then
    wanders or ramps smoothly, changing every beat. ``humanize_ms`` adds random timing jitter
    (standard deviation, ms) to pitched notes only - drums stay on the grid so beat truth is
    unambiguous. ``lead_in_s`` is silence before the first downbeat.
    """

    tempo_bpm: float = 120.0
    tonic: int = 9
    mode: str = "minor"
    numerator: int = 4
    denominator: int = 4
    style: str = "band"
    drums: bool = True
    duration_s: float = 20.0
    tempo_drift: float = 0.0
    seed: int = 0
    lead_in_s: float = 0.0
    humanize_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {self.style!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 10.0 <= self.tempo_bpm <= 400.0:
            raise ValueError(f"tempo_bpm out of range: {self.tempo_bpm}")
        if not 0.0 <= self.tempo_drift < 0.5:
            raise ValueError(f"tempo_drift must be in [0, 0.5): {self.tempo_drift}")
        if self.duration_s <= 0:
            raise ValueError("duration_s must be positive")
        Meter(self.numerator, self.denominator)  # validates

    @property
    def meter(self) -> Meter:
        return Meter(self.numerator, self.denominator)

    @property
    def key(self) -> str:
        return key_name(self.tonic, self.mode)

    def slug(self) -> str:
        """File-name-safe description, e.g. ``band_120bpm_6-8_Fsharp-minor_s3``."""
        tonic = key_name(self.tonic, self.mode).split()[0].replace("#", "sharp")
        parts = [self.style, f"{self.tempo_bpm:g}bpm", f"{self.numerator}-{self.denominator}",
                 f"{tonic}-{self.mode}"]
        if not self.drums:
            parts.append("nodrums")
        if self.tempo_drift:
            parts.append(f"drift{self.tempo_drift:g}")
        parts.append(f"s{self.seed}")
        return "_".join(parts)

    @classmethod
    def from_strings(cls, key: str, time_signature: str, **kwargs: Any) -> SongSpec:
        """Convenience: ``SongSpec.from_strings("F# minor", "6/8", tempo_bpm=70)``."""
        tonic, mode = parse_key(key)
        meter = Meter.parse(time_signature)
        return cls(
            tonic=tonic, mode=mode, numerator=meter.numerator, denominator=meter.denominator,
            **kwargs,
        )


@dataclass
class SongTruth:
    """Ground truth of a generated song (times in seconds from the start of the audio)."""

    bpm: float
    bpm_nominal: float
    key: str
    tonic: int
    mode: str
    time_signature: str
    numerator: int
    denominator: int
    beats_per_bar: int
    compound: bool
    beat_unit: str
    duration_s: float
    beats: list[float]
    downbeats: list[float]
    beat_positions: list[int]
    chords: list[tuple[float, str]]
    style: str
    drums: bool
    tempo_drift: float
    seed: int
    programs: dict[str, int] = field(default_factory=dict)

    def to_dict(self, times: bool = True, decimals: int = 4) -> dict[str, Any]:
        """JSON-ready dict; ``times=False`` drops the per-beat and chord lists."""
        d = asdict(self)
        if times:
            d["beats"] = [round(t, decimals) for t in self.beats]
            d["downbeats"] = [round(t, decimals) for t in self.downbeats]
            d["chords"] = [[round(t, decimals), c] for t, c in self.chords]
        else:
            for k in ("beats", "downbeats", "beat_positions", "chords"):
                d.pop(k)
        return d


# --------------------------------------------------------------------------------------------
# Tempo map
# --------------------------------------------------------------------------------------------


def _tick_scale(usec_per_quarter: int) -> float:
    """Seconds per tick that pretty_midi writes back as exactly ``usec_per_quarter``.

    pretty_midi truncates ``1e6 * scale * resolution`` with ``int()``, so nudge the float up
    until the truncation lands on the intended integer.
    """
    scale = usec_per_quarter / (1e6 * RESOLUTION)
    while int(6e7 / (60.0 / (scale * RESOLUTION))) < usec_per_quarter:
        scale = math.nextafter(scale, math.inf)
    return scale


def _tempo_curve(spec: SongSpec, n_beats: int, rng: np.random.Generator) -> np.ndarray:
    """Microseconds per quarter note for each beat: constant, or a smooth drift."""
    meter = spec.meter
    factors = np.ones(n_beats)
    if spec.tempo_drift > 0:
        x = np.arange(n_beats) / max(n_beats - 1, 1)
        kind = rng.choice(["wander", "ramp_up", "ramp_down"])
        if kind == "wander":
            cycles = rng.uniform(0.6, 1.6)
            shape = np.sin(2 * np.pi * cycles * x + rng.uniform(0, 2 * np.pi))
        else:
            shape = (2 * x - 1) * (1 if kind == "ramp_up" else -1)
        factors = 1.0 + spec.tempo_drift * shape
    qpm = spec.tempo_bpm * meter.beat_quarters * factors
    return np.round(6e7 / qpm).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Harmony helpers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chord:
    degree: int
    root: int  # pitch class
    tones: tuple[int, ...]  # pitch classes, root first
    scale: tuple[int, ...]  # pitch classes the melody may use over this chord
    label: str  # mir_eval-style, e.g. "A:min", "E:7"


def _chord(tonic: int, mode: str, degree: int, seventh: bool = False) -> _Chord:
    """Triad (or dominant seventh) on a scale degree; minor keys take the leading tone on V.

    VII in minor stays the natural subtonic triad (G major in A minor), as in pop and folk.
    """
    base = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    scale = list(base)
    if mode == "minor" and degree == 4:
        scale[6] = 11  # harmonic minor: raised 7th
    idx = [(degree + 2 * i) % 7 for i in range(4 if seventh else 3)]
    rel = [scale[i] for i in idx]
    tones = tuple((tonic + r) % 12 for r in rel)
    third = (rel[1] - rel[0]) % 12
    fifth = (rel[2] - rel[0]) % 12
    quality = "maj" if third == 4 else ("dim" if fifth == 6 else "min")
    if seventh:
        quality = "7" if quality == "maj" else quality + "7"
    root_name = MAJOR_NAMES[tones[0]] if mode == "major" else MINOR_NAMES[tones[0]]
    scale_pcs = tuple(sorted((tonic + s) % 12 for s in scale))
    return _Chord(degree, tones[0], tones, scale_pcs, f"{root_name}:{quality}")


def _pitch_near(pc: int, target: float) -> int:
    """MIDI pitch with pitch class ``pc`` closest to ``target``."""
    base = round(target) - ((round(target) - pc) % 12)
    return base if target - base <= 6 else base + 12


def _voicing(chord: _Chord, previous: list[int] | None, center: float) -> list[int]:
    """Close-position voicing nearest to the previous one (smooth voice leading)."""
    candidates = []
    n = len(chord.tones)
    for inv in range(n):
        pcs = chord.tones[inv:] + chord.tones[:inv]
        for octave in (-12, 0, 12):
            notes = [_pitch_near(pcs[0], center + octave - 4)]
            for pc in pcs[1:]:
                nxt = notes[-1] + ((pc - notes[-1]) % 12 or 12)
                notes.append(nxt)
            candidates.append(notes)
    def cost(v: list[int]) -> float:
        c = abs(np.mean(v) - center) * 0.5
        if previous:
            c += sum(min(abs(p - q) for q in previous) for p in v)
        return c
    return min(candidates, key=cost)


# --------------------------------------------------------------------------------------------
# Score builder
# --------------------------------------------------------------------------------------------


class _Score:
    """Collects notes positioned in beats and converts them to timed pretty_midi notes."""

    def __init__(self, ticks_per_beat: int, lead_ticks: int, n_beats: int) -> None:
        self.tpb = ticks_per_beat
        self.lead = lead_ticks
        self.n_beats = n_beats
        self.parts: dict[str, list[tuple[float, float, int, int]]] = {}

    def add(self, part: str, beat: float, length: float, pitch: int, velocity: float) -> None:
        """Note starting at ``beat`` (float, in beats) lasting ``length`` beats."""
        if beat >= self.n_beats or length <= 0:
            return
        vel = int(np.clip(velocity, 1, 127))
        self.parts.setdefault(part, []).append((beat, length, int(pitch), vel))

    def tick(self, beat: float) -> int:
        return self.lead + round(beat * self.tpb)


def _bar_accents(meter: Meter) -> list[float]:
    """Relative strength (0-1) of each beat in a bar: downbeat > group starts > others."""
    acc = [0.55] * meter.beats_per_bar
    b = 0
    for i, g in enumerate(meter.grouping):
        acc[b] = 1.0 if i == 0 else 0.8
        b += g
    return acc


def _phrase_plan(
    spec: SongSpec, n_slots: int, rng: np.random.Generator
) -> list[tuple[int, bool]]:
    """Scale degree (and dominant-seventh flag) for each harmonic slot.

    Phrases of four slots in an A A B A form; the last phrase (or the whole song, if short)
    ends with a V-I cadence and the first slot is always the tonic.
    """
    templates = MAJOR_PHRASES if spec.mode == "major" else MINOR_PHRASES
    picks = rng.choice(len(templates), size=2, replace=False)
    a, b = templates[picks[0]], templates[picks[1]]
    form = [a, a, b, a]
    degrees: list[int] = []
    i = 0
    while len(degrees) < n_slots:
        degrees.extend(form[i % 4])
        i += 1
    degrees = degrees[:n_slots]
    degrees[0] = 0
    if n_slots >= 2:
        degrees[-2:] = [4, 0]
    if n_slots >= 4:
        degrees[-3] = 3 if degrees[-3] == 0 else degrees[-3]
    plan = []
    for k, d in enumerate(degrees):
        nxt = degrees[k + 1] if k + 1 < n_slots else None
        plan.append((d, d == 4 and nxt == 0 and rng.random() < 0.6))
    return plan


def make_song(spec: SongSpec) -> tuple[pretty_midi.PrettyMIDI, SongTruth]:
    """Compose the song described by ``spec``; return the MIDI and its exact ground truth.

    The song is a whole number of bars that fits inside ``spec.duration_s`` (at least one);
    the remainder of the duration is the ring-out of the final tonic chord, so audio rendered
    with :func:`render_midi` at ``duration_s`` contains every annotated beat.
    """
    rng = np.random.default_rng(spec.seed)
    meter = spec.meter
    bpb = meter.beats_per_bar
    tpb = round(RESOLUTION * meter.beat_quarters)

    # Tempo map: estimate an upper bound on beats, draw the curve, keep whole bars that fit.
    max_beats = int(spec.duration_s * spec.tempo_bpm * (1 + spec.tempo_drift) / 60.0) + 2 * bpb
    usec = _tempo_curve(spec, max_beats, rng)
    beat_len = usec * meter.beat_quarters / 1e6
    lead_ticks = round(spec.lead_in_s / (usec[0] / 1e6 / RESOLUTION))
    lead_s = lead_ticks * usec[0] / 1e6 / RESOLUTION
    starts = lead_s + np.concatenate([[0.0], np.cumsum(beat_len)])
    n_bars = 0
    while (n_bars + 1) * bpb < len(starts) and starts[(n_bars + 1) * bpb] <= spec.duration_s:
        n_bars += 1
    n_bars = max(n_bars, 1)
    n_beats = n_bars * bpb
    usec = usec[:n_beats]

    pm = pretty_midi.PrettyMIDI(resolution=RESOLUTION)
    scales = [(0, _tick_scale(int(usec[0])))]
    for i in range(1, n_beats):
        if usec[i] != usec[i - 1]:
            scales.append((lead_ticks + i * tpb, _tick_scale(int(usec[i]))))
    pm._tick_scales = scales
    end_tick = lead_ticks + (n_beats + 8 * bpb) * tpb
    pm._update_tick_to_time(end_tick)
    pm.time_signature_changes.append(
        pretty_midi.TimeSignature(meter.numerator, meter.denominator, 0.0)
    )
    pm.key_signature_changes.append(
        pretty_midi.KeySignature(spec.tonic + (12 if spec.mode == "minor" else 0), 0.0)
    )

    score = _Score(tpb, lead_ticks, n_beats + bpb)  # allow the final chord to ring past
    beat_times = [pm.tick_to_time(lead_ticks + i * tpb) for i in range(n_beats)]
    bar_s = float(np.median(np.diff([*beat_times, pm.tick_to_time(lead_ticks + n_beats * tpb)])))
    bar_s *= bpb

    # Harmonic rhythm: one chord per bar, two bars per chord for short bars, half bars for
    # long bars with an even number of beats.
    if bar_s < 1.3 and n_bars >= 4:
        span = 2 * bpb
    elif bar_s > 4.5 and bpb % 2 == 0:
        span = bpb // 2
    else:
        span = bpb
    n_slots = math.ceil(n_beats / span)
    plan = _phrase_plan(spec, n_slots, rng)
    chords = [_chord(spec.tonic, spec.mode, d, s) for d, s in plan]
    # The final bar is its own tonic slot so the song ends on a held tonic chord.
    final_bar_start = (n_bars - 1) * bpb

    def chord_at(beat: float) -> _Chord:
        if beat >= final_bar_start and n_bars > 1:
            return _chord(spec.tonic, spec.mode, 0)
        return chords[min(int(beat // span), n_slots - 1)]

    progs = {part: int(rng.choice(opts)) for part, opts in PROGRAMS[spec.style].items()}
    accents = _bar_accents(meter)
    ctx = _Ctx(spec, meter, score, rng, n_bars, span, chord_at, accents, bar_s, beat_times)

    _write_harmony(ctx)
    _write_bass(ctx)
    _write_melody(ctx)
    if spec.drums:
        _write_drums(ctx)

    # Convert beats to times through the tempo map.
    jitter_s = spec.humanize_ms / 1000.0
    for part, notes in score.parts.items():
        if part == "drums":
            inst = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
        else:
            inst = pretty_midi.Instrument(program=progs.get(part, 0), name=part)
        for beat, length, pitch, vel in sorted(notes):
            t0 = pm.tick_to_time(score.tick(beat))
            t1 = pm.tick_to_time(max(score.tick(beat + length), score.tick(beat) + 1))
            if jitter_s > 0 and part != "drums":
                d = float(np.clip(rng.normal(0, jitter_s), -3 * jitter_s, 3 * jitter_s))
                t0, t1 = max(t0 + d, 0.0), max(t1 + d, t0 + d + 0.01)
            inst.notes.append(pretty_midi.Note(vel, pitch, t0, t1))
        pm.instruments.append(inst)

    ibi = np.diff(beat_times) if n_beats > 1 else np.array([beat_len[0]])
    chord_times = []
    last = None
    for b in range(n_beats):
        c = chord_at(b)
        if c.label != last:
            chord_times.append((beat_times[b], c.label))
            last = c.label
    truth = SongTruth(
        bpm=round(60.0 / float(np.median(ibi)), 3),
        bpm_nominal=float(spec.tempo_bpm),
        key=spec.key,
        tonic=spec.tonic,
        mode=spec.mode,
        time_signature=str(meter),
        numerator=meter.numerator,
        denominator=meter.denominator,
        beats_per_bar=bpb,
        compound=meter.compound,
        beat_unit=meter.beat_unit,
        duration_s=float(spec.duration_s),
        beats=[float(t) for t in beat_times],
        downbeats=[float(t) for t in beat_times[::bpb]],
        beat_positions=[i % bpb + 1 for i in range(n_beats)],
        chords=chord_times,
        style=spec.style,
        drums=spec.drums,
        tempo_drift=spec.tempo_drift,
        seed=spec.seed,
        programs={k: v for k, v in progs.items() if k in score.parts},
    )
    return pm, truth


@dataclass
class _Ctx:
    """Shared state for the part writers."""

    spec: SongSpec
    meter: Meter
    score: _Score
    rng: np.random.Generator
    n_bars: int
    span: int
    chord_at: Any
    accents: list[float]
    bar_s: float
    beat_times: list[float]

    @property
    def bpb(self) -> int:
        return self.meter.beats_per_bar

    @property
    def ibi(self) -> float:
        return self.bar_s / self.bpb

    def final(self, bar: int) -> bool:
        return bar == self.n_bars - 1 and self.n_bars > 1

    def vel(self, base: float, spread: float = 6.0) -> int:
        return int(np.clip(base + self.rng.normal(0, spread), 20, 127))


def _write_harmony(c: _Ctx) -> None:
    """Chord part: strums, arpeggios, waltz or pads depending on the style and meter."""
    style, sub, bpb = c.spec.style, c.meter.subdivisions, c.bpb
    prev: list[int] | None = None
    for bar in range(c.n_bars):
        b0 = bar * bpb
        if c.final(bar):
            voicing = _voicing(c.chord_at(b0), prev, 62)
            for p in voicing:
                c.score.add("chords", b0, bpb + 0.5 * bpb, p, c.vel(80))
            continue
        for beat in range(bpb):
            b = b0 + beat
            chord = c.chord_at(b)
            voicing = _voicing(chord, prev, 62 if style != "electronic" else 64)
            prev = voicing
            acc = c.accents[beat]
            if style == "band":
                if c.meter.compound:
                    for s in range(sub):  # folk strum on every eighth, beat accented
                        v = 95 * acc if s == 0 else 62
                        for p in voicing:
                            c.score.add("chords", b + s / sub, 0.9 / sub, p, c.vel(v))
                else:
                    for p in voicing:
                        c.score.add("chords", b, 0.85, p, c.vel(60 + 35 * acc))
                    if c.ibi > 0.45 and c.rng.random() < 0.35:  # offbeat push
                        for p in voicing:
                            c.score.add("chords", b + 0.5, 0.4, p, c.vel(55))
            elif style == "piano":
                root = _pitch_near(chord.root, 48)
                if bpb == 3 and not c.meter.compound:  # waltz: oom-pah-pah
                    if beat == 0:
                        c.score.add("bass", b, 0.95, root, c.vel(88))
                    else:
                        for p in voicing:
                            c.score.add("chords", b, 0.7, p, c.vel(58))
                else:  # broken chord over the beat's subdivisions
                    n_sub = sub if c.ibi / sub > 0.12 else 1
                    tones = [root + 7, voicing[-1], voicing[0] + 12 * (voicing[0] < root + 7)]
                    for s in range(n_sub):
                        if s == 0 and beat % c.meter.grouping[0] == 0:
                            c.score.add("bass", b, 0.98, root, c.vel(70 + 25 * acc))
                            continue
                        pitch = tones[(beat * n_sub + s) % len(tones)]
                        c.score.add("chords", b + s / n_sub, 0.9 / n_sub, pitch, c.vel(55))
            elif style == "strings":
                if beat == 0 or (beat % span_of(c)) == 0 or beat in _group_starts(c.meter):
                    length = _beats_to_next(c, beat)
                    for p in voicing:
                        c.score.add("chords", b, length, p, c.vel(58 + 20 * acc))
            else:  # electronic: pad per bar + arpeggio
                if beat == 0 or beat % span_of(c) == 0:
                    length = min(span_of(c), bpb - beat)
                    for p in voicing:
                        c.score.add("chords", b, length, p, c.vel(45, 3))
                n_arp = 4 if not c.meter.compound else 3
                if c.ibi / n_arp < 0.09:
                    n_arp //= 2
                arp = [*voicing, voicing[0] + 12]
                for s in range(n_arp):
                    pitch = arp[(beat * n_arp + s) % len(arp)] + 12
                    v = 70 + 20 * acc if s == 0 else 52
                    c.score.add("arp", b + s / n_arp, 0.6 / n_arp, pitch, c.vel(v, 3))


def span_of(c: _Ctx) -> int:
    """Harmonic slot length in beats, at most a bar (for within-bar decisions)."""
    return min(c.span, c.bpb)


def _group_starts(meter: Meter) -> list[int]:
    starts, b = [], 0
    for g in meter.grouping:
        starts.append(b)
        b += g
    return starts


def _beats_to_next(c: _Ctx, beat: int) -> int:
    """Beats from ``beat`` to the next group start or bar end."""
    later = [s for s in _group_starts(c.meter) if s > beat] + [c.bpb]
    return min(later) - beat


def _write_bass(c: _Ctx) -> None:
    """Bass line: roots on downbeats, fifths and approach notes within the bar."""
    style, bpb = c.spec.style, c.bpb
    if style == "piano":
        # The left hand already carries the bass; add the final low tonic.
        for bar in range(c.n_bars):
            if c.final(bar):
                root = _pitch_near(c.chord_at(bar * bpb).root, 43)
                c.score.add("bass", bar * bpb, 1.5 * bpb, root, c.vel(85))
        return
    lo = 40 if style != "electronic" else 36
    starts = _group_starts(c.meter)
    for bar in range(c.n_bars):
        b0 = bar * bpb
        chord = c.chord_at(b0)
        root = _pitch_near(chord.root, lo + 6)
        if c.final(bar):
            c.score.add("bass", b0, 1.5 * bpb, root, c.vel(95))
            continue
        if style == "electronic":
            for beat in range(bpb):
                ch = c.chord_at(b0 + beat)
                r = _pitch_near(ch.root, lo + 6)
                if beat == 0:
                    c.score.add("bass", b0, 0.45, r, c.vel(105, 3))
                if c.meter.compound:
                    c.score.add("bass", b0 + beat + 2 / 3, 0.3, r, c.vel(88, 3))
                else:
                    c.score.add("bass", b0 + beat + 0.5, 0.4, r, c.vel(95, 3))
            continue
        for gi, s in enumerate(starts):
            ch = c.chord_at(b0 + s)
            r = _pitch_near(ch.root, lo + 6)
            length = _beats_to_next(c, s)
            if style == "strings":
                pitch = r if gi == 0 else _pitch_near(ch.tones[2], r + 4)
                c.score.add("bass", b0 + s, length * 0.95, pitch, c.vel(85 if gi == 0 else 70))
                continue
            # band: root on the group start, then walk through chord tones on its other beats
            first = 0.9 if length > 1 else 0.8
            c.score.add("bass", b0 + s, first, r, c.vel(100 if gi == 0 else 88))
            for k in range(1, length):
                beat = s + k
                last_beat = beat == bpb - 1
                nxt = c.chord_at(b0 + bpb) if b0 + bpb < c.n_bars * bpb else c.chord_at(b0)
                if last_beat and c.rng.random() < 0.5:
                    target = _pitch_near(nxt.root, lo + 6)
                    sign = 1 if c.rng.random() < 0.5 else -1
                    pitch = target + sign * (1 if c.rng.random() < 0.3 else 2)
                else:
                    pitch = _pitch_near(ch.tones[int(c.rng.choice([0, 2, 1]))], r + 5)
                c.score.add("bass", b0 + beat, 0.8, pitch, c.vel(78))
            if c.meter.compound:
                c.score.add("bass", b0 + s + 2 / 3, 0.3, _pitch_near(ch.tones[2], r + 5), c.vel(70))


def _melody_rhythm(c: _Ctx, density: float) -> list[tuple[float, float]]:
    """One bar of melody onsets as (beat offset, length), dense on strong positions."""
    sub = c.meter.subdivisions
    if c.ibi / sub < 0.13:
        sub = 1
    slots = c.bpb * sub
    on = []
    for k in range(slots):
        if k == 0:
            p = 0.9
        elif k % sub == 0:
            p = 0.65 * density
        else:
            p = 0.3 * density
        if c.rng.random() < p:
            on.append(k)
    if not on:
        on = [0]
    rhythm = []
    for i, k in enumerate(on):
        end = on[i + 1] if i + 1 < len(on) else slots
        rhythm.append((k / sub, (end - k) / sub))
    return rhythm


def _write_melody(c: _Ctx) -> None:
    """Motif-based melody: two one-bar rhythms in a 4-bar phrase, chord tones on strong beats."""
    spec, bpb = c.spec, c.bpb
    center = _pitch_near(spec.tonic, 69)
    lo, hi = center - 5, center + 12
    density = {"electronic": 0.9, "band": 1.0, "piano": 1.1, "strings": 0.7}[spec.style]
    r1, r2 = _melody_rhythm(c, density), _melody_rhythm(c, density)
    cadence = [(0.0, float(bpb))] if bpb <= 3 else [(0.0, bpb / 2), (bpb / 2, bpb / 2)]
    pitch = _pitch_near(c.chord_at(0).tones[c.rng.integers(0, 3)], center + 4)
    part = "melody" if spec.style != "piano" else "chords"
    for bar in range(c.n_bars):
        b0 = bar * bpb
        if c.final(bar):
            c.score.add(part, b0, 1.5 * bpb, _pitch_near(spec.tonic, pitch), c.vel(88))
            continue
        phrase_pos = bar % 4
        rhythm = (r1, r1, r2, cadence)[phrase_pos]
        if spec.style == "strings" and bar % 8 < 2:
            rhythm = cadence  # long singing notes open each 8-bar period
        for off, length in rhythm:
            chord = c.chord_at(b0 + off)
            strong = abs(off - round(off)) < 1e-6
            if strong:
                target = pitch + c.rng.integers(-4, 5)
                cands = [
                    p for p in range(lo, hi + 1) if p % 12 in chord.tones[:3]
                ]
                pitch = min(cands, key=lambda p, t=target: abs(p - t) + 0.01 * p)
            else:
                step = int(c.rng.choice([-2, -1, 1, 2, 1, -1]))
                scale = [p for p in range(lo, hi + 1) if p % 12 in chord.scale]
                idx = int(np.argmin([abs(p - pitch) for p in scale]))
                pitch = scale[int(np.clip(idx + step, 0, len(scale) - 1))]
            vel = 70 + 22 * (c.accents[int(off) % bpb] if strong else 0.3)
            c.score.add(part, b0 + off, length * 0.92, pitch, c.vel(vel))


def _write_drums(c: _Ctx) -> None:
    """Drum kit patterns idiomatic for the meter and style, on the exact beat grid."""
    style, bpb, sub = c.spec.style, c.bpb, c.meter.subdivisions
    groups = c.meter.grouping
    starts = _group_starts(c.meter)
    soft = style in ("piano", "strings")
    hat = RIDE if style == "strings" else CLOSED_HAT
    scale = 0.7 if soft else 1.0
    hats_per_beat = (4 if not c.meter.compound else 3) if style == "electronic" else sub
    while hats_per_beat > 1 and c.ibi / hats_per_beat < 0.1:
        hats_per_beat //= 2 if hats_per_beat % 2 == 0 else hats_per_beat
    section = 8 if c.n_bars >= 16 else 4
    extra_kick = c.rng.random() < 0.5
    d = c.score

    for bar in range(c.n_bars):
        b0 = bar * bpb
        if bar % section == 0 or c.final(bar):
            d.add("drums", b0, 0.5, CRASH, c.vel(100 * scale, 4))
        if c.final(bar):
            d.add("drums", b0, 0.5, KICK, c.vel(115 * scale, 3))
            continue
        fill = bar % section == section - 1 and bar < c.n_bars - 2 and style != "electronic"
        for beat in range(bpb):
            b = b0 + beat
            acc = c.accents[beat]
            if fill and beat == bpb - 1:
                toms = [SNARE, HIGH_TOM, MID_TOM, LOW_TOM]
                for s in range(sub):
                    d.add("drums", b + s / sub, 0.2, toms[s % 4], c.vel(90 * scale))
                continue
            # hats / ride on every subdivision, accented on the beat
            for s in range(hats_per_beat):
                v = (70 + 20 * acc) if s == 0 else 55
                d.add("drums", b + s / hats_per_beat, 0.1, hat, c.vel(v * scale, 4))
            if style == "electronic":
                d.add("drums", b, 0.2, KICK, c.vel(112, 3))
                if not c.meter.compound:
                    d.add("drums", b + 0.5, 0.2, OPEN_HAT, c.vel(60, 3))
                gi = max(i for i, s in enumerate(starts) if s <= beat)
                if beat == starts[gi] + groups[gi] - 1 and groups[gi] > 1:
                    d.add("drums", b, 0.2, CLAP, c.vel(100, 4))
                continue
            if bpb == 3 and not c.meter.compound:  # waltz
                if beat == 0:
                    d.add("drums", b, 0.2, KICK, c.vel(105 * scale, 4))
                else:
                    d.add("drums", b, 0.2, SIDE_STICK, c.vel(70 * scale, 4))
                continue
            gi = max(i for i, s in enumerate(starts) if s <= beat)
            if beat == starts[gi]:
                d.add("drums", b, 0.2, KICK, c.vel((110 if gi == 0 else 95) * scale, 4))
            elif beat == starts[gi] + groups[gi] - 1:
                d.add("drums", b, 0.2, SIDE_STICK if soft else SNARE, c.vel(98 * scale, 4))
            if extra_kick and beat == starts[gi] + groups[gi] - 1 and gi + 1 < len(groups):
                d.add("drums", b + (sub - 1) / sub, 0.2, KICK, c.vel(80 * scale, 4))


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def default_soundfont() -> str:
    """First installed General MIDI soundfont from :data:`SOUNDFONTS`."""
    for sf in SOUNDFONTS:
        if Path(sf).exists():
            return sf
    raise FileNotFoundError(
        "no GM soundfont found; install with: apt-get install -y fluidsynth fluid-soundfont-gm"
    )


def render_midi(
    pm: pretty_midi.PrettyMIDI,
    wav_path: str | Path,
    sr: int = 44100,
    soundfont: str | Path | None = None,
    duration_s: float | None = None,
    peak_dbfs: float = -1.0,
    fade_s: float = 0.5,
    gain: float = 0.6,
) -> np.ndarray:
    """Synthesise ``pm`` with the fluidsynth CLI into a 16-bit stereo WAV; return float32 audio.

    fluidsynth starts rendering at MIDI time zero, so sample ``round(t * sr)`` of the output is
    MIDI time ``t`` and the truth from :func:`make_song` applies unchanged. ``duration_s`` trims
    (or zero-pads) to an exact length, with a ``fade_s`` fade-out over the ring-out; without it
    trailing silence below -70 dBFS is trimmed. The result is peak-normalised to ``peak_dbfs``.
    """
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise FileNotFoundError("fluidsynth not found; apt-get install -y fluidsynth")
    sf2 = str(soundfont or default_soundfont())
    wav_path = Path(wav_path)
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "song.mid"
        raw = Path(tmp) / "raw.wav"
        pm.write(str(mid))
        cmd = [exe, "-ni", "-q", "-g", str(gain), "-O", "float", "-F", str(raw), "-r", str(sr),
               sf2, str(mid)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not raw.exists():
            raise RuntimeError(f"fluidsynth failed ({proc.returncode}): {proc.stderr[-2000:]}")
        with warnings.catch_warnings():  # fluidsynth adds a chunk scipy does not parse
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
            rate, audio = scipy.io.wavfile.read(raw)
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if rate != sr:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, expected {sr}")
    if duration_s is not None:
        n = round(duration_s * sr)
        if len(audio) < n:
            audio = np.concatenate([audio, np.zeros((n - len(audio), audio.shape[1]), np.float32)])
        audio = audio[:n]
        nf = min(int(fade_s * sr), n)
        if nf > 0:
            audio[n - nf :] *= np.linspace(1.0, 0.0, nf, dtype=np.float32)[:, None]
    else:
        level = np.max(np.abs(audio), axis=1)
        loud = np.nonzero(level > 10 ** (-70 / 20))[0]
        audio = audio[: (loud[-1] + 1 if len(loud) else 0)]
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio *= np.float32(10 ** (peak_dbfs / 20) / peak)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    scipy.io.wavfile.write(wav_path, sr, pcm)
    return audio


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Render one song: ``python scripts/midi_songs.py out.wav --bpm 96 --key "F# minor"``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wav", type=Path, help="output WAV path (a .mid is written beside it)")
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--key", default="A minor")
    ap.add_argument("--meter", default="4/4")
    ap.add_argument("--style", choices=STYLES, default="band")
    ap.add_argument("--no-drums", action="store_true")
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--drift", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--soundfont", default=None)
    args = ap.parse_args(argv)
    spec = SongSpec.from_strings(
        args.key, args.meter, tempo_bpm=args.bpm, style=args.style, drums=not args.no_drums,
        duration_s=args.duration, tempo_drift=args.drift, seed=args.seed,
    )
    pm, truth = make_song(spec)
    pm.write(str(args.wav.with_suffix(".mid")))
    render_midi(pm, args.wav, soundfont=args.soundfont, duration_s=spec.duration_s)
    json.dump(truth.to_dict(times=False), sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
