"""The terminal chat: a prompt with history, answers streamed as they are written, Ctrl-C to
stop an answer (the session goes on), and ``/commands``.

Input history is kept per library (``chat_history`` beside the library database)
through :mod:`readline` where Python has it. When stdin is not a terminal (a pipe, a test),
the questions are echoed after the prompt, so the output reads as a transcript.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from linernotes.chat.events import ChatEvent
from linernotes.chat.session import ChatSession

HELP = """\
/help                 this list
/tracks               the tracks this chat is about (and the mode: llm, audio, measurements)
/track NAME           add a track to the chat
/pending              proposed edits waiting for you
/confirm [N|all]      apply proposed edit N (default: all) to the human layer
/reject [N|all]       drop proposed edit N (default: all)
/history [TRACK]      the human edits of a track
/quit                 leave (Ctrl-D too); Ctrl-C stops the current answer"""
PROMPT = "you> "
ANSWER = "linernotes> "


def _short(arguments: object, limit: int = 100) -> str:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return arguments[:limit]
    if isinstance(arguments, dict):
        text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
    else:
        text = str(arguments)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TerminalChat:
    """Reads questions, prints streamed answers and handles commands."""

    def __init__(
        self,
        session: ChatSession,
        *,
        author: str,
        out: TextIO | None = None,
        read: Callable[[str], str] = input,
        echo: bool | None = None,
        history_file: Path | None = None,
    ) -> None:
        self.session = session
        self.author = author
        self.out = out or sys.stdout
        self.read = read
        self.echo = (not sys.stdin.isatty()) if echo is None else echo
        self.history_file = history_file
        self._in_text = False

    def say(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    # -- readline history ---------------------------------------------------------------
    @contextlib.contextmanager
    def _history(self) -> Iterator[None]:
        try:
            import readline
        except ImportError:  # pragma: no cover - Windows without pyreadline
            yield
            return
        if self.history_file is not None and self.history_file.is_file():
            with contextlib.suppress(OSError):
                readline.read_history_file(str(self.history_file))
        readline.set_history_length(1000)
        try:
            yield
        finally:
            if self.history_file is not None:
                with contextlib.suppress(OSError):
                    self.history_file.parent.mkdir(parents=True, exist_ok=True)
                    readline.write_history_file(str(self.history_file))

    # -- the loop -----------------------------------------------------------------------
    def run(self) -> int:
        """Chat until /quit or end of input; returns the exit code (0)."""
        focus = ", ".join(self.session.focus) or "no track yet (/track NAME)"
        self.say(f"linernotes chat ({self.session.mode} mode) about {focus}. /help for commands.")
        with self._history():
            while True:
                try:
                    line = self.read(PROMPT)
                except EOFError:
                    if not self.echo:
                        self.say()
                    return 0
                except KeyboardInterrupt:
                    self.say("\n(Ctrl-D or /quit to leave)")
                    continue
                line = line.strip()
                if not line:
                    continue
                if self.echo:
                    self.say(PROMPT + line)
                if line.startswith("/"):
                    if self.command(line) == "quit":
                        return 0
                    continue
                self.answer(line)

    def answer(self, question: str) -> None:
        """Stream one answer; Ctrl-C stops it and the chat goes on."""
        events = self.session.ask(question)
        self._in_text = False
        try:
            for event in events:
                self.show(event)
        except KeyboardInterrupt:
            events.close()
            self._end_text()
            self.say("  [cancelled: the answer was stopped; ask again or go on]")
            return
        self._end_text()

    def _end_text(self) -> None:
        """Finish a run of answer text with a newline."""
        if self._in_text:
            self.say()
            self._in_text = False

    def show(self, event: ChatEvent) -> None:
        """Print one event: answer text after ``linernotes>``, everything else on lines of
        its own."""
        if event.type == "token":
            if not self._in_text:
                self.say(ANSWER, end="")
                self._in_text = True
            self.say(event.text, end="")
            return
        if event.type == "done":
            return
        self._end_text()
        if event.type == "tool_call":
            self.say(f"  -> {event.data['name']}({_short(event.data['arguments'])})")
        elif event.type == "tool_result":
            summary = event.data.get("summary") or _short(event.data["result"])
            self.say(f"  <- {event.data['name']}: {summary}")
        elif event.type == "notice":
            self.say(f"  [{event.data.get('kind', 'notice')}] {event.text}")
        elif event.type == "error":
            self.say(f"  [error] {event.text}")

    # -- commands -----------------------------------------------------------------------
    def command(self, line: str) -> str | None:
        name, _, rest = line[1:].partition(" ")
        rest = rest.strip()
        tools = self.session.tools
        if name in ("quit", "exit", "q"):
            return "quit"
        if name == "help":
            self.say(HELP)
        elif name == "tracks":
            self.say(f"mode: {self.session.mode}")
            for track in self.session.focus:
                self.say(f"  {track}")
        elif name == "track":
            try:
                self.say(f"added {self.session.add_track(rest)}")
            except LookupError as exc:
                self.say(f"  [error] {exc}")
        elif name == "pending":
            if not tools.pending:
                self.say("no proposed edits")
            for number, p in tools.pending.items():
                value = json.dumps(p.value, ensure_ascii=False)
                self.say(f"  #{number} {p.track}: {p.field} = {value}")
        elif name in ("confirm", "reject"):
            self._decide(name, rest)
        elif name == "history":
            self._history_of(rest or (self.session.focus[0] if self.session.focus else ""))
        else:
            self.say(f"unknown command /{name}; /help lists them")
        return None

    def _decide(self, verb: str, which: str) -> None:
        tools = self.session.tools
        if not which or which == "all":
            numbers = list(tools.pending)
        elif which.lstrip("#").isdigit():
            numbers = [int(which.lstrip("#"))]
        else:
            self.say(f"/{verb} takes a proposal number or 'all'")
            return
        if not numbers:
            self.say("no proposed edits")
        for number in numbers:
            if number not in tools.pending:
                self.say(f"  [error] no proposed edit #{number}")
                continue
            if verb == "reject":
                proposal = tools.reject(number)
                self.say(f"rejected #{number}: {proposal.track}: {proposal.field} unchanged")
                continue
            try:
                edit = tools.confirm(number, author=self.author)
            except (LookupError, ValueError, OSError) as exc:
                self.say(f"  [error] #{number} not applied: {exc}")
                continue
            value = json.dumps(edit["value"], ensure_ascii=False)
            self.say(
                f"applied #{number}: {edit['field']} = {value} (human edit by {edit['author']})"
            )

    def _history_of(self, track: str) -> None:
        if not track:
            self.say("/history TRACK")
            return
        try:
            edits = self.session.tools.library.history(track)
        except LookupError as exc:
            self.say(f"  [error] {exc}")
            return
        if not edits:
            self.say("no human edits")
        for edit in edits:
            value = json.dumps(edit["value"], ensure_ascii=False)
            undone = " UNDONE" if edit["undone"] else ""
            self.say(
                f"  #{edit['id']} {edit['at']} {edit['author']}: {edit['field']} = {value}{undone}"
            )
