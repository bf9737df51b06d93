"""`analyze --listen` end to end: the model's section lands in each record, answers are cached
across runs, and the `listen` / `endpoint-template` commands work from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_listen_openai import FakeOpenAI

from linernotes.cli import main
from linernotes.models import TrackRecord

pytest_plugins = ["listen_fixtures"]


def _record(audio: Path) -> TrackRecord:
    return TrackRecord.load(audio.with_name(audio.stem + ".linernotes.json"))


def test_analyze_listen_with_a_server(music_dir: Path, monkeypatch) -> None:
    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    try:
        args = ["analyze", str(music_dir), "--quiet", "--listen", "--backend", "openai"]
        args += ["--base-url", fake.base_url, "--model", "nvidia/audio-flamingo-3-hf"]
        args += ["--prompts", "caption,quality", "--workers", "2"]
        assert main(args) == 0
        asked = len(fake.requests)
        assert asked == 6  # 3 tracks x 2 prompts
        record = _record(music_dir / "one.flac")
        assert record.listen is not None
        caption = record.listen.entries["caption"]
        assert caption.raw_text == "A calm piano piece."
        assert caption.model_id == "nvidia/audio-flamingo-3-hf" and caption.backend == "openai"
        assert not caption.context_given  # captions never hear the BPM/key (ACE-Step style)
        quality = record.listen.entries["quality"]
        assert quality.context_given and quality.context["key"] == "A minor"  # measured, given
        texts = [
            part.get("text", "") for req in fake.requests for part in req["messages"][-1]["content"]
        ]
        assert any("A minor" in t and "JSON" in t for t in texts)
        assert not any("A minor" in t and "JSON" not in t for t in texts)
        assert quality.parsed["production_quality"] == pytest.approx(0.9)
        assert record.summary.provenance["bpm"].value == "measured"
        assert "sk-test-secret" not in (music_dir / "one.linernotes.json").read_text()
        # a second run asks the server nothing and keeps the answers
        assert main(args) == 0
        assert len(fake.requests) == asked
        assert _record(music_dir / "one.flac").listen.entries["caption"].cached
    finally:
        fake.close()


def test_analyze_listen_failure_keeps_measurements(music_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LINERNOTES_MAX_RETRIES", "1")  # settings from the environment
    fake = FakeOpenAI()  # reachable (the up-front check passes), but every answer fails
    fake.script = [(500, {}, {"error": {"message": "model crashed"}}, 0.0)] * 4
    try:
        args = ["analyze", str(music_dir / "one.flac"), "--listen", "--backend", "openai"]
        args += ["--base-url", fake.base_url, "--prompts", "caption"]
        assert main(args) == 1
    finally:
        fake.close()
    assert "listen:" in capsys.readouterr().err
    assert _record(music_dir / "one.flac").summary.bpm is not None


def test_analyze_listen_with_a_tiny_local_model(music_dir: Path, tiny_model_dirs) -> None:
    args = ["analyze", str(music_dir / "one.flac"), "--quiet", "--listen"]
    args += ["--model", str(tiny_model_dirs["mf"]), "--prompts", "very_brief,quality"]
    args += ["--max-new-tokens", "4"]
    assert main(args) == 0
    entries = _record(music_dir / "one.flac").listen.entries
    assert set(entries) == {"very_brief", "quality"}
    assert entries["quality"].model_id == str(tiny_model_dirs["mf"])
    assert entries["quality"].backend == "transformers"


def test_listen_and_endpoint_template_commands(tmp_path: Path, capsys) -> None:
    assert main(["listen", "--list-prompts"]) == 0
    listed = capsys.readouterr().out
    for name in ("caption", "brief", "very_brief", "technical", "genre_mood_inst"):
        assert name in listed
    assert main(["endpoint-template", str(tmp_path / "ep")]) == 0
    assert (tmp_path / "ep" / "handler.py").exists()
    assert (tmp_path / "ep" / "requirements.txt").exists()
