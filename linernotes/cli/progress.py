"""Progress of a long command on stderr: the current track, tracks done, rate and ETA.

One line redrawn in place, and only on a terminal: when stderr is a file or a pipe (a log, a
CI job) nothing is drawn, so logs hold the summaries and the failures, not a progress bar.
Names and notes are escaped here (:func:`~linernotes.fileio.printable`), where they are written:
a file name cannot break the line or forge another message, whichever command shows it.

Examples
--------
>>> import io
>>> class Terminal(io.StringIO):
...     def isatty(self):
...         return True
>>> out = Terminal()
>>> bar = Progress(2, stream=out, clock=iter([0.0, 1.0, 2.0, 4.0]).__next__)
>>> bar.start("one.flac")
>>> out.getvalue().split("\\r\\033[K")[-1]
'[0/2]   0% one.flac | elapsed 0:01 | ETA ?'
>>> bar.advance(audio_s=60.0)
>>> out.getvalue().split("\\r\\033[K")[-1]
'[1/2]  50% one.flac | 0.50 tracks/s | 30x real time | elapsed 0:02 | ETA 0:02'
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from linernotes.fileio import printable


def format_duration(seconds: float) -> str:
    """``75.4`` -> ``'1:15'``; hours shown when needed."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """A one-line progress display of ``total`` items (see the module docstring)."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        unit: str = "tracks",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled and total > 0 and self.tty
        self.unit = unit
        self.clock = clock
        self.start_time = clock()
        self.count = 0
        self.audio_s = 0.0
        self.current = ""

    def line(self) -> str:
        elapsed = max(self.clock() - self.start_time, 1e-9)
        pct = 100.0 * self.count / self.total if self.total else 100.0
        head = f"[{self.count}/{self.total}] {pct:3.0f}%"
        parts = [f"{head} {self.current}" if self.current else head]
        rate = self.count / elapsed
        if self.count:
            parts.append(f"{rate:.2f} {self.unit}/s")
        if self.audio_s:
            parts.append(f"{self.audio_s / elapsed:.0f}x real time")
        eta = format_duration((self.total - self.count) / rate) if rate > 0 else "?"
        parts += [f"elapsed {format_duration(elapsed)}", f"ETA {eta}"]
        return " | ".join(parts)

    def _draw(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()

    def start(self, name: str) -> None:
        """``name`` is being worked on now."""
        self.current = printable(name)
        self._draw()

    def advance(self, name: str | None = None, audio_s: float = 0.0) -> None:
        """One more item done (``name``, when the display should show it)."""
        self.count += 1
        self.audio_s += audio_s
        if name is not None:
            self.current = printable(name)
        self._draw()

    def note(self, message: str) -> None:
        """Print a line on the stream without breaking the progress line."""
        prefix = "\r\033[K" if self.enabled else ""
        self.stream.write(f"{prefix}{printable(message)}\n")
        self._draw()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
