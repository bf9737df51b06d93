"""A conversation about tracks: a text model orchestrates the tools, or, without one, the
audio model answers directly, or, without any model, the measurements do.

:meth:`ChatSession.ask` is the one entry point for every front end (the terminal, a web
service's streaming endpoint, a test): it yields :class:`~linernotes.chat.events.ChatEvent`
objects as the answer is made. In ``llm`` mode it runs the tool loop: send the history (cut
to the input budget), stream the reply, run the tool calls it asks for and send their
results back, until the model answers in text; an answer stopped by the output limit
(``finish_reason: "length"``) is continued and joined. Every cut is announced as a ``notice``.

A failure (the server unreachable or dropping the stream) ends that answer with an ``error``
event and leaves the session usable; so does a consumer that stops iterating (the user
pressed Ctrl-C): the question stays in the history with a note that it was not answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from linernotes.chat import facts
from linernotes.chat.answers import answer_from_measurements, parse_range
from linernotes.chat.budget import estimate_tokens, fit_history
from linernotes.chat.client import ChatClient, ChatServerError, Completion
from linernotes.chat.events import ChatEvent, notice
from linernotes.chat.settings import ChatSettings
from linernotes.chat.tools import ChatTools, openai_tools

Mode = Literal["llm", "audio", "measurements"]
CONTINUE_PROMPT = "Continue exactly where you stopped. Do not repeat anything."

SYSTEM_PROMPT = """\
You are linernotes' listening assistant. You answer questions about music tracks of the \
user's library, using tools:
- measurements: signal analysis, the source of truth for tempo, beats, key, meter, duration \
and loudness (give start and end to check the tempo of a time range);
- ask_audio: an audio-language model that hears the track (sections, instruments, vocals, \
lyrics, mood); it is unreliable for exact tempo and key;
- compare, search_library: across tracks;
- propose_edit: suggest a correction; it is applied only after the user confirms.
Call tools before answering; never invent numbers. Give times as m:ss. Say which facts are \
measured and which the audio model heard. Be concise."""


class ChatSession:
    """One conversation.

    Parameters
    ----------
    tools
        The tools, bound to a library.
    client
        The text model's client; ``None`` for the fallbacks.
    settings
        Budgets (and defaults) of the chat.
    focus
        Tracks the user opened the chat with; named in the system prompt, and the ones the
        fallbacks answer about.
    """

    def __init__(
        self,
        tools: ChatTools,
        *,
        client: ChatClient | None = None,
        settings: ChatSettings | None = None,
        focus: list[str] | None = None,
    ) -> None:
        self.tools = tools
        self.client = client
        self.settings = settings or ChatSettings()
        self.focus = list(focus or [])
        self.history: list[dict[str, Any]] = []

    @property
    def mode(self) -> Mode:
        if self.client is not None:
            return "llm"
        return "audio" if self.tools.library.has_audio_model else "measurements"

    def system_prompt(self) -> str:
        text = SYSTEM_PROMPT
        if self.focus:
            text += "\nTracks the user opened: " + ", ".join(self.focus) + "."
        return text

    def add_track(self, track: str) -> str:
        """Add a track to the focus (by any name the library resolves); returns its id."""
        found = self.tools.library.record(track)
        if found.id not in self.focus:
            self.focus.append(found.id)
        return found.id

    # -- the one entry point ----------------------------------------------------------------
    def ask(self, question: str) -> Iterator[ChatEvent]:
        """Answer ``question``, as events (see :mod:`linernotes.chat.events`)."""
        if self.mode == "llm":
            yield from self._ask_llm(question)
        elif self.mode == "audio":
            yield from self._ask_audio_model(question)
        else:
            yield from self._ask_measurements(question)

    # -- llm mode ---------------------------------------------------------------------------
    def _ask_llm(self, question: str) -> Iterator[ChatEvent]:
        assert self.client is not None
        settings = self.settings
        start = len(self.history)
        self.history.append({"role": "user", "content": question})
        tools = openai_tools()
        tool_tokens = estimate_tokens(tools)
        rounds = continuations = 0
        parts: list[str] = []  # the answer's text, continuation by continuation
        current: list[str] = []  # what the request under way has streamed so far
        finished = False
        try:
            while True:
                offer = tools if rounds < settings.max_tool_rounds else None
                messages, report = fit_history(
                    self.system_prompt(),
                    self.history,
                    settings.max_input_tokens,
                    fixed_tokens=tool_tokens if offer else 0,
                )
                if report.cut:
                    yield notice(
                        "trim",
                        report.describe(settings.max_input_tokens),
                        dropped_turns=report.dropped_turns,
                        shortened_results=report.shortened_results,
                    )
                completion, current = None, []
                for item in self.client.complete(
                    messages, tools=offer, max_tokens=settings.max_output_tokens
                ):
                    if isinstance(item, Completion):
                        completion = item
                    else:
                        yield ChatEvent("token", text=item)
                        current.append(item)  # after the yield: what the consumer took
                assert completion is not None
                current = []
                if completion.tool_calls and offer is None:
                    yield notice(
                        "cut",
                        "the model asked for more tools past its limit of"
                        f" {settings.max_tool_rounds} rounds; those calls were not run",
                    )
                elif completion.tool_calls:
                    rounds += 1
                    yield from self._run_tools(completion)
                    if rounds == settings.max_tool_rounds:
                        yield notice(
                            "cut",
                            f"{rounds} rounds of tool calls: asking for an"
                            " answer from what the tools returned",
                        )
                    continue
                parts.append(completion.text)
                if completion.finish_reason == "length":
                    if continuations < settings.max_continuations:
                        continuations += 1
                        yield notice(
                            "continue",
                            f"the answer reached the {settings.max_output_tokens:,}-token"
                            f" output limit; asking the model to continue"
                            f" ({continuations}/{settings.max_continuations})",
                        )
                        self.history.append({"role": "assistant", "content": completion.text})
                        self.history.append({"role": "user", "content": CONTINUE_PROMPT})
                        continue
                    yield notice(
                        "cut",
                        f"the answer was stopped at the output limit after"
                        f" {continuations} continuations",
                    )
                break
            answer = "".join(parts)
            self._close_turn(start, question, answer, keep_tools=True)
            finished = True
            yield ChatEvent(
                "done",
                text=answer,
                data={"mode": "llm", "tool_rounds": rounds, "continuations": continuations},
            )
        except ChatServerError as exc:
            partial = "".join(parts + current).strip()
            self._close_turn(start, question, f"{partial} (no answer: {exc})".strip())
            finished = True
            yield ChatEvent("error", text=str(exc))
        finally:
            if not finished:  # the consumer stopped: Ctrl-C, a closed connection
                partial = "".join(parts + current).strip()
                note = f"{partial} (answer cancelled by the user)".strip()
                self._close_turn(start, question, note)

    def _run_tools(self, completion: Completion) -> Iterator[ChatEvent]:
        self.history.append(
            {
                "role": "assistant",
                "content": completion.text or None,
                "tool_calls": [c.as_message() for c in completion.tool_calls],
            }
        )
        for call in completion.tool_calls:
            yield ChatEvent(
                "tool_call", data={"id": call.id, "name": call.name, "arguments": call.arguments}
            )
            outcome = self.tools.call(call.name, call.arguments)
            for text in outcome.notices:
                kind = "edit" if call.name == "propose_edit" else "cut"
                yield notice(kind, text, tool=call.name)
            self.history.append({"role": "tool", "tool_call_id": call.id, "content": outcome.text})
            yield ChatEvent(
                "tool_result",
                data={
                    "id": call.id,
                    "name": call.name,
                    "ok": outcome.ok,
                    "result": outcome.text,
                    "summary": outcome.summary(),
                },
            )

    def _close_turn(
        self, start: int, question: str, answer: str, *, keep_tools: bool = False
    ) -> None:
        """End the turn in the history: the question, the tool exchanges (when the answer
        is complete) and one assistant message (continuations joined)."""
        turn = self.history[start:]
        kept = [{"role": "user", "content": question}]
        if keep_tools:
            kept += [m for m in turn[1:] if m.get("tool_calls") or m.get("role") == "tool"]
        kept.append({"role": "assistant", "content": answer.strip()})
        self.history[start:] = kept

    # -- fallbacks ---------------------------------------------------------------------------
    def _track_for(self, question: str) -> str | None:
        """The track a fallback answers about: one named in the question, else the first
        opened one."""
        lowered = question.lower()
        for track in self.focus:
            name = track.rsplit("/", 1)[-1].lower()
            if name in lowered or name.rsplit(".", 1)[0] in lowered:
                return track
        return self.focus[0] if self.focus else None

    def _remember(self, question: str, answer: str) -> None:
        self.history += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]

    def _ask_audio_model(self, question: str) -> Iterator[ChatEvent]:
        track = self._track_for(question)
        if track is None:
            yield ChatEvent(
                "error", text="open a track first (linernotes chat TRACK, or /track NAME)"
            )
            return
        yield notice(
            "fallback",
            "no text model configured: the question goes straight to the"
            " audio model, with the measured features in its prompt",
        )
        args: dict[str, Any] = {"track": track, "question": question}
        span = parse_range(question, self.tools.library.duration_s(track))
        if span is not None:
            args.update(start=span[0], end=span[1])
        yield ChatEvent("tool_call", data={"id": "direct", "name": "ask_audio", "arguments": args})
        outcome = self.tools.call("ask_audio", args)
        for text in outcome.notices:
            yield notice("cut", text, tool="ask_audio")
        yield ChatEvent(
            "tool_result",
            data={
                "id": "direct",
                "name": "ask_audio",
                "ok": outcome.ok,
                "result": outcome.text,
                "summary": outcome.summary(),
            },
        )
        if not outcome.ok:
            yield notice(
                "fallback",
                f"the audio model failed ({outcome.result['error']}):"
                " answering from the measurements alone",
            )
            yield from self._ask_measurements(question, announce=False)
            return
        result = outcome.result
        if "segments" in result:
            answer = "\n\n".join(
                f"[{facts.clock(s['start_s'])}-{facts.clock(s['end_s'])}] {s['answer']}"
                for s in result["segments"]
            )
        else:
            answer = result["answer"]
        yield ChatEvent("token", text=answer)
        self._remember(question, answer)
        yield ChatEvent("done", text=answer, data={"mode": "audio"})

    def _ask_measurements(self, question: str, *, announce: bool = True) -> Iterator[ChatEvent]:
        track = self._track_for(question)
        if track is None:
            yield ChatEvent(
                "error", text="open a track first (linernotes chat TRACK, or /track NAME)"
            )
            return
        if announce:
            yield notice("fallback", "no model configured: answering from the measurements alone")
        try:
            answer = answer_from_measurements(question, self.tools.library.record(track))
        except LookupError as exc:
            yield ChatEvent("error", text=str(exc))
            return
        yield ChatEvent("token", text=answer)
        self._remember(question, answer)
        yield ChatEvent("done", text=answer, data={"mode": "measurements"})
