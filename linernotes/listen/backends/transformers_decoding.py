"""Decoding the prompt rows of one or several tracks: each shared prefix once, greedy rows
together, the others alone with transformers' own ``generate``.

1. the tokens the rows of a group share (system prompt, user turn header, one track's audio
   placeholders) run through the language model once, at batch size 1, and every row starts
   from that cache, adding only its own question;
2. the greedy rows are then decoded together in batches of up to ``batch_size`` rows, and no
   more than the free device memory holds (:mod:`.transformers_memory`): each row's cache is
   padded on the left, padding is masked, each row keeps its own position ids, and each row
   gets the logits processors and stopping criteria that ``generate`` would build for it alone
   (captured from transformers, applied to that row's own tokens), so a row computes what it
   computes alone; finished rows leave the batch.

Rows that cannot be decoded that way (sampling, whose random draws depend on the batch; beam
search; a processor not known to act row by row) and every row when ``batch_size=1`` go through
``generate`` one prompt at a time from the shared cache; the reason is recorded in the row's
``info``. In bfloat16 on a GPU a batched matrix product can round differently from a single
one, so a near-tie between two tokens may, rarely, resolve differently; ``batch_size=1`` is the
reference path.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from linernotes.listen.backends.transformers_compat import cache_argument
from linernotes.listen.backends.transformers_memory import (
    batch_fits,
    decoding_budget,
    model_kv_bytes_per_token,
)
from linernotes.listen.prompts import GenerationParams, RenderedPrompt

#: Logits processors that read only one row's own tokens and scores: applied row by row they
#: give exactly what ``generate`` gives that prompt alone.
ROW_PROCESSORS = frozenset(
    {
        "RepetitionPenaltyLogitsProcessor",
        "MinNewTokensLengthLogitsProcessor",
        "MinLengthLogitsProcessor",
        "NoRepeatNGramLogitsProcessor",
        "NoBadWordsLogitsProcessor",
        "SequenceBiasLogitsProcessor",
        "SuppressTokensLogitsProcessor",
        "SuppressTokensAtBeginLogitsProcessor",
        "ForcedBOSTokenLogitsProcessor",
        "ForcedEOSTokenLogitsProcessor",
        "InfNanRemoveLogitsProcessor",
        "LogitNormalization",
        "ExponentialDecayLengthPenalty",
    }
)
#: Stopping criteria that depend only on one row's tokens (not ``MaxTimeCriteria``).
ROW_STOPPERS = frozenset({"MaxLengthCriteria", "EosTokenCriteria", "StopStringCriteria"})


@dataclass
class Row:
    """One prompt about one clip on its way through the decoder; ``tokens`` (the new token
    ids), ``elapsed_s`` and ``info`` are filled in by :meth:`RowDecoder.answer`."""

    ids: Any  # the prompt's token ids (1-D, CPU), audio placeholders expanded
    prompt: RenderedPrompt
    audio_embeds: Any
    track: int = 0
    group: int = 0  # index of its shared prefix
    tokens: Any = None
    elapsed_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prefix:
    """A prefilled shared prefix: its length, cache (batch 1), cost and how many rows use it."""

    length: int
    cache: Any
    seconds: float
    members: int


@dataclass
class Plan:
    """How a row is decoded: with these processors and stopping criteria in a batch, or alone
    (``processors is None``) for ``reason``."""

    processors: Any = None
    stopping: Any = None
    reason: str = ""
    #: only MaxLengthCriteria / EosTokenCriteria: ``max_length`` and ``eos`` say all they do
    simple_stop: bool = False
    max_length: int | None = None
    eos: set[int] = field(default_factory=set)


class RowDecoder:
    """Answers rows with one model (see the module docstring).

    ``generation_config`` turns a prompt's parameters into transformers'
    ``GenerationConfig``; ``kv_budget_bytes`` caps the key/value cache of a decoding batch
    (``None``: the free memory of a CUDA device, no cap on the CPU)."""

    def __init__(
        self,
        model: Any,
        audio_token_id: int,
        generation_config: Callable[[GenerationParams], Any],
        *,
        batch_size: int,
        kv_budget_bytes: int | None = None,
    ) -> None:
        self.model = model
        self.audio_token_id = audio_token_id
        self.generation_config = generation_config
        self.batch_size = max(1, int(batch_size))
        self.kv_budget_bytes = kv_budget_bytes
        self.cache_arg = cache_argument(model)

    @property
    def device(self) -> Any:
        return self.model.device

    def answer(self, rows: list[Row]) -> None:
        """Fill in every row: prefill each shared prefix once, decode the rows that can be
        decoded together in batches that fit, the others alone."""
        prefixes = self.prefill(rows)
        together: list[tuple[Row, Plan]] = []
        for row in rows:
            plan = self.plan(row) if self.batch_size > 1 else Plan(reason="batch_size=1")
            if plan.processors is None:
                self.decode_alone(row, prefixes[row.group], plan.reason)
            else:
                together.append((row, plan))
        for batch in self.batches(together):
            self.decode_together(batch, prefixes)

    def batches(self, rows: list[tuple[Row, Plan]]) -> Iterator[list[tuple[Row, Plan]]]:
        """Consecutive runs of at most ``batch_size`` rows whose padded caches fit the
        budget (a row that fits nothing alone is still decoded, alone)."""
        budget = decoding_budget(self.device, self.kv_budget_bytes)
        per_token = model_kv_bytes_per_token(self.model)
        batch: list[tuple[Row, Plan]] = []
        for item in rows:
            candidate = [*batch, item]
            lengths = [int(r.ids.shape[0]) for r, _ in candidate]
            new = max(_new_tokens(r, p) for r, p in candidate)
            fits = budget is None or batch_fits(lengths, new, per_token, budget)
            if batch and (len(candidate) > self.batch_size or not fits):
                yield batch
                batch = [item]
            else:
                batch = candidate
        if batch:
            yield batch

    def _forward(self, cache: Any, **kwargs: Any) -> Any:
        return self.model(**{self.cache_arg: cache}, use_cache=True, logits_to_keep=1, **kwargs)

    def embed(self, ids: Any, audio_embeds: Any) -> Any:
        """Token embeddings with the audio placeholders replaced by the audio embeddings."""
        embeds = self.model.get_input_embeddings()(ids.to(self.device)[None])
        mask = (ids.to(self.device) == self.audio_token_id)[None, :, None].expand_as(embeds)
        return embeds.masked_scatter(mask, audio_embeds.to(embeds.dtype))

    def prefill(self, rows: list[Row]) -> list[Prefix]:
        """Run the tokens a group of rows shares (system prompt, user header, the audio of one
        track) through the language model once, at batch size 1; ``row.group`` says which."""
        import torch
        from transformers import DynamicCache

        keys: dict[tuple[int, tuple[int, ...]], list[Row]] = {}
        for row in rows:
            keys.setdefault((row.track, audio_head(row.ids, self.audio_token_id)), []).append(row)
        prefixes: list[Prefix] = []
        for members in keys.values():
            t0 = time.perf_counter()
            length = common_prefix(m.ids for m in members)
            prefix = members[0].ids[:length]
            with torch.inference_mode():
                cache = DynamicCache(config=self.model.config)
                self._forward(
                    cache,
                    inputs_embeds=self.embed(prefix, members[0].audio_embeds),
                    attention_mask=torch.ones(1, length, dtype=torch.long, device=self.device),
                )
            for m in members:
                m.group = len(prefixes)
            prefixes.append(Prefix(length, cache, time.perf_counter() - t0, len(members)))
        return prefixes

    def plan(self, row: Row) -> Plan:
        """How ``generate`` would decode this prompt alone: its logits processors and stopping
        criteria exactly as transformers prepares them (captured through ``custom_generate``,
        nothing is run). Rows whose decoding is not a pure function of their own tokens
        (sampling, beams, time limits, unknown processors) are decoded alone."""
        import torch

        captured: dict[str, Any] = {}

        def capture(_model: Any, input_ids: Any, **kwargs: Any) -> Any:
            captured.update(kwargs)
            return input_ids

        full = row.ids.to(self.device)[None]
        try:
            with torch.inference_mode():
                self.model.generate(
                    input_ids=full,
                    attention_mask=torch.ones_like(full),
                    generation_config=self.generation_config(row.prompt.generation),
                    custom_generate=capture,
                )
        except (TypeError, ValueError) as exc:  # pragma: no cover - another transformers
            return Plan(reason=f"cannot prepare a joint decode: {exc}")
        config = captured.get("generation_config")
        processors = captured.get("logits_processor")
        stopping = captured.get("stopping_criteria")
        if config is None or processors is None or stopping is None:  # pragma: no cover
            return Plan(reason="cannot prepare a joint decode")
        if config.do_sample:
            return Plan(reason="sampling: each prompt draws from its own seeded generator")
        mode = config.get_generation_mode()
        if getattr(mode, "value", mode) != "greedy_search":
            return Plan(reason=f"{getattr(mode, 'value', mode)} decoding")
        for item in [*processors, *stopping]:
            name = type(item).__name__
            if name not in ROW_PROCESSORS and name not in ROW_STOPPERS:
                return Plan(reason=f"{name} is not known to act on one row alone")
        plan = Plan(list(processors), stopping)
        kinds = {type(c).__name__ for c in stopping}
        if kinds <= {"MaxLengthCriteria", "EosTokenCriteria"}:
            # the two usual criteria, checked on plain integers (no tensor work per step)
            for c in stopping:
                if type(c).__name__ == "MaxLengthCriteria":
                    limit = int(c.max_length)
                    plan.max_length = (
                        limit if plan.max_length is None else min(limit, plan.max_length)
                    )
                else:
                    plan.eos |= set(torch.as_tensor(c.eos_token_id).flatten().tolist())
            plan.simple_stop = True
        return plan

    def decode_alone(self, row: Row, prefix: Prefix, reason: str) -> None:
        """transformers' own ``generate`` for one prompt, from a copy of its prefix cache."""
        import torch

        t0 = time.perf_counter()
        full = row.ids.to(self.device)[None]
        params = row.prompt.generation
        if params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=full,
                attention_mask=torch.ones_like(full),
                generation_config=self.generation_config(params),
                **{self.cache_arg: copy.deepcopy(prefix.cache)},
            )
        row.tokens = out[0, full.shape[1] :]
        row.elapsed_s = time.perf_counter() - t0 + prefix.seconds / prefix.members
        row.info = {
            "prompt_tokens": int(full.shape[1]),
            "shared_prefix_tokens": prefix.length,
            "new_tokens": int(row.tokens.shape[0]),
            "decode": "alone",
            "decode_reason": reason,
        }

    def decode_together(self, batch: list[tuple[Row, Plan]], prefixes: list[Prefix]) -> None:
        """Greedy-decode several rows as one batch.

        Each row's own question runs at batch size 1 on top of its prefix cache (exactly the
        computation of a lone ``generate`` call); the rows' caches are then padded on the left
        to one length and decoded together, one token per row per step. Padding is masked and
        every row keeps its own position ids, so each row computes what it computes alone;
        each row's logits processors and stopping criteria see only its own tokens (as
        ``LogitsProcessorList`` applies them), and finished rows leave the batch."""
        import torch

        t0 = time.perf_counter()
        dev = self.device
        rows = [r for r, _ in batch]
        n = len(rows)
        lengths = [int(r.ids.shape[0]) for r in rows]
        with torch.inference_mode():
            cache, mask, first = self._padded_cache(rows, lengths, prefixes)
            following = torch.tensor(lengths, device=dev)
            logits = torch.cat(first)
            seqs = [r.ids.to(dev)[None] for r in rows]
            active = list(range(n))
            while True:
                scores = logits.to(copy=True, dtype=torch.float32)
                for k, j in enumerate(active):
                    row_scores = scores[k : k + 1]
                    for processor in batch[j][1].processors:  # as LogitsProcessorList does
                        row_scores = processor(seqs[j], row_scores)
                    scores[k : k + 1] = row_scores
                chosen = torch.argmax(scores, dim=-1)
                picked = chosen.tolist()
                keep: list[int] = []
                for k, j in enumerate(active):
                    seqs[j] = torch.cat([seqs[j], chosen[k : k + 1, None]], dim=-1)
                    if not _finished(batch[j][1], seqs[j], picked[k], scores[k : k + 1]):
                        keep.append(k)
                if not keep:
                    break
                if len(keep) < len(active):
                    index = torch.tensor(keep, device=dev)
                    cache.batch_select_indices(index)
                    chosen, following = chosen[index], following[index]
                    active = [active[k] for k in keep]
                    if mask is not None:
                        mask = mask[index]
                        if bool(mask.all()):  # no padding left: the plain causal path
                            mask = None
                if mask is not None:
                    mask = torch.cat([mask, mask.new_ones(len(active), 1)], dim=-1)
                step = self._forward(
                    cache,
                    input_ids=chosen[:, None],
                    attention_mask=mask,
                    position_ids=following[:, None],
                )
                logits = step.logits[:, -1]
                following = following + 1
        elapsed = (time.perf_counter() - t0) / n
        for j, r in enumerate(rows):
            prefix = prefixes[r.group]
            r.tokens = seqs[j][0, r.ids.shape[0] :]
            r.elapsed_s = elapsed + prefix.seconds / prefix.members
            r.info = {
                "prompt_tokens": int(r.ids.shape[0]),
                "shared_prefix_tokens": prefix.length,
                "new_tokens": int(r.tokens.shape[0]),
                "decode": "together",
                "batch_rows": n,
            }

    def _padded_cache(
        self, rows: list[Row], lengths: list[int], prefixes: list[Prefix]
    ) -> tuple[Any, Any, list[Any]]:
        """The rows' caches after their own questions, padded on the left to one length and
        filled one row at a time (peak memory: the batch plus one row); the padding mask
        (``None`` for one row) and each row's first logits."""
        import torch
        from transformers import DynamicCache

        n, width = len(rows), max(lengths)
        first: list[Any] = []
        keys: list[Any] = []
        values: list[Any] = []
        for j, row in enumerate(rows):
            prefix = prefixes[row.group]
            own = DynamicCache(config=self.model.config)
            for layer, source in enumerate(prefix.cache.layers):
                own.update(source.keys, source.values, layer)
            step = self._forward(own, input_ids=row.ids[prefix.length :].to(self.device)[None])
            first.append(step.logits[:, -1])
            if n == 1:
                return own, None, first
            for layer, filled in enumerate(own.layers):
                if j == 0:
                    shape = (n, filled.keys.shape[1], width, filled.keys.shape[-1])
                    keys.append(filled.keys.new_zeros(shape))
                    values.append(filled.values.new_zeros(shape))
                keys[layer][j, :, width - lengths[j] :] = filled.keys[0]
                values[layer][j, :, width - lengths[j] :] = filled.values[0]
            del own, step
        cache = DynamicCache(config=self.model.config)
        for layer in range(len(keys)):
            cache.update(keys[layer], values[layer], layer)
            keys[layer] = values[layer] = None
        mask = torch.zeros(n, width, dtype=torch.long, device=self.device)
        for j, size in enumerate(lengths):
            mask[j, width - size :] = 1
        return cache, mask, first


