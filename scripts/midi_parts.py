"""The parts of a generated song: the phrase plan and bar accents, then harmony, bass, melody
and drums written note by note into the score (:func:`midi_songs.make_song` calls them in
order, so a seed always gives the same song)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from midi_songs import SongSpec
from midi_theory import MAJOR_PHRASES, MINOR_PHRASES, Meter, _pitch_near, _voicing

# GM percussion keys.
KICK, SIDE_STICK, SNARE, CLAP = 36, 37, 38, 39
CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM = 45, 47, 50
CRASH, RIDE = 49, 51


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
