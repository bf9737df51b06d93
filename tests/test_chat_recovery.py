"""Failures end one answer, never the session: a failing tool is an error the model reads, a
server that drops the stream or refuses gives a clear error, Ctrl-C stops one answer."""

from __future__ import annotations

import io
import json

from chat_server import Reply

from linernotes.chat import ChatSession, ChatTools, LibraryAccess
from linernotes.chat.client import ChatClient
from linernotes.chat.repl import TerminalChat

pytest_plugins = ["chat_fixtures"]


def _session(root, base_url: str, retries: int = 0) -> ChatSession:
    client = ChatClient(base_url, "test-llm", max_retries=retries, sleep=lambda s: None)
    return ChatSession(ChatTools(LibraryAccess(root)), client=client, focus=["song.flac"])


def test_failing_tools_come_back_as_errors_and_the_loop_goes_on(chat_library, llm_server):
    session = _session(chat_library, llm_server.base_url)
    llm_server.push(
        Reply(
            tool_calls=[
                ("measurements", {"track": "nosuch.flac"}),
                ("ask_audio", {"track": "song.flac", "question": "Which instruments?"}),
                ("measurements", '{"track": "song.flac", '),  # cut-off JSON
                ("play_music", {"track": "song.flac"}),
            ]
        ),
        Reply(tool_calls=[("measurements", {"track": "song.flac"})]),
        Reply(content="It is in A minor."),
    )
    events = list(session.ask("What key is it in?"))
    results = [e.data for e in events if e.type == "tool_result"]
    assert [r["ok"] for r in results] == [False, False, False, False, True]
    errors = [json.loads(r["result"])["error"] for r in results[:4]]
    assert "'nosuch.flac': no such track" in errors[0]
    assert "no audio model configured" in errors[1]
    assert "arguments are not valid JSON" in errors[2]
    assert "unknown tool 'play_music'" in errors[3]
    sent = llm_server.requests[1]["messages"]
    assert [m["role"] for m in sent[-4:]] == ["tool"] * 4
    assert events[-1].type == "done" and events[-1].text == "It is in A minor."


def test_a_dropped_stream_is_a_clear_error_and_the_session_goes_on(chat_library, llm_server):
    session = _session(chat_library, llm_server.base_url)
    llm_server.push(Reply(content="The tempo changes at about 0:15 from", drop_after=4))
    events = list(session.ask("Does the tempo change?"))
    assert [e.type for e in events] == ["token"] * 3 + ["error"]
    assert "broke off the answer after" in events[-1].text
    # mid tool call too
    llm_server.push(Reply(tool_calls=[("measurements", {"track": "song.flac"})], drop_after=4))
    events = list(session.ask("And the key?"))
    assert events[-1].type == "error" and "broke off" in events[-1].text
    llm_server.push(Reply(content="A minor."))
    events = list(session.ask("The key, please."))
    assert events[-1].type == "done" and events[-1].text == "A minor."
    sent = llm_server.requests[-1]["messages"]
    assert [m["role"] for m in sent] == ["system"] + ["user", "assistant"] * 2 + ["user"]
    assert sent[2]["content"].startswith("The tempo changes (no answer: chat server")


def test_server_errors_are_retried_then_reported(chat_library, llm_server):
    session = _session(chat_library, llm_server.base_url, retries=1)
    llm_server.push(Reply(status=503), Reply(content="Recovered."))
    assert list(session.ask("Hello?"))[-1].text == "Recovered."
    llm_server.push(Reply(status=503), Reply(status=503))
    events = list(session.ask("Hello again?"))
    assert events[-1].type == "error"
    assert "failed after 2 tries: HTTP 503: scripted failure" in events[-1].text
    llm_server.push(Reply(status=400))
    events = list(session.ask("And now?"))
    assert events[-1].text.endswith("HTTP 400: scripted failure")  # not retried
    assert len(llm_server.requests) == 5
    unreachable = _session(chat_library, "http://127.0.0.1:9/v1")
    events = list(unreachable.ask("Anyone?"))
    assert events[-1].type == "error" and "connection failed" in events[-1].text


def test_ctrl_c_stops_the_answer_not_the_chat(chat_library, llm_server):
    class Keyboard(io.StringIO):
        """A terminal whose user presses Ctrl-C as the word "at" arrives."""

        def write(self, text: str) -> int:
            if text == "at ":
                raise KeyboardInterrupt
            return super().write(text)

    session = _session(chat_library, llm_server.base_url)
    llm_server.push(
        Reply(content="It runs at about 100 BPM and then speeds up to 120 BPM."),
        Reply(content="Sure."),
    )
    questions = iter(["How fast is it?", "Thanks, go on."])

    def read(prompt: str) -> str:
        try:
            return next(questions)
        except StopIteration:
            raise EOFError from None

    out = Keyboard()
    assert TerminalChat(session, author="t", out=out, read=read, echo=True).run() == 0
    text = out.getvalue()
    assert "linernotes> It runs \n  [cancelled: the answer was stopped" in text
    assert "100 BPM" not in text
    assert text.rstrip().endswith("linernotes> Sure.")
    assert session.history[1]["content"] == "It runs (answer cancelled by the user)"


def test_tool_rounds_are_capped_and_the_model_must_answer(chat_library, llm_server):
    from linernotes.chat import ChatSettings

    session = _session(chat_library, llm_server.base_url)
    session.settings = ChatSettings(max_tool_rounds=1)
    call = ("measurements", {"track": "song.flac"})
    llm_server.push(Reply(tool_calls=[call]), Reply(content="About 120 BPM.", tool_calls=[call]))
    events = list(session.ask("How fast?"))
    notices = [e.text for e in events if e.type == "notice"]
    assert notices[0] == "1 rounds of tool calls: asking for an answer from what the tools returned"
    assert "those calls were not run" in notices[1]
    assert "tools" not in llm_server.requests[1]
    assert [e.type for e in events].count("tool_call") == 1
    assert events[-1].type == "done" and events[-1].text == "About 120 BPM."
