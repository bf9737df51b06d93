"""Without a text model the question goes to the audio model with the measured features in its
prompt; without any model the measurements answer, and say so."""

from __future__ import annotations

import json

import pytest

from linernotes.chat import ChatSession, ChatTools, LibraryAccess
from linernotes.chat.answers import PREFACE
from linernotes.cli import main

pytest_plugins = ["chat_fixtures", "listen_fixtures"]


def _answer(session: ChatSession, question: str) -> str:
    events = list(session.ask(question))
    assert events[-1].type == "done", events
    return events[-1].text


def test_the_measurements_answer_whether_the_tempo_is_steady(chat_library):
    # song.flac: 100 BPM until 14.4 s, then 120 BPM
    session = ChatSession(ChatTools(LibraryAccess(chat_library)), focus=["song.flac"])
    assert session.mode == "measurements"
    events = list(session.ask("is the tempo steady between 10 and 20 s?"))
    assert events[0].type == "notice" and "measurements alone" in events[0].text
    text = events[-1].text
    assert text.startswith(PREFACE)
    assert "Between 0:10.0 and 0:20.0 the tempo is not steady" in text
    before, after = text.split("not steady: about ")[1].split(" BPM until about ")
    change = after.split(",")[0]
    assert abs(float(before) - 100) <= 2
    assert "then about 120 BPM" in text
    minutes, seconds = change.split(":")
    assert abs(int(minutes) * 60 + float(seconds) - 14.4) <= 2.0
    steady = _answer(session, "and is it steady from 0:20 to 0:30?")
    assert "the tempo is steady at about 120 BPM" in steady
    assert "A minor" in _answer(session, "What key is it in?")
    structure = _answer(session, "Where does the chorus start?")
    assert "Section names (intro, verse, chorus) are not measured" in structure
    assert "the tempo changes at about 0:1" in structure
    assert "4/4" in _answer(session, "what's the time signature")
    assert "LUFS" in _answer(session, "how loud is it?")


def test_the_command_line_answers_without_any_model(chat_library, capsys):
    track = str(chat_library / "other.flac")
    assert main(["chat", track, "--ask", "How fast is it, and in which key?"]) == 0
    out = capsys.readouterr().out
    assert "linernotes chat (measurements mode) about other.flac" in out
    assert "[fallback] no model configured" in out
    assert "The tempo is 90 BPM" in out and "The key is C major" in out
    assert main(["chat", track, "--ask", "In which key?", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["type"] == "done"
    assert "C major" in "".join(e.get("text", "") for e in events if e["type"] == "token")


def test_without_a_text_model_the_audio_model_answers_with_the_measurements(
    chat_library, llm_server
):
    from linernotes.listen.backends.openai import OpenAIBackend

    backend = OpenAIBackend(llm_server.base_url, "nvidia/music-flamingo-2601-hf", max_retries=0)
    llm_server.audio_reply = lambda body: "Brushed drums and a piano; the chorus opens up."
    session = ChatSession(
        ChatTools(LibraryAccess(chat_library, backend=backend)), focus=["song.flac"]
    )
    assert session.mode == "audio"
    events = list(session.ask("What happens between 0:10 and 0:20?"))
    assert [e.type for e in events] == ["notice", "tool_call", "tool_result", "token", "done"]
    assert events[-1].text == "Brushed drums and a piano; the chorus opens up."
    assert not llm_server.requests  # no text model was asked
    prompt = llm_server.audio_requests[0]["messages"][-1]["content"][-1]["text"]
    assert prompt.startswith("Signal analysis measured (trust these numbers): tempo")
    assert "key A minor" in prompt and "time signature 4/4" in prompt
    assert prompt.endswith("What happens between 0:10 and 0:20?")
    assert events[1].data["arguments"]["start"] == 10.0
    # a failing audio model falls back to the measurements
    llm_server.audio_status = 400
    events = list(session.ask("Is the tempo steady between 20 and 30 s?"))
    assert events[-1].type == "done" and events[-1].text.startswith(PREFACE)
    assert [e.data.get("kind") for e in events if e.type == "notice"] == ["fallback", "fallback"]


def test_ask_audio_with_the_tiny_random_music_flamingo(chat_library, tiny_backends):
    pytest.importorskip("transformers")
    library = LibraryAccess(chat_library, backend=tiny_backends["mf"])
    tools = ChatTools(library, audio_max_new_tokens=6)
    assert library.audio_cap_s == 1200.0
    outcome = tools.call(
        "ask_audio", {"track": "song.flac", "question": "Which instruments?", "start": 5, "end": 9}
    )
    assert outcome.ok, outcome.result
    assert outcome.result["start_s"] == 5.0 and outcome.result["end_s"] == 9.0
    assert outcome.result["model"] == str(tiny_backends["mf"].model_id)
    assert isinstance(outcome.result["answer"], str)
    # asked again: the library's listen cache answers
    again = library.ask_audio("song.flac", "Which instruments?", 5.0, 9.0, max_new_tokens=4)
    assert not again.cached  # a different prompt: this one lacks the measured context
    third = library.ask_audio("song.flac", "Which instruments?", 5.0, 9.0, max_new_tokens=4)
    assert third.cached and third.text == again.text
