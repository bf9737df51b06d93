"""Optional structuring by a text LLM through any OpenAI-compatible chat API.

The cleanup people do by hand with ChatGPT: the listening model's caption, tags and lyrics
plus artist/track hints go in, a JSON object constrained by a JSON schema
(``response_format: {"type": "json_schema", ...}``) comes back. The answer is validated and
then spelled canonically by the same rules as the default, so an LLM can improve wording but
cannot smuggle ``Am`` or ``English`` into an export. Tempo, key and meter are never asked for:
those are measured.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from linernotes.http import HttpClient, join_url
from linernotes.reconcile.structure import StructuredText, StructureRequest

#: The schema the chat model must answer with.
STRUCTURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "caption",
        "genres",
        "moods",
        "instruments",
        "vocal_language",
        "is_instrumental",
    ],
    "properties": {
        "caption": {"type": "string", "description": "Style, instruments, mood, vocals."},
        "genres": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "moods": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "instruments": {"type": "array", "items": {"type": "string"}, "maxItems": 10},
        "vocal_language": {"type": ["string", "null"], "description": "ISO 639-1 or null"},
        "is_instrumental": {"type": ["boolean", "null"]},
    },
}

SYSTEM_PROMPT = (
    "You turn notes about a piece of music into clean training metadata. Use only what the "
    "notes say; do not invent. The caption describes style, instruments, mood, timbre and "
    "vocals in at most 150 words and never states tempo, BPM, key or time signature. Tags are "
    "short and lower case. vocal_language is an ISO 639-1 code, or null when unknown or "
    "instrumental. Answer with the JSON object only."
)


@dataclass
class LLMStructurer:
    """Structures text with a chat model at ``base_url`` (``.../v1``).

    The API key comes from ``api_key`` or ``OPENAI_API_KEY`` and is sent only as a bearer
    token, never logged or recorded.
    """

    base_url: str
    model: str
    api_key: str | None = None
    temperature: float = 0.0
    http: HttpClient = field(default_factory=lambda: HttpClient(timeout_s=120.0, max_retries=2))

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    def payload(self, request: StructureRequest) -> dict[str, Any]:
        """The chat-completions request body for ``request``."""
        notes = {
            "hints": request.hints,
            "descriptions": request.captions,
            "genres": request.genres,
            "moods": request.moods,
            "instruments": request.instruments,
            "tags": request.tags,
            "lyrics": request.lyrics,
        }
        return {
            "model": self.model,
            "temperature": self.temperature,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(notes, ensure_ascii=False, indent=1)},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "track_metadata",
                    "strict": True,
                    "schema": STRUCTURE_SCHEMA,
                },
            },
        }

    def structure(self, request: StructureRequest) -> StructuredText:
        """Ask the model; raise ``ValueError`` when its answer is not the schema's object."""
        key = self.api_key or os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http.secrets = (key,) if key else ()
        url = join_url(self.base_url, "chat/completions")
        answer = self.http.post_json(url, self.payload(request), headers=headers, what="structure")
        try:
            content = answer["choices"][0]["message"]["content"]
            data = json.loads(content)
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"the structuring model's answer is not JSON: {exc}") from exc
        missing = [k for k in STRUCTURE_SCHEMA["required"] if k not in data]
        if missing:
            raise ValueError("the structuring model's answer lacks " + ", ".join(missing))
        return StructuredText.model_validate(data)
