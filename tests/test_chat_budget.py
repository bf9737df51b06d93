"""The budgets: history trimmed under the input limit, long answers continued, long audio
cut into segments; every cut shows in the transcript."""

from __future__ import annotations

import base64
import io
import json
import wave

from chat_server import Reply

from linernotes.chat import ChatSession, ChatSettings, ChatTools, LibraryAccess
from linernotes.chat.budget import audio_spans, estimate_tokens, fit_history
from linernotes.chat.client import ChatClient
from linernotes.chat.repl import TerminalChat

pytest_plugins = ["chat_fixtures"]


def _session(root, server, backend=None, **settings) -> ChatSession:
    client = ChatClient(server.base_url, "test-llm", max_retries=0)
    library = LibraryAccess(root, backend=backend)
    return ChatSession(
        ChatTools(library), client=client, settings=ChatSettings(**settings), focus=["song.flac"]
    )


def _printed(session: ChatSession, events) -> str:
    out = io.StringIO()
    chat = TerminalChat(session, author="t", out=out, echo=True)
    for event in events:
        chat.show(event)
    chat._end_text()
    return out.getvalue()


def test_old_turns_are_summarised_to_stay_under_the_input_budget(chat_library, llm_server):
    session = _session(chat_library, llm_server, max_input_tokens=2500)
    for n in range(4):
        session.history += [
            {"role": "user", "content": f"old question {n} about the bridge"},
            {"role": "assistant", "content": f"old answer {n}: " + "la " * 700},
        ]
    llm_server.push(Reply(content="Short answer."))
    events = list(session.ask("What key is it in?"))
    notices = [e for e in events if e.type == "notice"]
    assert [n.data["kind"] for n in notices] == ["trim"]
    assert "history cut to fit 2,500 input tokens" in notices[0].text
    sent = llm_server.requests[0]
    tools_tokens = estimate_tokens(sent["tools"])
    assert estimate_tokens(sent["messages"]) + tools_tokens <= 2500
    system = sent["messages"][0]["content"]
    assert sent["messages"][0]["role"] == "system" and system.startswith("You are linernotes'")
    assert '"old question 0 about the bridge"' in system  # summarised, not silently lost
    assert sent["messages"][-1] == {"role": "user", "content": "What key is it in?"}
    assert "[trim] history cut" in _printed(session, events)
    assert events[-1].type == "done"


def test_the_latest_turn_alone_over_budget_has_its_tool_results_shortened():
    history = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "a"}]},
        {"role": "tool", "tool_call_id": "a", "content": "x" * 12000},
    ]
    messages, report = fit_history("system", history, 2000)
    assert report.shortened_results == 1 and report.dropped_turns == 0
    assert estimate_tokens(messages) <= 2000
    assert messages[-1]["content"].endswith("...[cut to fit the input budget]")
    assert history[-1]["content"] == "x" * 12000  # the session's own history is untouched


def test_an_answer_cut_at_the_output_limit_is_continued_and_joined(chat_library, llm_server):
    session = _session(chat_library, llm_server, max_output_tokens=64)
    llm_server.push(
        Reply(content="The verse runs at 100 BPM and", finish_reason="length"),
        Reply(content=" the chorus at 120 BPM.", finish_reason="stop"),
    )
    events = list(session.ask("Describe the tempo."))
    assert events[-1].type == "done"
    assert events[-1].text == "The verse runs at 100 BPM and the chorus at 120 BPM."
    notices = [e.text for e in events if e.type == "notice"]
    assert notices == [
        "the answer reached the 64-token output limit; asking the model to continue (1/3)"
    ]
    assert llm_server.requests[0]["max_tokens"] == 64
    second = llm_server.requests[1]["messages"]
    assert second[-2] == {"role": "assistant", "content": "The verse runs at 100 BPM and"}
    assert second[-1]["role"] == "user" and second[-1]["content"].startswith("Continue")
    # the history keeps one joined answer, not the continuation requests
    assert session.history == [
        {"role": "user", "content": "Describe the tempo."},
        {"role": "assistant", "content": events[-1].text},
    ]


def test_continuations_stop_at_their_limit_and_say_so(chat_library, llm_server):
    session = _session(chat_library, llm_server, max_continuations=1)
    llm_server.push(
        Reply(content="one", finish_reason="length"), Reply(content=" two", finish_reason="length")
    )
    events = list(session.ask("Talk."))
    assert events[-1].text == "one two"
    kinds = [e.data["kind"] for e in events if e.type == "notice"]
    assert kinds == ["continue", "cut"]
    assert "stopped at the output limit after 1 continuations" in _printed(session, events)


def test_audio_longer_than_the_cap_is_cut_into_segments(chat_library, llm_server):
    from linernotes.listen.backends.openai import OpenAIBackend

    assert audio_spans(0.0, 2700.0) == [(0.0, 900.0), (900.0, 1800.0), (1800.0, 2700.0)]
    assert audio_spans(60.0, 1200.0) == [(60.0, 1200.0)]
    # the same path with a model whose cap is 10 s, on the 34.4 s song
    backend = OpenAIBackend(llm_server.base_url, "tiny-cap", max_seconds=10.0, max_retries=0)
    session = _session(chat_library, llm_server, backend=backend)
    llm_server.audio_reply = lambda body: "Drums and chords."
    llm_server.push(
        Reply(tool_calls=[("ask_audio", {"track": "song.flac", "question": "What plays?"})]),
        Reply(content="Drums and chords throughout."),
    )
    events = list(session.ask("What instruments play?"))
    cut = [e for e in events if e.type == "notice"]
    assert len(cut) == 1 and cut[0].data["kind"] == "cut"
    assert "cut into 4 segments" in cut[0].text
    lengths = []
    for request in llm_server.audio_requests:
        data = request["messages"][-1]["content"][0]["input_audio"]["data"]
        with wave.open(io.BytesIO(base64.b64decode(data))) as w:
            lengths.append(w.getnframes() / w.getframerate())
    assert len(lengths) == 4 and max(lengths) <= 10.0 and abs(sum(lengths) - 34.4) < 0.1
    result = json.loads(next(e for e in events if e.type == "tool_result").data["result"])
    assert [s["start_s"] for s in result["segments"]] == [0.0, 8.6, 17.2, 25.8]
    assert "cut" in result  # the model is told too
    assert "[cut] audio 0:00.0-0:34.4 is longer than" in _printed(session, events)
