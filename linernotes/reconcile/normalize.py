"""The default structuring step: a deterministic, rule-based normaliser that needs no model.

Trainers read exact spellings and silently mis-train on others, so every value that leaves
reconcile goes through here: keys become ``<A-G>[#|b] <major|minor>`` (``Am`` -> ``A minor``,
``f# min`` -> ``F# minor``), time signatures ``N/D`` (``4`` -> ``4/4``, ``6`` -> ``6/8``),
languages ISO 639-1 codes from ACE-Step's list (``English`` -> ``en``), and tag lists are
lower-cased, split, de-duplicated and spelled one way (``hip hop`` -> ``hip-hop``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from linernotes.claims import parse_claims

#: Vocal languages ACE-Step accepts (``unknown`` aside).
ACE_LANGUAGES = frozenset(
    [
        "ar",
        "az",
        "bg",
        "bn",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "fa",
        "fi",
        "fr",
        "he",
        "hi",
        "hr",
        "ht",
        "hu",
        "id",
        "is",
        "it",
        "ja",
        "ko",
        "la",
        "lt",
        "ms",
        "ne",
        "nl",
        "no",
        "pa",
        "pl",
        "pt",
        "ro",
        "ru",
        "sa",
        "sk",
        "sr",
        "sv",
        "sw",
        "ta",
        "te",
        "th",
        "tl",
        "tr",
        "uk",
        "ur",
        "vi",
        "yue",
        "zh",
    ]
)
_LANGUAGE_NAMES = {
    "arabic": "ar", "azerbaijani": "az", "bulgarian": "bg", "bengali": "bn", "bangla": "bn",
    "catalan": "ca", "czech": "cs", "danish": "da", "german": "de", "greek": "el",
    "english": "en", "spanish": "es", "castilian": "es", "persian": "fa", "farsi": "fa",
    "finnish": "fi", "french": "fr", "hebrew": "he", "hindi": "hi", "croatian": "hr",
    "haitian": "ht", "haitian creole": "ht", "hungarian": "hu", "indonesian": "id",
    "icelandic": "is", "italian": "it", "japanese": "ja", "korean": "ko", "latin": "la",
    "lithuanian": "lt", "malay": "ms", "nepali": "ne", "dutch": "nl", "flemish": "nl",
    "norwegian": "no", "punjabi": "pa", "polish": "pl", "portuguese": "pt", "romanian": "ro",
    "russian": "ru", "sanskrit": "sa", "slovak": "sk", "serbian": "sr", "swedish": "sv",
    "swahili": "sw", "tamil": "ta", "telugu": "te", "thai": "th", "tagalog": "tl",
    "filipino": "tl", "turkish": "tr", "ukrainian": "uk", "urdu": "ur", "vietnamese": "vi",
    "cantonese": "yue", "chinese": "zh", "mandarin": "zh",
}  # fmt: skip
_LANGUAGE_ALIASES = {"eng": "en", "spa": "es", "fra": "fr", "fre": "fr", "deu": "de",
                     "ger": "de", "jpn": "ja", "kor": "ko", "zho": "zh", "chi": "zh",
                     "nb": "no", "nn": "no", "iw": "he", "in": "id", "fil": "tl",
                     "cmn": "zh", "por": "pt", "ita": "it", "rus": "ru"}  # fmt: skip

#: One spelling per common tag variant.
_TAG_SYNONYMS = {
    "hip hop": "hip-hop", "hiphop": "hip-hop", "rnb": "r&b", "r and b": "r&b",
    "rhythm and blues": "r&b", "edm": "electronic dance music", "lofi": "lo-fi",
    "lo fi": "lo-fi", "drum and bass": "drum & bass", "drum n bass": "drum & bass",
    "dnb": "drum & bass", "synthesiser": "synthesizer", "synth": "synthesizer",
    "synths": "synthesizer", "vocal": "vocals", "female vocal": "female vocals",
    "male vocal": "male vocals", "e-piano": "electric piano", "keys": "keyboard",
    "drums kit": "drums", "drum kit": "drums", "acoustic guitars": "acoustic guitar",
    "electric guitars": "electric guitar", "strings section": "strings",
    "rock n roll": "rock and roll", "rock'n'roll": "rock and roll",
}  # fmt: skip
_TAG_JUNK = re.compile(r"^(?:genre|mood|moods|instruments?|tags?|style)\s*:\s*", re.IGNORECASE)

_KEY = re.compile(
    r"^\s*([A-Ga-g])\s*(#|♯|b|♭|-?sharp|-?flat|s)?\s*"
    r"(major|minor|maj|min|m|M|ma|mi|dur|moll|ionian|aeolian)?\s*\.?\s*$"
)
_SIGNATURE = re.compile(r"^\s*(\d{1,2})\s*(?:/\s*(\d{1,2}))?\s*(?:time|meter|metre)?\s*$", re.I)
#: Numerator alone -> the signature trainers mean by it (ACE-Step: 2, 3, 4, 6).
_NUMERATOR_DEFAULT = {2: "2/4", 3: "3/4", 4: "4/4", 5: "5/4", 6: "6/8", 7: "7/4", 9: "9/8",
                      12: "12/8"}  # fmt: skip


def canonical_key(text: str | None) -> str | None:
    """``"Am"`` -> ``"A minor"``, ``"f#min"`` -> ``"F# minor"``, ``"Bb"`` -> ``"Bb major"``;
    ``None`` when ``text`` is not a key."""
    if not text or not isinstance(text, str):
        return None
    m = _KEY.match(text.replace("-", " ").strip()) if len(text) > 3 else _KEY.match(text)
    if m is None:
        m = _KEY.match(text)
    if m is None:
        return None
    tonic, acc, mode = m.group(1), m.group(2) or "", m.group(3) or "major"
    acc = acc.lower().replace("♯", "#").replace("♭", "b")
    acc = (
        "#" if acc in ("#", "s") or "sharp" in acc else ("b" if acc == "b" or "flat" in acc else "")
    )
    minor = False if mode == "M" else mode.lower() in ("minor", "min", "m", "mi", "moll", "aeolian")
    return f"{tonic.upper()}{acc} {'minor' if minor else 'major'}"


def canonical_time_signature(text: str | int | None) -> str | None:
    """``"4/4"``, ``4``, ``"4"``, ``"3/4 time"`` -> ``"N/D"``; ``None`` if not a signature."""
    if text is None or isinstance(text, bool):
        return None
    m = _SIGNATURE.match(str(text))
    if not m:
        return None
    num = int(m.group(1))
    if m.group(2):
        den = int(m.group(2))
        if num < 1 or den not in (1, 2, 4, 8, 16, 32):
            return None
        return f"{num}/{den}"
    return _NUMERATOR_DEFAULT.get(num)


def language_code(text: str | None) -> str | None:
    """``"English"``, ``"en-US"``, ``"eng"`` -> ``"en"``; ``None`` when unknown or unsupported."""
    if not text or not isinstance(text, str):
        return None
    t = text.strip().lower().replace("_", "-")
    if t in ("unknown", "none", "n/a", "instrumental", ""):
        return None
    if t in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[t]
    base = t.split("-")[0]
    base = _LANGUAGE_ALIASES.get(base, base)
    if base in ACE_LANGUAGES:
        return base
    first = re.split(r"[\s,(/]", t)[0]
    return _LANGUAGE_NAMES.get(first)


def clean_tags(values: Iterable[str] | str | None, *, limit: int = 15) -> list[str]:
    """Tags lower-cased, split on commas/semicolons/slashes, stripped of labels and
    punctuation, one spelling per synonym, de-duplicated in order, at most ``limit``."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            continue
        for part in re.split(r"[,;/\n|]|\band\b(?=\s+\w+\s*$)", _TAG_JUNK.sub("", item)):
            tag = re.sub(r"\s+", " ", part.strip(" .\"'`*#-").lower())
            tag = _TAG_SYNONYMS.get(tag, tag)
            if tag and len(tag) <= 40 and tag not in out and not tag.isdigit():
                out.append(tag)
    return out[:limit]


