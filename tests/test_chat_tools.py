"""compare and search_library read the library through the same door as the chat."""

from __future__ import annotations

from linernotes.chat import ChatTools, LibraryAccess
from linernotes.chat.facts import key_relation, tempo_between

pytest_plugins = ["chat_fixtures"]


def test_compare_relates_tempo_key_and_level(chat_library):
    tools = ChatTools(LibraryAccess(chat_library))
    outcome = tools.call("compare", {"track_a": "other.flac", "track_b": "song"})
    assert outcome.ok, outcome.result
    result = outcome.result
    assert result["a"]["key"]["key"] == "C major" and result["b"]["key"]["key"] == "A minor"
    assert result["relations"]["key"] == "relative major/minor"
    ratio = result["relations"]["bpm_ratio"]
    assert ratio == round(result["b"]["tempo"]["bpm"] / result["a"]["tempo"]["bpm"], 3)
    assert "loudness_difference_lu" in result["relations"]


def test_search_library_filters_by_bpm_key_meter_tags_and_text(chat_library):
    library = LibraryAccess(chat_library)
    tools = ChatTools(library)

    def found(**filters) -> list[str]:
        outcome = tools.call("search_library", filters)
        assert outcome.ok, outcome.result
        assert outcome.result["searched"] == 2
        return [t["track"] for t in outcome.result["tracks"]]

    assert found() == ["other.flac", "song.flac"]
    assert found(bpm_min=80, bpm_max=100) == ["other.flac"]
    assert found(key="Am") == ["song.flac"]
    assert found(key="minor") == ["song.flac"]
    assert found(key="C") == ["other.flac"]
    assert found(time_signature="4/4", text="song") == ["song.flac"]
    assert found(tags=["piano"]) == []
    # tags come from the final fields, human edits included (the search sees a new edit)
    proposal = library.propose_edit("other.flac", "instruments", "piano, bass")
    library.apply_edit(proposal, author="t")
    assert found(tags=["Piano"]) == ["other.flac"]
    assert found(limit=1) == ["other.flac"]


def test_key_relations_and_tempo_reading_of_a_steady_grid():
    assert key_relation("A minor", "C major") == "relative major/minor"
    assert key_relation("A minor", "A major") == "parallel major/minor"
    assert key_relation("C major", "G major").startswith("a fifth apart")
    assert key_relation("C major", "D major") == "2 semitones apart"
    assert key_relation("C major", None) is None
    beats = [0.5 * i for i in range(21)] + [10.0 + 0.6 * i for i in range(1, 17)]
    window = tempo_between(beats, 0.0, 19.6)
    assert window["steady"] is False and abs(window["change_at_s"] - 10.0) <= 0.7
    assert "about 120 BPM until" in window["verdict"] and "then about 100 BPM" in window["verdict"]
    assert tempo_between(beats, 0, 1)["steady"] is None


def test_chat_settings_command_line_over_environment_over_config_file(tmp_path, monkeypatch):
    from linernotes.chat import ChatSettings

    config = tmp_path / "linernotes.toml"
    config.write_text(
        '[chat]\nllm_model = "from-file"\nllm_base_url = "http://file:1/v1"\n'
        "max_input_tokens = 3000\n"
    )
    monkeypatch.setenv("LINERNOTES_CONFIG", str(config))
    monkeypatch.setenv("LINERNOTES_LLM_MODEL", "from-env")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    settings = ChatSettings.load()
    assert settings.llm_model == "from-env" and settings.llm_base_url == "http://file:1/v1"
    assert settings.max_input_tokens == 3000 and settings.key() == "sk-secret"
    assert "sk-secret" not in repr(settings)
    assert ChatSettings.load(llm_model="from-cli").llm_model == "from-cli"
