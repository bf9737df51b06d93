"""The chat's tools over the Model Context Protocol (``linernotes mcp``), so assistants that
speak MCP (desktop chat apps, IDE agents) can measure, listen to, compare, search and correct
tracks of a library.

The same :class:`~linernotes.chat.tools.ChatTools` serve both: the tool list, the JSON schemas
and the answers are identical. MCP hosts ask the person before each tool call, so here the
confirmation of an edit is a tool of its own, ``confirm_edit``, marked destructive: the
host's approval of that call is the person's yes. Needs the ``mcp`` package
(``pip install 'linernotes[chat]'``); calls run one at a time in a worker thread.
"""

from __future__ import annotations

from typing import Any

from linernotes.chat.tools import TOOL_SPECS, ChatTools, ToolOutcome

CONFIRM_SPEC: dict[str, Any] = {
    "name": "confirm_edit",
    "description": "Apply an edit made by propose_edit to the track's human layer. Call it"
    " only after the user has said yes to that proposal.",
    "parameters": {
        "type": "object",
        "properties": {"proposal": {"type": "integer", "minimum": 1}},
        "required": ["proposal"],
    },
}
INSTRUCTIONS = (
    "Tools over a linernotes music library. measurements is the source of truth for tempo,"
    " key, meter and duration; ask_audio asks an audio-language model what a span sounds"
    " like. Edits are proposed with propose_edit and applied by confirm_edit once the user"
    " agrees."
)


def call_tool(
    tools: ChatTools, name: str, arguments: dict[str, Any], *, author: str
) -> ToolOutcome:
    """Run one MCP tool call (the chat tools, plus ``confirm_edit``)."""
    if name != CONFIRM_SPEC["name"]:
        return tools.call(name, arguments)
    try:
        number = int(arguments["proposal"])
        edit = tools.confirm(number, author=author)
    except KeyError:
        pending = ", ".join(f"#{n}" for n in tools.pending) or "none"
        return ToolOutcome(name, {"error": f"no such proposal (pending: {pending})"}, ok=False)
    except (TypeError, ValueError, LookupError, OSError) as exc:
        return ToolOutcome(name, {"error": str(exc)}, ok=False)
    return ToolOutcome(name, {"applied": edit})


def build_server(tools: ChatTools, *, author: str) -> Any:
    """An MCP server (``mcp.server.Server``) serving the tools of ``tools``."""
    import anyio
    import mcp.types as types
    from mcp.server import Server

    specs = [*TOOL_SPECS, CONFIRM_SPEC]
    lock = anyio.Lock()

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        listed = []
        for spec in specs:
            destructive = spec["name"] in ("confirm_edit",)
            listed.append(
                types.Tool(
                    name=spec["name"],
                    description=spec["description"],
                    input_schema=spec["parameters"],
                    annotations=types.ToolAnnotations(
                        read_only_hint=spec["name"] not in ("propose_edit", "confirm_edit"),
                        destructive_hint=destructive,
                    ),
                )
            )
        return types.ListToolsResult(tools=listed)

    async def call(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        async with lock:
            outcome = await anyio.to_thread.run_sync(
                lambda: call_tool(tools, params.name, dict(params.arguments or {}), author=author)
            )
        return types.CallToolResult(
            content=[types.TextContent(text=outcome.text)],
            structured_content=outcome.result,
            is_error=not outcome.ok,
        )

    return Server(
        "linernotes", instructions=INSTRUCTIONS, on_list_tools=list_tools, on_call_tool=call
    )


def serve_stdio(tools: ChatTools, *, author: str) -> None:
    """Serve the tools on stdin/stdout until the client disconnects."""
    import anyio
    from mcp.server.stdio import stdio_server

    server = build_server(tools, author=author)

    async def main() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(main)
