"""The music theory the song generator writes with: key and note names, scales, the phrase
templates of each mode, the General MIDI programs of each style, time signatures
(:class:`Meter`: beats, grouping, what counts as the beat) and chords voiced near a centre."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