def clean_caption(text: str | None, *, max_words: int = 150) -> str | None:
    """A caption without the tempo, key and meter it states ("at 90 BPM", "in A minor"):
    the measured values belong in their own fields and ACE-Step forbids them in the caption.
    A sentence left with fewer than three words is dropped; whitespace is folded and the
    result cut to ``max_words`` at a sentence end where possible."""
    if not text or not text.strip():
        return None
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    kept = [s for s in (_strip_facts(s) for s in sentences) if s]
    caption = " ".join(kept).strip()
    words = caption.split()
    if len(words) > max_words:
        caption = " ".join(words[:max_words])
        end = max(caption.rfind("."), caption.rfind("!"), caption.rfind("?"))
        caption = caption[: end + 1] if end > len(caption) // 2 else caption
    return caption or None


_CONNECTOR = r"(?:\s*,)?(?:\s+(?:at|in|with|around|about|of|the|a|tempo|key|is|and|set|its))*\s*"


def _strip_facts(sentence: str) -> str:
    """``sentence`` without its tempo/key/meter phrases; ``""`` if little else is left."""
    claims = parse_claims(sentence)
    phrases = [claims.get(f"{k}_text") for k in ("bpm", "key", "time_signature")]
    phrases = [p for p in phrases if p]
    if not phrases:
        return sentence
    out = sentence
    for phrase in phrases:
        out = re.sub(_CONNECTOR + re.escape(phrase), "", out, count=1, flags=re.IGNORECASE)
    out = re.sub(r"\s+([,.!?;])", r"\1", out)
    out = re.sub(r"([,;])(?=[.!?]|$)", "", out).strip(" ,;")
    if out and out[-1] not in ".!?" and sentence.rstrip()[-1:] in (".", "!", "?"):
        out += sentence.rstrip()[-1]
    return out if len(re.findall(r"[A-Za-z]+", out)) >= 3 else ""