def _finished(plan: Plan, seq: Any, picked: int, scores: Any) -> bool:
    """Whether a row stops after the token it just chose."""
    if plan.simple_stop:
        return picked in plan.eos or (
            plan.max_length is not None and seq.shape[1] >= plan.max_length
        )
    return bool(plan.stopping(seq, scores).any())


def _new_tokens(row: Row, plan: Plan) -> int:
    """The most tokens a row may add (its ``max_length`` when known, else its prompt's)."""
    if plan.max_length is not None:
        return max(0, plan.max_length - int(row.ids.shape[0]))
    return int(row.prompt.generation.max_new_tokens)


def common_prefix(seqs: Any) -> int:
    """Length of the longest common prefix, leaving at least one own token per sequence."""
    lists = [s.tolist() for s in seqs]
    limit = min(len(s) for s in lists) - 1
    first = lists[0]
    for length in range(limit):
        if any(s[length] != first[length] for s in lists[1:]):
            return length
    return max(0, limit)


def audio_head(seq: Any, audio_token_id: int) -> tuple[int, ...]:
    """The tokens up to the end of the audio placeholders: prompts with the same head (the
    same system prompt and track) share a prefix, prefilled once."""
    tokens = seq.tolist()
    ends = [i for i, tok in enumerate(tokens) if tok == audio_token_id]
    end = ends[-1] + 1 if ends else len(tokens) - 1
    return tuple(tokens[: min(end, len(tokens) - 1)])
