"""An edit the model proposes reaches the human layer only after the person confirms it."""

from __future__ import annotations

import io
import re

from chat_server import Reply, tool_results

from linernotes.chat import ChatSession, ChatTools, LibraryAccess
from linernotes.chat.client import ChatClient
from linernotes.chat.repl import TerminalChat
from linernotes.cli import main

pytest_plugins = ["chat_fixtures"]


def _chat(root, server, lines):
    client = ChatClient(server.base_url, "test-llm", max_retries=0)
    session = ChatSession(ChatTools(LibraryAccess(root)), client=client, focus=["song.flac"])
    out = io.StringIO()
    feed = iter(lines)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return TerminalChat(session, author="alice", out=out, read=read, echo=True), out


def _history(track, capsys) -> str:
    capsys.readouterr()
    assert main(["history", str(track)]) == 0
    return capsys.readouterr().out


def test_an_edit_waits_for_confirmation_then_lands_with_its_author(
    chat_library, llm_server, capsys
):
    track = chat_library / "song.flac"
    llm_server.push(
        Reply(
            tool_calls=[("propose_edit", {"track": "song.flac", "field": "tempo", "value": 100})]
        ),
        lambda body: Reply(
            content=f"I proposed bpm = {tool_results(body)['propose_edit']['value']:g}"
            " (edit #1); it changes nothing until you confirm it."
        ),
    )
    chat, out = _chat(chat_library, llm_server, ["Set the tempo to 100 BPM."])
    assert chat.run() == 0
    text = out.getvalue()
    now = re.search(r"\[edit\] proposed edit #1: song\.flac: bpm = 100\.0 \(now ([0-9.]+)\)", text)
    assert now and abs(float(now.group(1)) - 120.0) < 1.2  # the measured tempo of a 120 BPM song
    assert "it changes nothing until you confirm it" in text
    assert "no human edits" in _history(track, capsys)
    assert chat.session.tools.pending  # parked, not written

    assert chat.command("/pending") is None
    assert chat.command("/confirm 1") is None
    text = out.getvalue()
    assert "#1 song.flac: bpm = 100.0" in text
    assert "applied #1: bpm = 100.0 (human edit by alice)" in text
    history = _history(track, capsys)
    assert "alice: bpm = 100.0" in history
    record = chat.session.tools.library.record("song.flac")
    assert record.final.value("bpm") == 100.0
    assert record.final.fields["bpm"].provenance == "human"
    assert not chat.session.tools.pending
    chat.command("/history")
    assert "alice: bpm = 100.0" in out.getvalue().splitlines()[-1]


def test_a_rejected_or_invalid_edit_writes_nothing(chat_library, llm_server, capsys):
    llm_server.push(
        Reply(
            tool_calls=[
                ("propose_edit", {"track": "song.flac", "field": "bpm", "value": "fast"}),
                ("propose_edit", {"track": "song.flac", "field": "key", "value": "Em"}),
            ]
        ),
        lambda body: Reply(content="The tempo value was refused; I proposed key = E minor."),
    )
    chat, out = _chat(chat_library, llm_server, ["Fix the key and make it fast.", "/reject 1"])
    assert chat.run() == 0
    text = out.getvalue()
    assert "<- propose_edit: error: bpm 'fast' is not a number" in text
    assert 'proposed edit #1: song.flac: key = "E minor"' in text
    assert "rejected #1: song.flac: key unchanged" in text
    # the model saw the refusal as a tool error and went on
    sent = llm_server.requests[1]["messages"]
    assert any(m["role"] == "tool" and "not a number" in m["content"] for m in sent)
    assert "no human edits" in _history(chat_library / "song.flac", capsys)
    assert chat.command("/confirm 1") is None
    assert "no proposed edit #1" in out.getvalue()
