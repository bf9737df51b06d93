"""Optional LLM structuring against a local server speaking OpenAI's chat-completions
protocol with ``response_format: json_schema``."""

from __future__ import annotations

import json

import pytest
from json_server import JsonServer, Request, chat_completion
from test_reconcile_fixtures import listen_section, measured_record

from linernotes.http import HttpClient
from linernotes.reconcile import ReconcileOptions, reconcile
from linernotes.reconcile.llm import STRUCTURE_SCHEMA, LLMStructurer


class ChatServer(JsonServer):
    """A chat-completions server answering each request with ``self.reply`` (a dict made
    into the assistant message's JSON content) or an HTTP error status."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.reply: dict | None = None
        self.status = 200
        super().__init__(self.respond)
        self.base_url = self.url + "/v1"

    def respond(self, request: Request) -> tuple[int, dict]:
        self.requests.append({"path": request.path, "body": request.body})
        self.headers.append(request.headers)
        if self.status != 200:
            return self.status, {"error": {"message": "model not found", "type": "invalid_request"}}
        usage = {"prompt_tokens": 10, "completion_tokens": 10}
        return 200, chat_completion(request.body["model"], json.dumps(self.reply), usage)


@pytest.fixture
def chat_server():
    with ChatServer() as server:
        yield server


def _record():
    record = measured_record(tags={"artist": "Los Ejemplos", "title": "Sol"})
    record.listen = listen_section(
        {
            "caption": "a guitar song with hand claps, 128 BPM",
            "tags": "latin, guitar, claps, joyful",
        }
    )
    return record


def test_llm_structuring_sends_schema_and_hints_and_is_normalised(chat_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    chat_server.reply = {
        "caption": "Joyful Latin pop with bright nylon guitar and handclaps. It runs at 128 BPM.",
        "genres": ["Latin Pop", "Rumba"],
        "moods": ["Joyful", "joyful", "Upbeat"],
        "instruments": ["Nylon Guitar", "Handclaps"],
        "vocal_language": "Spanish",
        "is_instrumental": False,
    }
    structurer = LLMStructurer(base_url=chat_server.base_url, model="qwen-7b")
    final = reconcile(
        _record(), options=ReconcileOptions(structurer=structurer, hints={"context": "demo"})
    )
    (request,) = chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    body = request["body"]
    assert body["model"] == "qwen-7b"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == STRUCTURE_SCHEMA
    notes = json.loads(body["messages"][1]["content"])
    assert notes["hints"] == {"artist": "Los Ejemplos", "title": "Sol", "context": "demo"}
    assert notes["tags"] == ["latin", "guitar", "claps", "joyful"]
    assert chat_server.headers[0]["Authorization"] == "Bearer sk-secret-123"
    assert final.structured_by == "llm:qwen-7b"
    assert final.value("caption") == "Joyful Latin pop with bright nylon guitar and handclaps."
    assert final.value("genres") == ["latin pop", "rumba"]
    assert final.value("moods") == ["joyful", "upbeat"]
    assert final.value("vocal_language") == "es"
    assert final.value("is_instrumental") is False
    assert "sk-secret-123" not in final.model_dump_json()
    # measured fields are never asked of the LLM and stay measured
    assert final.fields["bpm"].provenance == "measured"


def test_llm_failure_falls_back_to_rules(chat_server):
    chat_server.status = 404
    structurer = LLMStructurer(
        base_url=chat_server.base_url, model="missing", http=HttpClient(max_retries=0)
    )
    final = reconcile(_record(), options=ReconcileOptions(structurer=structurer))
    assert final.structured_by.startswith("rules (fallback: llm:missing failed")
    assert "HTTP 404" in final.structured_by
    assert final.value("caption") == "a guitar song with hand claps"
    assert final.value("moods") == ["joyful"]


def test_llm_answer_missing_keys_is_refused(chat_server):
    chat_server.reply = {"caption": "Only a caption"}
    structurer = LLMStructurer(base_url=chat_server.base_url, model="m")
    final = reconcile(_record(), options=ReconcileOptions(structurer=structurer))
    assert "lacks" in final.structured_by
    assert final.value("genres") == ["latin", "claps"]


def test_export_cli_structures_with_the_llm(chat_server, music_dir, tmp_path, monkeypatch):
    from records import attach
    from test_edits import run_cli

    from linernotes.library import analyze_paths

    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    chat_server.reply = {
        "caption": "Metronome clicks over organ chords.",
        "genres": ["Minimal"],
        "moods": [],
        "instruments": ["Organ", "Percussion"],
        "vocal_language": None,
        "is_instrumental": True,
    }
    assert analyze_paths([music_dir]).exit_code == 0
    attach(music_dir / "one.flac", {"caption": "clicks and an organ"})
    out = tmp_path / "out"
    argv = ["export", str(music_dir), "--to", "ace-step", "--out", str(out),
            "--llm-base-url", chat_server.base_url, "--llm-model", "m", "--hint",
            "context=test clicks"]  # fmt: skip
    assert run_cli(argv) == 0
    assert len(chat_server.requests) == 1  # tracks nobody described are not sent
    notes = json.loads(chat_server.requests[0]["body"]["messages"][1]["content"])
    assert notes["hints"] == {"context": "test clicks"}
    assert "Authorization" not in chat_server.headers[0]
    one = json.loads((out / "ace-step" / "one.json").read_text())
    assert one["caption"] == "Metronome clicks over organ chords."
    assert one["genre"] == "minimal" and one["is_instrumental"] is True
    assert one["pipeline"]["structured_by"] == "llm:m"
    two = json.loads((out / "ace-step" / "two.json").read_text())
    assert two["caption"] == "" and two["pipeline"]["structured_by"] == "rules"
