"""Settings of the listen layer, from (highest first) command-line arguments, environment
variables (``LINERNOTES_*``, plus ``HF_TOKEN`` and ``OPENAI_API_KEY``), a ``.env`` file, and
the ``[listen]`` table of a config file (``linernotes.toml`` in the working folder, or the file
named by ``LINERNOTES_CONFIG``).

Secrets (API keys, tokens) are :class:`~pydantic.SecretStr`: they print as ``**********``,
:meth:`ListenSettings.public` leaves them out, and nothing in linernotes writes them into a
record or a log.

Example ``linernotes.toml``::

    [listen]
    backend = "openai"
    base_url = "http://gpu-box:8000/v1"
    model = "nvidia/audio-flamingo-3-hf"
    prompts = ["caption", "genre_mood_inst", "quality"]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from linernotes.config import config_path, config_table

BackendName = Literal["transformers", "openai", "hf-endpoint", "cpu"]


class _TomlTableSource(PydanticBaseSettingsSource):
    """The ``[listen]`` table of the config file (lowest priority)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path
        self.data: dict[str, Any] = config_table("listen", path) if path is not None else {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k in self.settings_cls.model_fields}


class ListenSettings(BaseSettings):
    """Everything the listen layer can be told. Music Flamingo and Audio Flamingo 3 weights are
    licensed for non-commercial use only."""

    model_config = SettingsConfigDict(
        env_prefix="LINERNOTES_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    backend: BackendName = "transformers"
    model: str = Field(
        "nvidia/music-flamingo-2601-hf",
        description="hub id or local folder (transformers), or the served model name",
    )
    revision: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    think: bool = False
    long_audio: Literal["truncate", "window"] = "truncate"
    batch_size: int = Field(
        8, ge=1, description="most prompt rows decoded together (1: each prompt alone)"
    )
    device_map: str | None = Field(
        None, description='where the weights go ("auto": spread over the GPUs and the CPU)'
    )
    quantize: Literal["8bit", "4bit"] | None = Field(
        None, description="load the language model in 8 or 4 bits (needs bitsandbytes)"
    )
    kv_cache_gb: float | None = Field(
        None,
        gt=0,
        description="most memory for a decoding batch's key/value cache (default: 90 % of the"
        " free GPU memory; no limit on the CPU)",
    )
    prompts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["caption", "genre_mood_inst", "technical", "lyrics", "quality"]
    )
    prompts_dir: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    give_context: bool = Field(True, description="give measured BPM/key/meter to the prompts")
    max_new_tokens: int | None = Field(None, ge=1)

    lyrics_model: str = Field(
        "small", description="CPU listener: faster-whisper size, hub id or folder; none: off"
    )
    tagger: bool = Field(False, description="also run the CPU tagger beside a model backend")

    base_url: str | None = None
    audio_format: Literal["wav", "mp3"] = "wav"
    endpoint_url: str | None = None
    timeout_s: float = Field(300.0, gt=0)
    max_retries: int = Field(5, ge=0)
    concurrency: int = Field(4, ge=1)

    api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("api_key", "LINERNOTES_API_KEY", "OPENAI_API_KEY")
    )
    hf_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("hf_token", "LINERNOTES_HF_TOKEN", "HF_TOKEN")
    )

    @field_validator("prompts", mode="before")
    @classmethod
    def _split_prompts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @field_validator("prompts_dir", mode="before")
    @classmethod
    def _split_dirs(cls, value: Any) -> Any:
        if isinstance(value, (str, Path)):
            return [p for p in str(value).split(os.pathsep) if p]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        source = _TomlTableSource(settings_cls, config_path())
        return (init_settings, env_settings, dotenv_settings, source)

    @classmethod
    def load(cls, **cli: Any) -> ListenSettings:
        """Settings with the command line's values on top (``None`` means not given)."""
        return cls(**{k: v for k, v in cli.items() if v is not None})

    def public(self) -> dict[str, Any]:
        """The settings without secrets, safe to print or record."""
        data = self.model_dump(mode="json", exclude={"api_key", "hf_token"})
        data["api_key_set"] = self.api_key is not None
        data["hf_token_set"] = self.hf_token is not None
        return data
