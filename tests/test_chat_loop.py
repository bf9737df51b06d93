"""The tool loop against a local server speaking OpenAI's protocol: the text model calls the
measurements and the audio model, then answers from what they returned; the terminal
transcript of that session is the one the README shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from chat_server import Reply, ScriptedOpenAI, tool_results

from linernotes.chat import ChatSession, ChatSettings, ChatTools, LibraryAccess, sse_stream
from linernotes.chat.client import ChatClient
from linernotes.cli import main

pytest_plugins = ["chat_fixtures"]

REPO = Path(__file__).resolve().parents[1]
TRANSCRIPT = REPO / "docs" / "chat-transcript.txt"
QUESTION = "where does the chorus start, and is the tempo steady there?"
AUDIO_MODEL = "nvidia/music-flamingo-2601-hf"


def _clock_seconds(text: str) -> float:
    minutes, seconds = re.search(r"(\d+):(\d\d(?:\.\d)?)", text).groups()
    return int(minutes) * 60 + float(seconds)


def chorus_script(server: ScriptedOpenAI) -> None:
    """The text model's side: ask the audio model where the chorus is and get the measured
    facts, then the tempo from there on, then answer from those results only."""
    server.audio_reply = lambda body: (
        "The chorus starts at 0:14, where the drums hit harder and the chords get louder."
    )
    server.push(
        Reply(
            tool_calls=[
                ("measurements", {"track": "song.flac"}),
                ("ask_audio", {"track": "song.flac", "question": "Where does the chorus start?"}),
            ]
        )
    )

    def measure_the_chorus(body: dict) -> Reply:
        results = tool_results(body)
        start = _clock_seconds(results["ask_audio"]["answer"])
        end = results["measurements"]["duration_s"]
        return Reply(
            content="Checking the tempo from there.",
            tool_calls=[("measurements", {"track": "song.flac", "start": start, "end": end})],
        )

    def answer(body: dict) -> Reply:
        results = tool_results(body)
        heard = results["ask_audio"]["answer"]
        window = results["measurements"]["tempo_in_range"]
        start = _clock_seconds(heard)
        text = (
            f"The audio model hears the chorus start at about {heard.split(' at ')[1][:4]}."
            f" From {start:.0f} s to the end the measured tempo is {window['verdict']}"
            f" ({window['beats']} beats, beat to beat {window['min_bpm']:.0f}-"
            f"{window['max_bpm']:.0f} BPM), so yes, it is steady there. Across the whole"
            f" track it is not: {results['measurements']['tempo']['change']}."
        )
        return Reply(content=text)

    server.push(measure_the_chorus, answer)


def _session(root: Path, server: ScriptedOpenAI, **settings) -> ChatSession:
    from linernotes.listen.backends.openai import OpenAIBackend

    backend = OpenAIBackend(server.base_url, AUDIO_MODEL, max_retries=0)
    library = LibraryAccess(root, backend=backend)
    client = ChatClient(server.base_url, "test-llm", api_key="sk-test-secret", max_retries=0)
    return ChatSession(
        ChatTools(library), client=client, settings=ChatSettings(**settings), focus=["song.flac"]
    )


def test_the_terminal_chat_answers_from_tool_results(chat_library, llm_server, capsys):
    chorus_script(llm_server)
    args = ["chat", "song.flac", "--library", str(chat_library), "--llm-base-url"]
    args += [llm_server.base_url, "--llm-model", "test-llm", "--backend", "openai"]
    args += ["--base-url", llm_server.base_url, "--model", AUDIO_MODEL, "--ask", QUESTION]
    assert main(args) == 0
    transcript = capsys.readouterr().out
    # the loop: three requests, the second and third carrying the tool results
    assert len(llm_server.requests) == 3
    first = llm_server.requests[0]
    assert first["stream"] is True and {t["function"]["name"] for t in first["tools"]} >= {
        "measurements", "ask_audio", "compare", "search_library", "propose_edit"
    }  # fmt: skip
    roles = [m["role"] for m in llm_server.requests[2]["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant", "tool"]
    # the audio model heard the song with the measured facts in its prompt
    prompt = llm_server.audio_requests[0]["messages"][-1]["content"][-1]["text"]
    assert "Signal analysis measured" in prompt and "A minor" in prompt
    assert "Where does the chorus start?" in prompt
    # the answer is built from the tool results
    measured = tool_results(llm_server.requests[2])["measurements"]["tempo_in_range"]
    assert measured["steady"] is True and measured["bpm"] == pytest.approx(120, abs=1.5)
    assert "chorus start at about 0:14" in transcript
    assert measured["verdict"] in transcript
    assert "  -> ask_audio(" in transcript and "  <- measurements: 12" in transcript
    TRANSCRIPT.parent.mkdir(exist_ok=True)
    if not TRANSCRIPT.is_file() or TRANSCRIPT.read_text() != transcript:
        TRANSCRIPT.write_text(transcript)
    readme = (REPO / "README.md").read_text()
    assert f"```\n{transcript}```" in readme, (
        "README's chat transcript differs from docs/chat-transcript.txt (written by this"
        " test): copy the file into the README's transcript block"
    )


def test_events_stream_as_sse_and_tool_calls_are_assembled(chat_library, llm_server):
    chorus_script(llm_server)
    session = _session(chat_library, llm_server)
    events = list(session.ask(QUESTION))
    types = [e.type for e in events]
    assert types.count("tool_call") == 3 and types.count("tool_result") == 3
    assert types[-1] == "done" and "error" not in types
    calls = [e.data for e in events if e.type == "tool_call"]
    # arguments arrived in 7-character fragments and were joined
    assert json.loads(calls[2]["arguments"])["start"] == 14
    tokens = "".join(e.text for e in events if e.type == "token")
    assert events[-1].text in tokens
    # the history keeps the tool exchange and one answer
    assert [m["role"] for m in session.history][-1] == "assistant"
    assert session.history[-1]["content"] == events[-1].text.strip()
    body = b"".join(sse_stream(events)).decode()
    assert body.count("event: tool_call\n") == 3 and body.endswith("\n\n")
    first = json.loads(body.split("data: ", 1)[1].split("\n", 1)[0])
    assert first["type"] == "tool_call"
    assert "sk-test-secret" not in json.dumps(llm_server.requests)


def test_a_server_that_does_not_stream_gives_the_same_answer(chat_library, llm_server):
    chorus_script(llm_server)
    session = _session(chat_library, llm_server, stream=False)
    session.client.stream = False
    events = list(session.ask(QUESTION))
    assert llm_server.requests[0]["stream"] is False
    assert events[-1].type == "done" and "steady at about 120 BPM" in events[-1].text
