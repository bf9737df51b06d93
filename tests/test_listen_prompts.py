"""The prompt library as data, the measured context, settings sources and the cache key."""

from __future__ import annotations

import pytest

from linernotes.listen import (
    GenerationParams,
    ListenSettings,
    PromptError,
    PromptLibrary,
    adhoc_prompt,
    cache_key,
)

REQUIRED = {
    "caption",
    "brief",
    "very_brief",
    "technical",
    "genre_mood_inst",
    "instrumentation",
    "lyrics",
    "quality",
    "tags",
}
MEASURED = {"bpm": 121.6, "key": "A minor", "time_signature": "4/4"}


def test_builtin_library_has_every_prompt_versioned():
    library = PromptLibrary()
    assert set(library.names()) >= REQUIRED
    for name in REQUIRED:
        prompt = library.get(name)
        assert prompt.version and prompt.text and prompt.source.endswith(f"{name}.toml")
        assert prompt.generation.do_sample is False  # reproducible and cacheable
    assert library.get("quality").kind == "json"
    assert library.get("lyrics").kind == "lyrics" and "[Instrumental]" in library.get("lyrics").text
    for key in (
        "content_usefulness",
        "production_quality",
        "content_enjoyment",
        "production_complexity",
        "overall_recommendation_score",
        "production_style",
    ):
        assert key in library.get("quality").text
    caption = library.get("caption").text.lower()
    assert "bpm" in caption and "do not mention" in caption


def test_measured_context_goes_only_where_accepted():
    library = PromptLibrary()
    technical = library.get("technical").render(MEASURED)
    assert technical.context_given and technical.context == MEASURED
    assert technical.text.startswith(
        "Signal analysis measured: tempo 122 BPM, key A minor, time signature 4/4. Give"
    )
    caption = library.get("caption").render(MEASURED)
    assert not caption.context_given and "BPM" not in caption.text.replace("BPM, key", "")
    plain = library.get("technical").render(None)
    assert not plain.context_given and plain.text.startswith("Give a technical")
    assert "{context}" not in plain.text
    assert technical.digest != plain.digest


def test_user_folder_overrides_and_extends(tmp_path):
    (tmp_path / "caption.toml").write_text(
        'id = "caption"\nversion = "7"\ntext = "Caption it."\n[generation]\nmax_new_tokens = 9\n'
    )
    (tmp_path / "chords.toml").write_text(
        'id = "chords"\nversion = "1"\nkind = "text"\nsystem = "You are a musician."\n'
        'text = "{context}List the chords."\n'
    )
    library = PromptLibrary([tmp_path])
    assert library.get("caption").version == "7"
    assert library.get("caption").generation.max_new_tokens == 9
    chords = library.get("chords").render({"key": "G major"})
    assert chords.system == "You are a musician."
    assert chords.text == "Signal analysis measured: key G major. List the chords."
    assert [p.id for p in library.select("chords, quality")] == ["chords", "quality"]


def test_bad_prompts_are_reported(tmp_path):
    with pytest.raises(PromptError, match="unknown prompt 'nope'; available: brief"):
        PromptLibrary().get("nope")
    (tmp_path / "bad.toml").write_text('id = "bad"\nversion = 1\nkind = "poem"\ntext = "x"\n')
    with pytest.raises(PromptError, match=r"bad.toml: invalid prompt \(kind"):
        PromptLibrary([tmp_path])
    with pytest.raises(PromptError, match="not found"):
        PromptLibrary([tmp_path / "missing"])


def test_adhoc_prompt_is_identified_by_its_text():
    a = adhoc_prompt("Which instruments enter after the first chorus?")
    b = adhoc_prompt("Which instruments enter after the first chorus?")
    assert a.id == b.id and a.id.startswith("custom-") and not a.accepts_context
    assert adhoc_prompt("Other question?").id != a.id


def test_generation_params():
    params = GenerationParams(max_new_tokens=100, repetition_penalty=1.05)
    assert params.as_dict() == {
        "max_new_tokens": 100,
        "do_sample": False,
        "repetition_penalty": 1.05,
    }
    assert params.merged(max_new_tokens=None) is params
    assert params.merged(max_new_tokens=5).max_new_tokens == 5


def test_settings_precedence_cli_env_dotenv_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in (
        "LINERNOTES_MODEL",
        "LINERNOTES_BASE_URL",
        "OPENAI_API_KEY",
        "HF_TOKEN",
        "LINERNOTES_CONFIG",
        "LINERNOTES_PROMPTS",
    ):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "linernotes.toml").write_text(
        '[listen]\nbackend = "openai"\nmodel = "toml-model"\nbase_url = "http://toml/v1"\n'
        'prompts = ["caption"]\nconcurrency = 3\n'
    )
    settings = ListenSettings.load()
    assert (settings.backend, settings.model, settings.concurrency) == ("openai", "toml-model", 3)
    (tmp_path / ".env").write_text("LINERNOTES_MODEL=dotenv-model\nOPENAI_API_KEY=sk-dotenv\n")
    settings = ListenSettings.load()
    assert settings.model == "dotenv-model" and settings.base_url == "http://toml/v1"
    assert settings.api_key.get_secret_value() == "sk-dotenv"
    monkeypatch.setenv("LINERNOTES_MODEL", "env-model")
    monkeypatch.setenv("LINERNOTES_PROMPTS", "tags,quality")
    settings = ListenSettings.load(base_url=None)
    assert settings.model == "env-model" and settings.prompts == ["tags", "quality"]
    settings = ListenSettings.load(model="cli-model", prompts="brief")
    assert settings.model == "cli-model" and settings.prompts == ["brief"]
    assert "sk-dotenv" not in repr(settings) and "sk-dotenv" not in str(settings.public())


def test_cache_key_changes_with_every_part():
    library = PromptLibrary()
    prompt = library.get("quality").render(MEASURED)
    ident = {"backend": "transformers", "model_id": "m", "revision": "r1", "variant": None}
    base = cache_key("h", ident, prompt, "truncate")
    assert base == cache_key("h", dict(ident), prompt, "truncate")
    assert base != cache_key("h2", ident, prompt, "truncate")
    assert base != cache_key("h", {**ident, "revision": "r2"}, prompt, "truncate")
    assert base != cache_key("h", {**ident, "backend": "openai"}, prompt, "truncate")
    assert base != cache_key("h", ident, library.get("quality").render(None), "truncate")
    longer = prompt.model_copy(update={"generation": prompt.generation.merged(max_new_tokens=9)})
    assert base != cache_key("h", ident, longer, "truncate")
    assert base != cache_key("h", ident, prompt, "window")
