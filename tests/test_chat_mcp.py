"""The chat's tools over MCP, through the ``mcp`` package's own client in this process."""

from __future__ import annotations

import json

import anyio
import pytest

from linernotes.chat import ChatTools, LibraryAccess
from linernotes.chat.mcp_server import build_server

pytest_plugins = ["chat_fixtures"]
mcp = pytest.importorskip("mcp")


def test_mcp_lists_the_tools_and_measures_a_track(chat_library):
    tools = ChatTools(LibraryAccess(chat_library))
    server = build_server(tools, author="mcp-user")

    async def session() -> dict:
        async with mcp.Client(server) as client:
            listed = await client.list_tools()
            measured = await client.call_tool("measurements", {"track": "song.flac"})
            ranged = await client.call_tool(
                "measurements", {"track": "song.flac", "start": 20, "end": 30}
            )
            missing = await client.call_tool("measurements", {"track": "nosuch.flac"})
            proposed = await client.call_tool(
                "propose_edit", {"track": "other.flac", "field": "key", "value": "Am"}
            )
            confirmed = await client.call_tool("confirm_edit", {"proposal": 1})
            again = await client.call_tool("confirm_edit", {"proposal": 1})
            return dict(listed=listed, measured=measured, ranged=ranged, missing=missing,
                        proposed=proposed, confirmed=confirmed, again=again)  # fmt: skip

    got = anyio.run(session)
    names = {t.name: t for t in got["listed"].tools}
    assert set(names) == {"measurements", "ask_audio", "compare", "search_library",
                          "propose_edit", "confirm_edit"}  # fmt: skip
    assert names["ask_audio"].input_schema["required"] == ["track", "question"]
    assert names["confirm_edit"].annotations.destructive_hint is True
    assert names["measurements"].annotations.read_only_hint is True
    measured = got["measured"]
    assert not measured.is_error
    data = json.loads(measured.content[0].text)
    assert data == measured.structured_content
    assert data["track"] == "song.flac" and data["key"]["key"] == "A minor"
    assert data["meter"]["time_signature"] == "4/4" and data["beat_grid"]["count"] > 40
    assert got["ranged"].structured_content["tempo_in_range"]["steady"] is True
    assert got["missing"].is_error and "no such track" in got["missing"].content[0].text
    assert got["proposed"].structured_content["status"].startswith("waiting")
    applied = got["confirmed"].structured_content["applied"]
    assert applied["author"] == "mcp-user" and applied["value"] == "A minor"
    assert got["again"].is_error
    assert tools.library.record("other.flac").final.value("key") == "A minor"


def test_linernotes_mcp_serves_over_stdio(chat_library):
    import sys

    params = mcp.StdioServerParameters(
        command=sys.executable, args=["-m", "linernotes.cli", "mcp", "--library", str(chat_library)]
    )

    async def session():
        async with mcp.Client(params) as client:
            return await client.call_tool(
                "measurements", {"track": "song.flac", "start": 10, "end": 20}
            )

    result = anyio.run(session)
    assert "not steady" in result.structured_content["tempo_in_range"]["verdict"]
