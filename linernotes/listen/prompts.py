"""The prompt library: prompts are versioned data files, not strings buried in code.

Each prompt is a TOML file (``linernotes/listen/prompt_library/<id>.toml``) with an ``id``, a
``version`` (bump it whenever the wording or the generation parameters change: the cache key
and the record carry it), an optional ``system`` message (absent: the model's own default, which
for Music Flamingo is a music-assistant prompt worth keeping), the ``text``, the ``kind`` of
answer expected (``text``, ``json``, ``lyrics``, ``fields``, ``tags``) and a ``[generation]``
table. A user folder of files with the same layout overrides or extends the built-in ones.

The measured tempo, key and meter can be given to the model as context: the prompt's
``{context}`` placeholder receives one sentence (or, without a placeholder, the sentence is put
before the text). Prompts that must not see them (a caption must not carry BPM or key) say
``accepts_context = false``; whether context was given is recorded with every answer.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from linernotes.errors import LinernotesError

Kind = Literal["text", "json", "lyrics", "fields", "tags"]
BUILTIN_DIR = Path(__file__).with_name("prompt_library")
CONTEXT_PLACEHOLDER = "{context}"
#: Prompts run by ``analyze --listen`` when none are named.
DEFAULT_PROMPTS = ("caption", "genre_mood_inst", "technical", "lyrics", "quality")


class PromptError(LinernotesError):
    """A prompt file that cannot be read, or a prompt name that does not exist."""


#: The value of each decoding parameter a prompt leaves unset: no truncation of the
#: distribution, no penalty, temperature 1 (which only matters when sampling).
NEUTRAL_DECODING: dict[str, Any] = {
    "min_new_tokens": 0,
    "temperature": 1.0,
    "top_p": 1.0,
    "top_k": 0,
    "repetition_penalty": 1.0,
}


class GenerationParams(BaseModel):
    """Decoding settings of one prompt. Greedy by default: annotations must be reproducible
    and cacheable, and Music Flamingo 2601 itself decodes greedily."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_new_tokens: int = Field(512, ge=1)
    min_new_tokens: int | None = Field(None, ge=0)
    do_sample: bool = False
    temperature: float | None = Field(None, gt=0)
    top_p: float | None = Field(None, gt=0, le=1)
    top_k: int | None = Field(None, ge=1)
    repetition_penalty: float | None = Field(None, gt=0)
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The parameters that are set, for records and cache keys."""
        return self.model_dump(exclude_none=True)

    def explicit(self) -> dict[str, Any]:
        """Every decoding parameter with a value: the prompt's, else the neutral one
        (:data:`NEUTRAL_DECODING`). Backends send all of them, so that neither a server nor
        the checkpoint's own ``generation_config`` fills a gap with its defaults (Audio
        Flamingo 3's asks for sampling at temperature 0.7 and a repetition penalty of 1.05).

        >>> GenerationParams(max_new_tokens=64).explicit()["repetition_penalty"]
        1.0
        """
        return {**NEUTRAL_DECODING, **self.as_dict()}

    def merged(self, **overrides: Any) -> GenerationParams:
        """A copy with ``overrides`` applied (``None`` values ignored)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        return self.model_copy(update=clean) if clean else self


class Prompt(BaseModel):
    """One prompt of the library."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    version: str
    kind: Kind = "text"
    description: str = ""
    system: str | None = None
    text: str
    accepts_context: bool = True
    generation: GenerationParams = Field(default_factory=GenerationParams)
    source: str = ""

    def render(self, context: Mapping[str, Any] | None = None) -> RenderedPrompt:
        """Fill in the measured context (when given and accepted) and return what is sent."""
        sentence = context_sentence(context) if context and self.accepts_context else ""
        text = self.text
        if CONTEXT_PLACEHOLDER in text:
            text = text.replace(CONTEXT_PLACEHOLDER, f"{sentence} " if sentence else "")
        elif sentence:
            text = f"{sentence} {text}"
        used = {k: v for k, v in (context or {}).items() if v is not None} if sentence else None
        return RenderedPrompt(
            prompt_id=self.id,
            prompt_version=self.version,
            kind=self.kind,
            system=self.system,
            text=text.strip(),
            generation=self.generation,
            context_given=bool(sentence),
            context=used,
        )


class RenderedPrompt(BaseModel):
    """A prompt ready to send: its final text and what went into it."""

    model_config = ConfigDict(frozen=True)

    prompt_id: str
    prompt_version: str
    kind: Kind = "text"
    system: str | None = None
    text: str
    generation: GenerationParams = Field(default_factory=GenerationParams)
    context_given: bool = False
    context: dict[str, Any] | None = None

    @property
    def digest(self) -> str:
        """Hash of exactly what the model sees (system, text, parameters)."""
        blob = json.dumps(
            {"system": self.system, "text": self.text, "gen": self.generation.as_dict()},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def context_sentence(context: Mapping[str, Any]) -> str:
    """One sentence stating the measured tempo, key and meter (whichever are known)."""
    parts = []
    bpm = context.get("bpm")
    if bpm is not None:
        parts.append(f"tempo {float(bpm):.0f} BPM")
    if context.get("key"):
        parts.append(f"key {context['key']}")
    meter = context.get("time_signature") or context.get("meter")
    if meter:
        parts.append(f"time signature {meter}")
    if not parts:
        return ""
    return "Signal analysis measured: " + ", ".join(parts) + "."


def load_prompt_file(path: str | Path) -> Prompt:
    """Read and validate one prompt file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PromptError(f"{p}: cannot read prompt file: {exc}") from exc
    data["version"] = str(data.get("version", ""))
    try:
        return Prompt.model_validate({**data, "source": str(p)})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise PromptError(f"{p}: invalid prompt ({where}: {first['msg']})") from exc


class PromptLibrary:
    """The built-in prompts, overridden or extended by the files of ``user_dirs``."""

    def __init__(self, user_dirs: Iterable[str | Path] = ()) -> None:
        self.prompts: dict[str, Prompt] = {}
        for folder in (BUILTIN_DIR, *(Path(d) for d in user_dirs)):
            if not folder.is_dir():
                raise PromptError(f"{folder}: prompt folder not found")
            for path in sorted(folder.glob("*.toml")):
                prompt = load_prompt_file(path)
                self.prompts[prompt.id] = prompt

    def names(self) -> list[str]:
        return sorted(self.prompts)

    def get(self, name: str) -> Prompt:
        try:
            return self.prompts[name]
        except KeyError:
            raise PromptError(
                f"unknown prompt {name!r}; available: {', '.join(self.names())}"
            ) from None

    def select(self, names: Iterable[str] | str | None) -> list[Prompt]:
        """Prompts by name (a list or a comma-separated string); default :data:`DEFAULT_PROMPTS`."""
        if names is None:
            names = DEFAULT_PROMPTS
        if isinstance(names, str):
            names = [n for n in (s.strip() for s in names.split(",")) if n]
        return [self.get(n) for n in names]


def adhoc_prompt(
    text: str, *, kind: Kind = "text", max_new_tokens: int = 512, system: str | None = None
) -> Prompt:
    """A one-off prompt (``linernotes listen FILE --prompt "..."``), identified by its text."""
    digest = hashlib.sha256(f"{system}\n{text}".encode()).hexdigest()[:10]
    return Prompt(
        id=f"custom-{digest}",
        version="1",
        kind=kind,
        system=system,
        text=text,
        accepts_context=CONTEXT_PLACEHOLDER in text,
        generation=GenerationParams(max_new_tokens=max_new_tokens),
        source="<command line>",
    )
