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
from midi_parts import (
    _bar_accents,
    _Ctx,
    _phrase_plan,
    _Score,
    _write_bass,
    _write_drums,
    _write_harmony,
    _write_melody,
)
from midi_theory import (
    MODES,
    PROGRAMS,
    RESOLUTION,
    STYLES,
    Meter,
    _Chord,
    _chord,
    key_name,
    parse_key,
)

#: Soundfonts tried, in order, when none is given.
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
)


# --------------------------------------------------------------------------------------------
# Keys and meters
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Score builder
# --------------------------------------------------------------------------------------------


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
