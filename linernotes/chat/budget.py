"""The budgets of a chat with an audio-language model: 20 minutes of audio per request,
24,000 input tokens, 2,048 output tokens (Music Flamingo's limits, kept for any model).

- :func:`audio_spans` cuts a time range longer than the audio cap into equal segments;
- :func:`estimate_tokens` counts tokens conservatively (no tokenizer needed: one token per
  three bytes of the JSON sent, never fewer, plus a per-message overhead; real tokenizers
  average about four bytes per token on English and JSON, so the estimate errs high);
- :func:`fit_history` keeps the system prompt and the latest turns, summarises the turns it
  drops into the system prompt, and shortens tool results of the latest turn if that alone is
  too long, saying what it did so the transcript can show it.

Examples
--------
>>> audio_spans(0.0, 2700.0, 1200.0)
[(0.0, 900.0), (900.0, 1800.0), (1800.0, 2700.0)]
>>> estimate_tokens({"role": "user", "content": "How fast is it?"}) >= 4
True
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

#: Music Flamingo 2601's limits (the issue's budgets): audio per request, input, output.
MAX_AUDIO_S = 1200.0
MAX_INPUT_TOKENS = 24_000
MAX_OUTPUT_TOKENS = 2_048
#: Tokens of framing every message costs in a chat template (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 8
#: Longest quotation of a dropped question kept in the summary of trimmed turns.
_SUMMARY_QUOTE_CHARS = 160
_CUT_MARK = " ...[cut to fit the input budget]"


def audio_spans(
    start_s: float, end_s: float, cap_s: float = MAX_AUDIO_S
) -> list[tuple[float, float]]:
    """``start_s``..``end_s`` as equal consecutive spans no longer than ``cap_s``."""
    length = end_s - start_s
    if length <= cap_s + 1e-6:
        return [(start_s, end_s)]
    n = math.ceil(length / cap_s - 1e-9)
    step = length / n
    return [(round(start_s + i * step, 3), round(start_s + (i + 1) * step, 3)) for i in range(n)]


def estimate_tokens(obj: Any) -> int:
    """A conservative token count of a message (or list of messages, or any JSON)."""
    if isinstance(obj, list):
        return sum(estimate_tokens(m) for m in obj)
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    overhead = MESSAGE_OVERHEAD_TOKENS if isinstance(obj, dict) else 0
    return math.ceil(len(text.encode("utf-8")) / 3) + overhead


@dataclass
class FitReport:
    """What :func:`fit_history` cut to stay within the budget."""

    #: Whole turns (a question and all that answered it) left out, and their size.
    dropped_turns: int
    dropped_tokens: int
    #: Tool results of the latest turn cut short.
    shortened_results: int
    #: The estimated size of what is sent.
    tokens: int

    @property
    def cut(self) -> bool:
        return bool(self.dropped_turns or self.shortened_results)

    def describe(self, budget: int) -> str:
        parts = []
        if self.dropped_turns:
            parts.append(
                f"{self.dropped_turns} earlier turn{'s' * (self.dropped_turns > 1)}"
                f" (about {self.dropped_tokens:,} tokens) summarised"
            )
        if self.shortened_results:
            parts.append(f"{self.shortened_results} long tool result(s) shortened")
        return f"history cut to fit {budget:,} input tokens: " + "; ".join(parts)


def turns_of(history: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The history split into turns, each starting at a user message."""
    turns: list[list[dict[str, Any]]] = []
    for message in history:
        if message.get("role") == "user" or not turns:
            turns.append([])
        turns[-1].append(message)
    return turns


def _summary(turns: list[list[dict[str, Any]]]) -> str:
    asked = []
    for turn in turns:
        text = str(turn[0].get("content") or "") if turn[0].get("role") == "user" else ""
        text = " ".join(text.split())
        if text:
            cut = text[:_SUMMARY_QUOTE_CHARS] + ("..." if len(text) > _SUMMARY_QUOTE_CHARS else "")
            asked.append(f'"{cut}"')
    if not asked:
        return ""
    return (
        "\n\nEarlier in this conversation (trimmed to fit the input budget; their answers and"
        " tool results are gone, call the tools again if you need them) the user asked: "
        + "; ".join(asked)
        + "."
    )


def _shorten_tool_results(turn: list[dict[str, Any]], excess: int) -> set[int]:
    """Cut the longest tool results of ``turn`` until about ``excess`` tokens are saved;
    returns the positions in ``turn`` of the results cut."""
    cut: set[int] = set()
    tools = sorted(
        (i for i, m in enumerate(turn) if m.get("role") == "tool"),
        key=lambda i: -len(turn[i].get("content") or ""),
    )
    for i in tools:
        message = turn[i]
        if excess <= 0:
            break
        content = message.get("content") or ""
        keep = max(200, len(content) - excess * 3 - len(_CUT_MARK) - 48)
        if keep >= len(content):
            continue
        excess -= (len(content) - keep) // 3
        cut.add(i)
        message["content"] = content.removesuffix(_CUT_MARK)[:keep] + _CUT_MARK
    return cut


def fit_history(
    system: str,
    history: list[dict[str, Any]],
    budget: int = MAX_INPUT_TOKENS,
    *,
    fixed_tokens: int = 0,
) -> tuple[list[dict[str, Any]], FitReport]:
    """The messages to send (system prompt first) within ``budget`` input tokens.

    ``fixed_tokens`` is what else the request carries (the tool definitions). Older turns go
    first and are summarised in one sentence appended to the system prompt; the latest turn
    always stays (its tool results shortened when it alone is over the budget). ``history``
    itself is not changed.
    """
    turns = [[dict(m) for m in t] for t in turns_of(history)]
    sys_tokens = estimate_tokens({"role": "system", "content": system}) + fixed_tokens
    sizes = [estimate_tokens(t) for t in turns]
    dropped: list[list[dict[str, Any]]] = []
    dropped_tokens = 0
    while len(turns) > 1:
        summary_tokens = estimate_tokens(_summary(dropped)) if dropped else 0
        if sys_tokens + summary_tokens + sum(sizes) <= budget:
            break
        dropped.append(turns.pop(0))
        dropped_tokens += sizes.pop(0)
    content = system + _summary(dropped)
    total = estimate_tokens({"role": "system", "content": content}) + fixed_tokens + sum(sizes)
    shortened: set[int] = set()
    for _ in range(3):  # JSON escapes make one pass fall a little short now and then
        if total <= budget or not turns:
            break
        shortened |= _shorten_tool_results(turns[-1], total - budget)
        total = estimate_tokens({"role": "system", "content": content}) + fixed_tokens
        total += sum(estimate_tokens(t) for t in turns)
    report = FitReport(len(dropped), dropped_tokens, len(shortened), total)
    messages = [{"role": "system", "content": content}] + [m for t in turns for m in t]
    return messages, report
