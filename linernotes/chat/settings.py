"""Settings of the chat, by the project's conventions: command line over environment over
``.env`` over the ``[chat]`` table of ``linernotes.toml`` (or the file ``LINERNOTES_CONFIG``
names). The text model's server is ``LINERNOTES_LLM_BASE_URL`` / ``llm_base_url``, its key
``OPENAI_API_KEY`` (or ``LINERNOTES_LLM_API_KEY``), kept secret like the listen layer's.

Example ``linernotes.toml``::

    [chat]
    llm_base_url = "http://gpu-box:8001/v1"
    llm_model = "Qwen/Qwen2.5-7B-Instruct"
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from linernotes.chat.budget import MAX_AUDIO_S, MAX_INPUT_TOKENS, MAX_OUTPUT_TOKENS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def _config_table(table: str) -> dict[str, Any]:
    """The ``[table]`` of the config file, or nothing."""
    config = os.environ.get("LINERNOTES_CONFIG")
    path = Path(config) if config else Path.cwd() / "linernotes.toml"
    if not path.is_file():
        return {}
    with open(path, "rb") as handle:
        return dict(tomllib.load(handle).get(table, {}))


class ChatSettings(BaseSettings):
    """What the chat can be told: the text model's server and the budgets."""

    model_config = SettingsConfigDict(env_prefix="LINERNOTES_CHAT_", env_file=".env",
                                      extra="ignore", populate_by_name=True)  # fmt: skip

    llm_base_url: str | None = Field(
        None, validation_alias=AliasChoices("llm_base_url", "LINERNOTES_LLM_BASE_URL")
    )
    llm_model: str = Field(
        "default", validation_alias=AliasChoices("llm_model", "LINERNOTES_LLM_MODEL")
    )
    api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("api_key", "LINERNOTES_LLM_API_KEY", "OPENAI_API_KEY"),
    )
    stream: bool = True
    timeout_s: float = Field(120.0, gt=0)
    max_input_tokens: int = Field(MAX_INPUT_TOKENS, ge=1000)
    max_output_tokens: int = Field(MAX_OUTPUT_TOKENS, ge=16)
    max_continuations: int = Field(3, ge=0)
    max_tool_rounds: int = Field(8, ge=1)
    max_audio_s: float = Field(MAX_AUDIO_S, gt=0)
    audio_max_new_tokens: int = Field(512, ge=1)
    author: str | None = Field(None, validation_alias=AliasChoices("author", "LINERNOTES_AUTHOR"))

    @classmethod
    def load(cls, **cli: Any) -> ChatSettings:
        """Settings with the command line's values on top (``None`` means not given), the
        config file's ``[chat]`` table under everything else."""
        settings = cls(**{k: v for k, v in cli.items() if v is not None})
        table = {k: v for k, v in _config_table("chat").items() if k in cls.model_fields}
        unset = {k: v for k, v in table.items() if k not in settings.model_fields_set}
        return cls(**{**unset, **settings.model_dump(include=settings.model_fields_set)})

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None
