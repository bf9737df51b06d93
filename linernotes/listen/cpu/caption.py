"""A caption without a language model: the tagger's words and the measurements, in sentences.

It follows ACE-Step's caption rules (``acestep/constants.py``): style first, then
instruments, mood and feel, timbre, vocals; no BPM number and no key name in the text (the
tempo becomes a feel, the key only its mode); well under 150 words. Its confidence is the
mean probability of the tags it names, so a caption resting on weak tags is flagged for
review like any other shaky value.

Examples
--------
>>> words = {"genre": [("techno", 0.6), ("electronic", 0.5)],
...          "instrument": [("synth", 0.4), ("drums", 0.3)], "mood": [], "feel": []}
>>> cap = build_caption(words, is_instrumental=True, bpm=128.0, mode="minor",
...                     loudness_lufs=-9.0, onset_rate=5.0)
>>> print(cap.text)  # doctest: +NORMALIZE_WHITESPACE
Techno and electronic track with synth and drums. Upbeat, minor mode, with high energy and
busy rhythms. Bright, synthetic sound. Instrumental, no vocals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from linernotes.models.tagger import TaggerCaption

#: Felt-tempo words by BPM (upper bounds); the number itself never enters the caption.
TEMPO_WORDS = ((66.0, "slow"), (90.0, "relaxed"), (115.0, "mid-tempo"), (140.0, "upbeat"),
               (1e9, "fast"))  # fmt: skip
_SYNTHETIC = {"techno", "electronic", "electro", "house", "dance", "synth"}
_ACOUSTIC = {"classical", "folk", "country", "acoustic", "guitar", "piano", "violin", "cello",
             "harp", "flute", "harpsichord", "strings", "sitar"}  # fmt: skip
_VOICE_PHRASES = {"female vocals": "female vocals", "male vocals": "male vocals",
                  "choir": "a choir", "operatic vocals": "operatic singing"}  # fmt: skip


def tempo_feel(bpm: float | None) -> str | None:
    """``slow``, ``relaxed``, ``mid-tempo``, ``upbeat`` or ``fast`` for a tempo in BPM."""
    if not bpm:
        return None
    return next(word for limit, word in TEMPO_WORDS if bpm < limit)


def energy_words(loudness_lufs: float | None, onset_rate: float | None) -> str | None:
    """Energy from loudness and onset density, in words."""
    if loudness_lufs is None and onset_rate is None:
        return None
    loud = loudness_lufs if loudness_lufs is not None else -16.0
    busy = onset_rate if onset_rate is not None else 2.5
    level = "moderate"
    if loud > -12 and busy > 3.5:
        level = "high"
    elif loud < -22 or busy < 1.5:
        level = "low"
    rhythm = "busy" if busy > 4.0 else "sparse" if busy < 1.5 else "steady"
    return f"{level} energy and {rhythm} rhythms"


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def build_caption(
    words: Mapping[str, Sequence[tuple[str, float]]],
    *,
    is_instrumental: bool,
    voices: Sequence[str] = (),
    bpm: float | None = None,
    mode: str | None = None,
    loudness_lufs: float | None = None,
    onset_rate: float | None = None,
) -> TaggerCaption:
    """Write the caption from the chosen ``(tag, probability)`` pairs per category and the
    measured tempo, mode, loudness and onset rate."""
    genres = [w for w, _ in words.get("genre", [])][:2]
    instruments = [w for w, _ in words.get("instrument", [])][:3]
    moods = [w for w, _ in words.get("mood", [])][:2]
    sentences = []
    style = _join(genres).capitalize() + " track" if genres else "Instrumental piece" \
        if is_instrumental else "Song"  # fmt: skip
    sentences.append(f"{style} with {_join(instruments)}." if instruments else f"{style}.")
    feel = [*moods]
    tempo = tempo_feel(bpm)
    if tempo:
        feel.append(tempo)
    feel_text = _join(feel).capitalize() if feel else ""
    extras = []
    if mode in ("major", "minor"):
        extras.append(f"{mode} mode")  # "in a minor ..." would read as the key A minor
    energy = energy_words(loudness_lufs, onset_rate)
    if energy:
        extras.append(f"with {energy}")
    if feel_text or extras:
        head = feel_text or "Played"
        sentences.append(head + (", " + ", ".join(extras) if extras else "") + ".")
    tagged = {w for cat in ("genre", "instrument", "timbre") for w, _ in words.get(cat, [])}
    if tagged & _SYNTHETIC:
        sentences.append("Bright, synthetic sound.")
    elif tagged & _ACOUSTIC:
        sentences.append("Warm, acoustic sound.")
    if is_instrumental:
        sentences.append("Instrumental, no vocals.")
    else:
        named = [_VOICE_PHRASES[v] for v in voices if v in _VOICE_PHRASES]
        sentences.append(f"With {_join(named)}." if named else "With vocals.")
    probs = [p for cat in ("genre", "instrument", "mood") for _, p in words.get(cat, [])]
    confidence = sum(probs) / len(probs) if probs else 0.2
    return TaggerCaption(
        text=" ".join(sentences),
        confidence=round(min(0.9, max(0.2, confidence)), 3),
        parts={"genres": genres, "instruments": instruments, "moods": moods, "tempo": tempo,
               "mode": mode, "energy": energy, "instrumental": is_instrumental},
    )
