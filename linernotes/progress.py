"""Batch progress on stderr: tracks done, rate, real-time factor and ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    """``75.4`` -> ``'1:15'``; hours shown when needed."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """A one-line progress display, redrawn in place on a terminal and printed at most every
    ``interval_s`` seconds otherwise (so logs stay readable)."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        interval_s: float = 5.0,
    ) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.interval_s = interval_s
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.count = 0
        self.audio_s = 0.0
        self._last_print = 0.0

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.count / elapsed
        remaining = (self.total - self.count) / rate if rate > 0 else float("nan")
        eta = format_duration(remaining) if remaining == remaining else "?"
        pct = 100.0 * self.count / self.total if self.total else 100.0
        rt = f" | {self.audio_s / elapsed:.0f}x real time" if self.audio_s else ""
        return (
            f"[{self.count}/{self.total}] {pct:3.0f}% | {rate:.2f} tracks/s{rt}"
            f" | elapsed {format_duration(elapsed)} | ETA {eta}"
        )

    def advance(self, audio_s: float = 0.0) -> None:
        self.count += 1
        self.audio_s += audio_s
        self.show(self.line(), force=self.count == self.total)

    def show(self, text: str, *, force: bool = False) -> None:
        """Draw ``text`` as the progress line: in place on a terminal, else as a new line at
        most every ``interval_s`` seconds (or now, with ``force``)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
        elif force or now - self._last_print >= self.interval_s:
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_print = now

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()
