"""Structuring: turning the model's free text into clean caption, tags and language.

:class:`RuleStructurer` is the embedded default: deterministic, no model, the normaliser of
:mod:`.normalize` applied to what the listening prompts said. An LLM structurer
(:mod:`.llm`) does the same job through a chat model and is then passed through the same
rules, so either way the output is spelled canonically.
"""

from __future__ import annotations

import re
from typing import Protocol

from pydantic import BaseModel, Field

from linernotes.reconcile.normalize import clean_caption, clean_tags, language_code


class StructureRequest(BaseModel):
    """What the listening model said about one track, gathered per field, plus hints."""

    captions: dict[str, str] = Field(default_factory=dict, description="prompt id -> text")
    genres: list[str] = Field(default_factory=list)
    moods: list[str] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    lyrics: str | None = None
    hints: dict[str, str] = Field(default_factory=dict, description="artist, title, context")


class StructuredText(BaseModel):
    """The structured answer; ``None``/empty where nothing could be said."""

    caption: str | None = None
    genres: list[str] = Field(default_factory=list)
    moods: list[str] = Field(default_factory=list)
    instruments: list[str] = Field(default_factory=list)
    vocal_language: str | None = None
    is_instrumental: bool | None = None


class Structurer(Protocol):
    """Anything that structures a :class:`StructureRequest` (rules, an LLM)."""

    name: str

    def structure(self, request: StructureRequest) -> StructuredText: ...


CAPTION_ORDER = ("caption", "brief", "very_brief", "technical")
_INSTRUMENT_WORDS = (
    "guitar", "bass", "drum", "piano", "synth", "keyboard", "organ", "violin", "cello",
    "strings", "saxophone", "trumpet", "horn", "flute", "percussion", "vocals", "voice",
    "choir", "harp", "banjo", "ukulele", "accordion", "clarinet", "trombone", "808",
    "sampler", "pad", "mandolin", "harmonica", "marimba", "vibraphone", "tabla", "sitar",
)  # fmt: skip
_MOOD_WORDS = frozenset(
    [
        "happy",
        "sad",
        "melancholic",
        "melancholy",
        "uplifting",
        "energetic",
        "calm",
        "relaxing",
        "relaxed",
        "dark",
        "bright",
        "aggressive",
        "romantic",
        "nostalgic",
        "dreamy",
        "chill",
        "mellow",
        "peaceful",
        "tense",
        "angry",
        "hopeful",
        "joyful",
        "somber",
        "sombre",
        "epic",
        "playful",
        "intense",
        "warm",
        "moody",
        "upbeat",
        "emotional",
        "ethereal",
        "haunting",
        "groovy",
        "serene",
        "triumphant",
        "mysterious",
        "introspective",
        "atmospheric",
        "cheerful",
        "gloomy",
    ]
)
_LANGUAGE_PHRASE = re.compile(
    r"(?:sung|lyrics|vocals|singing|sings|rapped|rapping)\s+(?:are\s+|is\s+)?in\s+"
    r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)"
    r"|\b([A-Z][a-z]+)[- ](?:language\s+)?(?:lyrics|vocals|singing|rap)\b"
)
_VOCAL_TAGS = re.compile(r"\b(vocals?|singer|singing|rap|choir|voice)\b")


class RuleStructurer:
    """The deterministic default: pick, clean and spell; never invent."""

    name = "rules"

    def structure(self, request: StructureRequest) -> StructuredText:
        caption = None
        for prompt_id in (*CAPTION_ORDER, *request.captions):
            caption = clean_caption(request.captions.get(prompt_id))
            if caption:
                break
        tags = clean_tags(request.tags, limit=50)
        genres = clean_tags(request.genres) or [t for t in tags if _is_genre_tag(t)][:5]
        moods = clean_tags(request.moods) or [t for t in tags if t in _MOOD_WORDS]
        instruments = clean_tags(request.instruments) or [t for t in tags if _is_instrument(t)]
        texts = [*request.captions.values(), *request.tags]
        language = None
        for text in texts:
            for m in _LANGUAGE_PHRASE.finditer(text):
                phrase = m.group(1) or m.group(2)
                for candidate in (phrase, *phrase.split()):
                    language = language_code(candidate)
                    if language:
                        break
                if language:
                    break
            if language:
                break
        instrumental: bool | None = None
        if "instrumental" in tags:
            instrumental = True
        elif any(_VOCAL_TAGS.search(t) for t in [*tags, *instruments]):
            instrumental = False
        return StructuredText(
            caption=caption,
            genres=genres,
            moods=moods,
            instruments=instruments,
            vocal_language=language,
            is_instrumental=instrumental,
        )


def normalise(text: StructuredText) -> StructuredText:
    """Canonical spellings for a structured answer from any source (an LLM's included)."""
    return StructuredText(
        caption=clean_caption(text.caption),
        genres=clean_tags(text.genres),
        moods=clean_tags(text.moods),
        instruments=clean_tags(text.instruments),
        vocal_language=language_code(text.vocal_language),
        is_instrumental=text.is_instrumental,
    )


def _is_instrument(tag: str) -> bool:
    return any(word in tag for word in _INSTRUMENT_WORDS)


def _is_genre_tag(tag: str) -> bool:
    return not (
        tag in _MOOD_WORDS
        or _is_instrument(tag)
        or tag == "instrumental"
        or re.fullmatch(r"(?:19|20)?\d0s", tag)
        or _VOCAL_TAGS.search(tag)
    )
