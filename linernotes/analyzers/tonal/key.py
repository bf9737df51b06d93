"""Keys: names, profiles, templates, the choice of key and its confidence.

The 24 key templates come from the Albrecht-Shanahan profile (note durations in a classical
corpus; other families can be averaged in) and account for the overtones every audio chroma
contains (:func:`key_templates`); a chroma is
scored by its correlation with each (:func:`key_scores`), the third decides the mode
(:func:`choose_key`), and :func:`key_confidence` is a fitted logistic model of how clearly the
tonic wins, how key-like the chroma is and how clearly the third tells the mode.

Examples
--------
>>> import numpy as np
>>> c_major = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=float)
>>> best = choose_key(key_scores(c_major, key_templates()), c_major)
>>> key_name(best % 12, "major" if best < 12 else "minor")
'C major'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from linernotes.analyzers.fitted import logistic_probability, weights_for

__all__ = [
    "DEFAULT_KEY_PROFILES",
    "KEY_EVIDENCE",
    "KEY_PROFILES",
    "MAJOR_KEY_NAMES",
    "MINOR_KEY_NAMES",
    "PITCH_CLASSES",
    "choose_key",
    "effective_pitch_classes",
    "key_confidence",
    "key_evidence",
    "key_name",
    "key_scores",
    "key_templates",
    "mode_contrast",
    "tonic_margin",
]


#: Pitch-class names in ``chroma`` order (index 0 = C).
PITCH_CLASSES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
#: Tonic spelling of each major key by pitch class (0 = C).
MAJOR_KEY_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
#: Tonic spelling of each minor key by pitch class (0 = C).
MINOR_KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")

#: Key profiles as (major, minor) weights per scale degree in semitones from the tonic.
#: ``krumhansl``: Krumhansl & Kessler (1982) probe-tone ratings. ``temperley``: Temperley
#: (2007), note frequencies in the Kostka-Payne corpus. ``albrecht``: Albrecht & Shanahan
#: (2013), note durations in a classical corpus. ``shaath``: Sha'ath (2011), a Krumhansl
#: variant adjusted for popular music (stronger flat-seventh in minor).
KEY_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "temperley": (
        (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
        (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
    ),
    "albrecht": (
        (0.238, 0.006, 0.111, 0.006, 0.137, 0.094, 0.016, 0.214, 0.009, 0.080, 0.008, 0.081),
        (0.220, 0.006, 0.104, 0.123, 0.019, 0.103, 0.012, 0.214, 0.062, 0.022, 0.061, 0.052),
    ),
    "shaath": (
        (6.6, 2.0, 3.5, 2.3, 4.6, 4.0, 2.5, 5.2, 2.4, 3.7, 2.3, 3.4),
        (6.5, 2.7, 3.5, 5.4, 2.6, 3.5, 2.5, 5.2, 4.0, 2.7, 4.3, 3.2),
    ),
}


#: The profile families the key templates use by default (``TonalParams.profiles``):
#: Albrecht-Shanahan alone, chosen on the development split of ``bench/corpus_set``
#: (``bench/key_profiles``).
DEFAULT_KEY_PROFILES: tuple[str, ...] = ("albrecht",)


def key_name(tonic_pc: int, mode: str) -> str:
    """Conventional spelling of a key, e.g. ``key_name(6, "major") == "F# major"``."""
    names = MAJOR_KEY_NAMES if mode == "major" else MINOR_KEY_NAMES
    return f"{names[int(tonic_pc) % 12]} {mode}"


def _harmonic_profile(profile: np.ndarray, n_harmonics: int, decay: float) -> np.ndarray:
    """Expected chroma of notes distributed as ``profile`` when each note has ``n_harmonics``
    partials of amplitude ``decay ** (h - 1)`` (partial ``h`` falls on pitch class
    ``round(12 log2 h)`` above the note)."""
    out = np.zeros(12)
    for h in range(1, max(1, n_harmonics) + 1):
        out += decay ** (h - 1) * np.roll(profile, int(np.rint(12.0 * np.log2(h))) % 12)
    return out


def key_templates(
    profiles: Sequence[str] = DEFAULT_KEY_PROFILES,
    *,
    n_harmonics: int = 3,
    harmonic_decay: float = 0.9,
) -> np.ndarray:
    """Zero-mean, unit-norm chroma templates of the 24 keys, shape (24, 12).

    Rows 0-11 are the major keys with tonic C..B, rows 12-23 the minor keys. Each family in
    ``profiles`` is turned into an expected audio chroma (see :func:`_harmonic_profile`),
    normalised, and the families are averaged.
    """
    out = np.zeros((24, 12))
    for name in profiles:
        major, minor = (
            _harmonic_profile(np.asarray(p, dtype=np.float64), n_harmonics, harmonic_decay)
            for p in KEY_PROFILES[name]
        )
        t = np.array(
            [np.roll(major, k) for k in range(12)] + [np.roll(minor, k) for k in range(12)]
        )
        t -= t.mean(axis=1, keepdims=True)
        out += t / np.linalg.norm(t, axis=1, keepdims=True)
    out -= out.mean(axis=1, keepdims=True)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def key_scores(
    chroma: np.ndarray,
    templates: np.ndarray,
    *,
    bass_chroma: np.ndarray | None = None,
    bass_weight: float = 0.0,
) -> np.ndarray:
    """Correlation of a chroma with each key template, shape (24,), -1..1.

    With ``bass_weight > 0`` the bass chroma's correlation is added with that weight and the
    sum divided by ``1 + bass_weight``. A flat (or zero) chroma scores 0 everywhere.
    """

    def corr(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype=np.float64)
        c = c - c.mean()
        norm = np.linalg.norm(c)
        return templates @ (c / norm) if norm > 1e-12 else np.zeros(len(templates))

    scores = corr(chroma)
    if bass_chroma is not None and bass_weight > 0:
        scores = (scores + bass_weight * corr(bass_chroma)) / (1.0 + bass_weight)
    return scores


def effective_pitch_classes(chroma: np.ndarray) -> float:
    """Perplexity (exp of the entropy) of a chroma: about how many pitch classes carry it.

    Rendered tonal music gives 8.5-11; a single harmonic tone about 3.4, a bare fifth 4.5, a
    sustained triad 5.5 - too little to tell a key from.
    """
    c = np.maximum(np.asarray(chroma, dtype=np.float64), 0.0)
    total = c.sum()
    if total <= 0:
        return 0.0
    p = c[c > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def mode_contrast(chroma: np.ndarray, tonic_pc: int, mode: str) -> float:
    """How much more the chosen mode's third sounds than the other mode's, -1..1.

    A major and a minor key on the same tonic share most of their scale and differ mainly in
    the third, so when the chroma barely tells the minor third from the major one the mode,
    and with it the exact key, is a guess whatever the template scores say.
    """
    c = np.maximum(np.asarray(chroma, dtype=np.float64), 0.0)
    minor, major = c[(tonic_pc + 3) % 12], c[(tonic_pc + 4) % 12]
    own, other = (major, minor) if mode == "major" else (minor, major)
    total = own + other
    return float((own - other) / total) if total > 1e-12 else 0.0


def choose_key(scores: np.ndarray, chroma: np.ndarray) -> int:
    """Index of the key to report (0-11 major, 12-23 minor): the best-scoring key, unless the
    chroma contradicts its mode, i.e. the other mode's third sounds more than its own
    (:func:`mode_contrast` below 0); then its parallel key.

    Templates weigh all seven degrees, so a melody that dwells on the sixth or seventh can
    outvote the third; the third decides the mode.
    """
    best = int(np.argmax(scores))
    tonic, minor = best % 12, best >= 12
    if mode_contrast(chroma, tonic, "minor" if minor else "major") < 0:
        return (best + 12) % 24
    return best


def tonic_margin(scores: np.ndarray, best: int) -> float:
    """Best key score minus the best score of any key that is not its parallel mode
    (keys 0-11 major, 12-23 minor): how clearly the tonic wins."""
    s = np.asarray(scores, dtype=np.float64)
    others = np.delete(s, [best, (best + 12) % 24])
    return float(s[best] - others.max()) if others.size else 1.0


def key_evidence(scores: np.ndarray, chroma: np.ndarray, key: int) -> dict[str, float]:
    """The inputs of :func:`key_confidence` for the reported ``key`` (0-11 major, 12-23
    minor): ``margin`` (:func:`tonic_margin`), ``best`` (its score) and ``contrast``
    (:func:`mode_contrast`)."""
    return {
        "margin": tonic_margin(scores, key),
        "best": float(scores[key]),
        "contrast": mode_contrast(chroma, key % 12, "minor" if key >= 12 else "major"),
    }


def key_confidence(evidence: dict[str, float], *, n_pitch_classes: float = 12.0) -> float:
    """Approximate probability (0..1) that the reported key is exactly right.

    A logistic function (model ``key_confidence`` of the fitted weights file, fitted by
    ``bench/fit_confidence``) of :data:`KEY_EVIDENCE`: the tonic's margin
    (:func:`tonic_margin`), the key's correlation itself (how key-like the chroma is), the
    mode's third (:func:`mode_contrast`) and how stable the pitch is. It is scaled down
    linearly when fewer than 8 pitch classes carry the chroma (see
    :func:`effective_pitch_classes`), reaching 0 at 4: a drone or single note has no key.
    """
    p = logistic_probability(weights_for("key_confidence", KEY_EVIDENCE), evidence, KEY_EVIDENCE)
    coverage = float(np.clip((n_pitch_classes - 4.0) / 4.0, 0.0, 1.0))
    return float(coverage * p)


#: Inputs of :func:`key_confidence`'s logistic model, in the order of its weights.
KEY_EVIDENCE = ("margin", "best", "contrast", "concentration")
