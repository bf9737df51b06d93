"""The review service's chat endpoint over HTTP (a real uvicorn server on loopback) against
the local server speaking OpenAI's protocol: the answer streams as Server-Sent Events with
the tool calls, a conversation keeps its history, a proposed edit changes nothing until it
is applied through the field endpoint (with its version), the library is read afresh for
each question, one answer at a time, and a client that goes away stops the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_server import Reply, ScriptedOpenAI, tool_results

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from service_fixtures import free_port, live_server  # noqa: E402

from linernotes.chat import ChatSettings, LibraryAccess  # noqa: E402
from linernotes.chat.web import TrackChats  # noqa: E402
from linernotes.service.security import ServeSettings  # noqa: E402

pytest_plugins = ["chat_fixtures"]


@pytest.fixture
def served(chat_library: Path, llm_server: ScriptedOpenAI) -> Iterator[httpx.Client]:
    settings = ChatSettings(llm_base_url=llm_server.base_url, llm_model="test-llm")
    chats = TrackChats(LibraryAccess(chat_library), settings)
    serve = ServeSettings(root=chat_library, port=free_port(), rescan_s=0.5)
    with live_server(serve, chat=chats) as url, httpx.Client(base_url=url, timeout=30) as c:
        yield c
    chats.close()


def ask(client: httpx.Client, question: str, conversation: str = "c1") -> list[dict]:
    """Every event of the answer, in order (each also checked against its ``event:`` line)."""
    body = {"track": "song.flac", "question": question, "conversation": conversation}
    events, kind = [], None
    with client.stream("POST", "/api/chat", json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                event = json.loads(line[6:])
                assert event["type"] == kind
                events.append(event)
    return events


def test_the_answer_streams_with_its_tool_calls_and_the_conversation_remembers(served, llm_server):
    def answer(body: dict) -> Reply:
        tempo = tool_results(body)["measurements"]["tempo"]
        return Reply(content=f"The measured tempo is {tempo['bpm']:.0f} BPM.")

    llm_server.push(Reply(tool_calls=[("measurements", {"track": "song.flac"})]), answer)
    events = ask(served, "What is the tempo?")
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["tool_call", "tool_result"] and kinds[-1] == "done"
    assert events[0]["data"]["name"] == "measurements" and events[1]["data"]["ok"]
    tokens = "".join(e["text"] for e in events if e["type"] == "token")
    assert tokens == events[-1]["text"] and tokens.startswith("The measured tempo is ")
    assert 95 <= float(tokens.split()[-2]) <= 125  # built from the tool's result
    assert "song.flac" in llm_server.requests[0]["messages"][0]["content"]  # the open track

    llm_server.push(Reply(content="Yes."))
    ask(served, "Are you sure?")
    history = [m.get("content") for m in llm_server.requests[-1]["messages"]]
    assert "What is the tempo?" in history and tokens in history
    llm_server.push(Reply(content="Hello."))
    ask(served, "Hi", conversation="c2")  # another conversation starts afresh
    fresh = [m.get("content") for m in llm_server.requests[-1]["messages"]]
    assert "What is the tempo?" not in fresh


def test_a_proposed_edit_waits_for_the_field_endpoint_and_the_next_question_sees_it(
    served, llm_server
):
    llm_server.push(
        Reply(tool_calls=[("propose_edit", {"track": "song.flac", "field": "key", "value": "Am"})]),
        Reply(content="I propose A minor; apply it if you agree."),
    )
    events = ask(served, "Fix the key?")
    result = next(e for e in events if e["type"] == "tool_result")
    proposal = json.loads(result["data"]["result"])
    assert proposal["field"] == "key" and proposal["value"] == "A minor"
    assert any(e["type"] == "notice" and e["data"]["kind"] == "edit" for e in events)
    track = served.get("/api/tracks/song.flac").json()
    key = track["fields"]["key"]
    assert key["provenance"] != "human"  # nothing changed yet
    stale = {"value": proposal["value"], "author": "ann", "expected_version": key["version"] + 1}
    conflict = served.put("/api/tracks/song.flac/fields/key", json=stale)
    assert conflict.status_code == 409 and conflict.json()["current"]["value"] == key["value"]
    body = {**stale, "expected_version": key["version"]}
    applied = served.put("/api/tracks/song.flac/fields/key", json=body).json()
    assert applied["fields"]["key"]["value"] == "A minor"
    assert applied["fields"]["key"]["provenance"] == "human"

    seen = {}

    def answer(body: dict) -> Reply:
        seen.update(tool_results(body)["measurements"])
        return Reply(content="Done.")

    llm_server.push(Reply(tool_calls=[("measurements", {"track": "song.flac"})]), answer)
    ask(served, "And now?")
    assert "key" in seen["human_edited"]  # the library was read again for this question


def test_one_answer_at_a_time_and_a_client_that_leaves_stops_the_answer(served, llm_server):
    llm_server.push(Reply(content="word " * 3000))  # about 3 s of streaming
    body = {"track": "song.flac", "question": "Tell me everything.", "conversation": "c1"}
    with served.stream("POST", "/api/chat", json=body) as response:
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))
        busy = served.post("/api/chat", json={**body, "question": "Another?"})
        assert busy.status_code == 409 and "under way" in busy.json()["detail"]
    # the stream is closed: the answer stops and the next question is taken
    llm_server.push(Reply(content="Short."))
    deadline = time.monotonic() + 10
    while True:
        response = served.post("/api/chat", json={**body, "question": "Short, then?"})
        if response.status_code != 409 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert response.status_code == 200 and '"Short."' in response.text
    sent = [m.get("content") or "" for m in llm_server.requests[-1]["messages"]]
    assert any("answer cancelled by the user" in m for m in sent)
    assert sum(m.count("word") for m in sent) < 3000  # stopped part-way


def test_errors_before_the_stream(served, chat_library):
    base = {"track": "song.flac", "question": "?", "conversation": "c1"}
    assert served.post("/api/chat", json={**base, "track": "nothing.flac"}).status_code == 404
    assert served.post("/api/chat", json={**base, "conversation": "../x"}).status_code == 422
    assert served.post("/api/chat", json={**base, "question": ""}).status_code == 422
    assert served.get("/health").json()["chat"] == "llm"
    with live_server(ServeSettings(root=chat_library, port=free_port())) as url:
        off = httpx.post(f"{url}/api/chat", json=base)
        assert off.status_code == 404 and "chat is off" in off.json()["detail"]
        assert httpx.get(f"{url}/health").json()["chat"] == ""
