"""Run Audio Flamingo 3 or Music Flamingo in this process with Hugging Face transformers.

Loads a hub id or a local folder with ``AutoProcessor`` + ``AutoModelForSeq2SeqLM`` (the only
auto classes these models map to): ``nvidia/audio-flamingo-3-hf`` and the Music Flamingo
preview (``audioflamingo3``), ``nvidia/music-flamingo-2601-hf`` and its think variant
(``musicflamingo``, transformers >= 5.5). All of these weights are licensed for
**non-commercial use only**.

Device and dtype: CUDA in bfloat16 when available (float16 on GPUs without bf16), otherwise the
CPU in float32; the audio features are cast to the model's dtype (a bf16 model otherwise fails
with "Input type (float) and bias type (c10::BFloat16)"). A model loads once per process.

Several prompts on one track pay for the audio once, and mostly decode together:

1. the track's mel features and its audio embeddings (encoder + projector) are computed once;
2. the tokens the prompts share (system prompt, user turn header, the audio placeholders) run
   through the language model once, at batch size 1, and every prompt starts from that cache,
   adding only its own question;
3. the greedy prompts are then decoded as one batch of up to ``batch_size`` rows (default 8):
   each row's cache is padded on the left, padding is masked, each row keeps its own position
   ids, and each row gets the logits processors and stopping criteria that ``generate`` would
   build for it alone (captured from transformers, applied to that row's own tokens), so a row
   computes what it computes alone; finished rows leave the batch.

Rows that cannot be decoded that way (sampling, whose random draws depend on the batch; beam
search; a processor not known to act row by row) and every row when ``batch_size=1`` go through
transformers' own ``generate`` one prompt at a time from the shared cache; the reason is
recorded in the answer's ``info``. The tests check, on the tiny AF3 and Music Flamingo models in
float32, that all three paths (the model card's one ``generate`` per prompt, ``batch_size=1``,
the batched default) give the same tokens. In bfloat16 on a GPU a batched matrix product can
round differently from a single one, so a near-tie between two tokens may, rarely, resolve
differently; ``batch_size=1`` is the reference path. :meth:`TransformersBackend.generate_many`
decodes the rows of several tracks together in the same way (tested against batch size 1).
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linernotes.listen.audio import AudioInput, Clip
from linernotes.listen.backends.base import (
    AF3_MAX_SECONDS,
    MF_MAX_SECONDS,
    THINK_SUFFIX,
    Generation,
    ListenBackend,
    ListenError,
    ListenOutput,
    LongAudioPolicy,
)
from linernotes.listen.prompts import GenerationParams, RenderedPrompt

DEFAULT_MODEL = "nvidia/music-flamingo-2601-hf"
_LOADED: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()


def pick_device(requested: str = "auto") -> str:
    """``cuda`` when a GPU is visible, else ``cpu`` (or what was asked for)."""
    if requested and requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(device: str, requested: str = "auto") -> Any:
    """bfloat16 on CUDA (float16 where bf16 is unsupported), float32 elsewhere."""
    import torch

    if requested and requested != "auto":
        return getattr(torch, requested)
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def local_revision(folder: Path) -> str:
    """A stable identity for a local checkpoint folder: its configuration and the names and
    sizes of its files (hashing gigabytes of weights would cost more than the answer)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            rel = path.relative_to(folder).as_posix()
            digest.update(f"{rel}:{path.stat().st_size}\n".encode())
            if path.suffix == ".json" and path.stat().st_size < 1 << 20:
                digest.update(path.read_bytes())
    return "local-" + digest.hexdigest()[:16]


def load_model(
    model_id: str,
    *,
    revision: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    think: bool = False,
    token: str | None = None,
) -> tuple[Any, Any]:
    """``(model, processor)`` for a hub id or a local folder, loaded once per process.

    ``think`` loads Audio Flamingo 3's reasoning LoRA from the checkpoint's ``think/`` folder
    (needs ``peft``) and merges it into the weights.
    """
    dev = pick_device(device)
    torch_dtype = pick_dtype(dev, dtype)
    key = (model_id, revision, dev, str(torch_dtype), think)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            from transformers import AutoModelForSeq2SeqLM, AutoProcessor
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ListenError(
                "the transformers backend needs torch and transformers>=5.5:"
                " pip install 'linernotes[listen]'"
            ) from exc
        try:
            processor = AutoProcessor.from_pretrained(model_id, revision=revision, token=token)
            model = AutoModelForSeq2SeqLM.from_pretrained(
                model_id, revision=revision, dtype=torch_dtype, token=token
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ListenError(f"cannot load model {model_id!r}: {exc}") from exc
        model.to(dev)
        model.eval()
        if think:
            model = _merge_think_adapter(model, model_id, revision, token)
        _LOADED[key] = (model, processor)
        return model, processor


def _merge_think_adapter(model: Any, model_id: str, revision: str | None, token: str | None):
    if model.config.model_type != "audioflamingo3":
        return model  # Music Flamingo's think variant is its own checkpoint
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ListenError("Audio Flamingo 3 think mode needs peft: pip install peft") from exc
    local = Path(model_id)
    try:
        if local.is_dir():
            peft_model = PeftModel.from_pretrained(model, str(local / "think"))
        else:
            peft_model = PeftModel.from_pretrained(
                model, model_id, subfolder="think", revision=revision, token=token
            )
    except (OSError, ValueError) as exc:
        raise ListenError(f"cannot load the think adapter of {model_id!r}: {exc}") from exc
    return peft_model.merge_and_unload().eval()


class TransformersBackend(ListenBackend):
    """Audio Flamingo 3 / Music Flamingo in this process (non-commercial weights).

    ``model_id`` is a hub id or a local folder; ``loaded`` wraps an already built
    ``(model, processor)`` instead. ``max_seconds`` lowers the model's audio cap (never raises
    it); ``long_audio`` says what happens past the cap; ``batch_size`` is the most rows
    (prompts, of one track or, with :meth:`generate_many`, of several) decoded together, and
    ``1`` decodes each prompt alone with transformers' ``generate`` (see the module docstring).
    """

    name = "transformers"

    def __init__(
        self,
        model_id: str = DEFAULT_MODEL,
        *,
        revision: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        think: bool = False,
        long_audio: LongAudioPolicy = "truncate",
        batch_size: int = 8,
        max_seconds: float | None = None,
        token: str | None = None,
        loaded: tuple[Any, Any] | None = None,
    ) -> None:
        model, processor = loaded or load_model(
            model_id, revision=revision, device=device, dtype=dtype, think=think, token=token
        )
        self.model = model
        self.processor = processor
        self.family = model.config.model_type
        if self.family not in ("audioflamingo3", "musicflamingo"):
            raise ListenError(
                f"{model_id!r} is a {self.family!r} model, not Audio Flamingo 3 or Music Flamingo"
            )
        resolved = revision or getattr(model.config, "_commit_hash", None)
        if resolved is None and Path(model_id).is_dir():
            resolved = local_revision(Path(model_id))
        max_audio = float(getattr(processor, "max_audio_len", 0) or 0) or (
            MF_MAX_SECONDS if self.family == "musicflamingo" else AF3_MAX_SECONDS
        )
        is_think = think or "think" in model_id.lower()
        super().__init__(
            model_id,
            revision=resolved,
            variant="think" if is_think else None,
            long_audio=long_audio,
            max_seconds=min(max_seconds, max_audio) if max_seconds else max_audio,
        )
        self.think_suffix = THINK_SUFFIX if think and self.family == "audioflamingo3" else ""
        self.batch_size = max(1, int(batch_size))
        self.audio_token_id = int(model.config.audio_token_id)
        self._lock = threading.Lock()
        self._audio_needs_ids = (
            "input_ids" in inspect.signature(model.get_audio_features).parameters
        )

    @classmethod
    def from_loaded(
        cls, model: Any, processor: Any, model_id: str, **kwargs: Any
    ) -> TransformersBackend:
        """Wrap a model and processor built elsewhere (a benchmark's random full-size model)."""
        return cls(model_id, loaded=(model, processor), **kwargs)

    @property
    def device(self) -> Any:
        return self.model.device

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["batch_size"] = self.batch_size
        return info

    # -- preparing the inputs ------------------------------------------------------------
    def _chat_text(self, prompt: RenderedPrompt) -> str:
        text = f"{prompt.text} {self.think_suffix}".strip()
        conversation: list[dict[str, Any]] = []
        if prompt.system:
            conversation.append({"role": "system", "content": prompt.system})
        conversation.append(
            {"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": text}]}
        )
        return self.processor.apply_chat_template(
            conversation, tokenize=False, add_generation_prompt=True
        )

    def _prepare(self, clip: Clip, prompts: Sequence[RenderedPrompt]) -> tuple[Any, list[Any]]:
        """Mel features once, and each prompt's token ids with the audio placeholders
        expanded exactly as the processor does."""
        import torch

        texts = [self._chat_text(p) for p in prompts]
        first = self.processor(text=texts[0], audio=clip.samples, return_tensors="pt")
        ids0 = first["input_ids"][0]
        n_audio = int((ids0 == self.audio_token_id).sum())
        replacement = self.processor.replace_audio_token(
            {"num_audio_tokens": torch.tensor([n_audio])}, audio_idx=0
        )
        token = self.processor.audio_token

        def tokenize(text: str) -> Any:
            expanded = text.replace(token, replacement, 1)
            return torch.tensor(self.processor.tokenizer(expanded)["input_ids"], dtype=torch.long)

        if not torch.equal(tokenize(texts[0]), ids0):  # pragma: no cover - defensive
            ids = [
                self.processor(text=t, audio=clip.samples, return_tensors="pt")["input_ids"][0]
                for t in texts
            ]
        else:
            ids = [ids0] + [tokenize(t) for t in texts[1:]]
        return first, ids

    def _audio_embeds(self, features: Any, ids0: Any) -> Any:
        import torch

        dtype = self.model.dtype
        feats = features["input_features"].to(self.device, dtype=dtype)
        mask = features["input_features_mask"].to(self.device)
        kwargs = {"input_ids": ids0[None].to(self.device)} if self._audio_needs_ids else {}
        with torch.inference_mode():
            out = self.model.get_audio_features(feats, mask, return_dict=True, **kwargs)
        return out.pooler_output

    def _embed(self, ids: Any, audio_embeds: Any) -> Any:
        """Token embeddings with the audio placeholders replaced by the audio embeddings."""
        embeds = self.model.get_input_embeddings()(ids.to(self.device)[None])
        mask = (ids.to(self.device) == self.audio_token_id)[None, :, None].expand_as(embeds)
        return embeds.masked_scatter(mask, audio_embeds.to(embeds.dtype))

    def _generation_config(self, params: GenerationParams) -> Any:
        from transformers import GenerationConfig

        base = self.model.generation_config
        pad = base.pad_token_id
        if pad is None:
            pad = self.processor.tokenizer.pad_token_id
        values = params.as_dict()
        values.pop("seed", None)
        return GenerationConfig(
            **values, eos_token_id=base.eos_token_id, pad_token_id=pad, bos_token_id=None
        )

    def _decode(self, tokens: Any) -> str:
        return self.processor.tokenizer.decode(tokens, skip_special_tokens=True).strip()

    # -- generation ----------------------------------------------------------------------
    def _generate_clip(self, clip: Clip, prompts: Sequence[RenderedPrompt]) -> list[Generation]:
        with self._lock:
            t0 = time.perf_counter()
            features, ids = self._prepare(clip, prompts)
            audio_embeds = self._audio_embeds(features, ids[0])
            shared_s = time.perf_counter() - t0
            rows = [_Row(i, p, audio_embeds) for i, p in zip(ids, prompts, strict=True)]
            self._answer(rows)
        return _finish(rows, shared_s / len(rows))

    def _answer(self, rows: list[_Row]) -> None:
        """Fill in ``row.result`` for every row: prefill each shared prefix once, decode the
        rows that can be decoded together in batches of ``batch_size``, the others alone."""
        prefixes = self._prefill_prefixes(rows)
        together: list[tuple[_Row, _Plan]] = []
        for row in rows:
            plan = self._plan(row) if self.batch_size > 1 else _Plan(reason="batch_size=1")
            if plan.processors is None:
                self._decode_alone(row, prefixes[row.group], plan.reason)
            else:
                together.append((row, plan))
        for start in range(0, len(together), self.batch_size):
            self._decode_together(together[start : start + self.batch_size], prefixes)

    def _prefill_prefixes(self, rows: list[_Row]) -> list[_Prefix]:
        """Run the tokens a group of rows shares (system prompt, user header, the audio of one
        track) through the language model once, at batch size 1; ``row.group`` says which."""
        import torch
        from transformers import DynamicCache

        keys: dict[tuple[int, tuple[int, ...]], list[_Row]] = {}
        for row in rows:
            keys.setdefault((row.track, _audio_head(row.ids, self.audio_token_id)), []).append(row)
        prefixes: list[_Prefix] = []
        for members in keys.values():
            t0 = time.perf_counter()
            length = _common_prefix(m.ids for m in members)
            prefix = members[0].ids[:length]
            with torch.inference_mode():
                cache = DynamicCache(config=self.model.config)
                self.model(
                    inputs_embeds=self._embed(prefix, members[0].audio_embeds),
                    attention_mask=torch.ones(1, length, dtype=torch.long, device=self.device),
                    past_key_values=cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
            for m in members:
                m.group = len(prefixes)
            prefixes.append(_Prefix(length, cache, time.perf_counter() - t0, len(members)))
        return prefixes

    def _plan(self, row: _Row) -> _Plan:
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
                    generation_config=self._generation_config(row.prompt.generation),
                    custom_generate=capture,
                )
        except (TypeError, ValueError) as exc:  # pragma: no cover - another transformers
            return _Plan(reason=f"cannot prepare a joint decode: {exc}")
        config = captured.get("generation_config")
        processors = captured.get("logits_processor")
        stopping = captured.get("stopping_criteria")
        if config is None or processors is None or stopping is None:  # pragma: no cover
            return _Plan(reason="cannot prepare a joint decode")
        if config.do_sample:
            return _Plan(reason="sampling: each prompt draws from its own seeded generator")
        mode = config.get_generation_mode()
        if getattr(mode, "value", mode) != "greedy_search":
            return _Plan(reason=f"{getattr(mode, 'value', mode)} decoding")
        for item in [*processors, *stopping]:
            name = type(item).__name__
            if name not in _ROW_PROCESSORS and name not in _ROW_STOPPERS:
                return _Plan(reason=f"{name} is not known to act on one row alone")
        plan = _Plan(list(processors), stopping)
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

    def _decode_alone(self, row: _Row, prefix: _Prefix, reason: str) -> None:
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
                past_key_values=copy.deepcopy(prefix.cache),
                generation_config=self._generation_config(params),
            )
        new = out[0, full.shape[1] :]
        row.result = Generation(
            text=self._decode(new),
            elapsed_s=time.perf_counter() - t0 + prefix.seconds / prefix.members,
            info={
                "prompt_tokens": int(full.shape[1]),
                "shared_prefix_tokens": prefix.length,
                "new_tokens": int(new.shape[0]),
                "decode": "alone",
                "decode_reason": reason,
            },
        )

    def _decode_together(self, batch: list[tuple[_Row, _Plan]], prefixes: list[_Prefix]) -> None:
        """Greedy-decode several rows as one batch.

        Each row's own question runs at batch size 1 on top of its prefix cache (exactly the
        computation of a lone ``generate`` call); the rows' caches are then padded on the left
        to one length and decoded together, one token per row per step. Padding is masked and
        every row keeps its own position ids, so each row computes what it computes alone;
        each row's logits processors and stopping criteria see only its own tokens (as
        ``LogitsProcessorList`` applies them), and finished rows leave the batch."""
        import torch
        from transformers import DynamicCache

        t0 = time.perf_counter()
        dev = self.device
        rows = [r for r, _ in batch]
        n = len(rows)
        lengths = [int(r.ids.shape[0]) for r in rows]
        width = max(lengths)
        first: list[Any] = []
        # the rows' caches, padded on the left, filled one row at a time (peak memory: the
        # batch plus one row)
        keys: list[Any] = []
        values: list[Any] = []
        cache: Any = None
        with torch.inference_mode():
            for j, row in enumerate(rows):
                prefix = prefixes[row.group]
                own = DynamicCache(config=self.model.config)
                for layer, source in enumerate(prefix.cache.layers):
                    own.update(source.keys, source.values, layer)
                step = self.model(
                    input_ids=row.ids[prefix.length :].to(dev)[None],
                    past_key_values=own,
                    use_cache=True,
                    logits_to_keep=1,
                )
                first.append(step.logits[:, -1])
                if n == 1:
                    cache = own
                    break
                for layer, filled in enumerate(own.layers):
                    if j == 0:
                        shape = (n, filled.keys.shape[1], width, filled.keys.shape[-1])
                        keys.append(filled.keys.new_zeros(shape))
                        values.append(filled.values.new_zeros(shape))
                    keys[layer][j, :, width - lengths[j] :] = filled.keys[0]
                    values[layer][j, :, width - lengths[j] :] = filled.values[0]
                del own, step
            mask = None
            if n > 1:
                cache = DynamicCache(config=self.model.config)
                for layer in range(len(keys)):
                    cache.update(keys[layer], values[layer], layer)
                    keys[layer] = values[layer] = None
                mask = torch.zeros(n, width, dtype=torch.long, device=dev)
                for j, size in enumerate(lengths):
                    mask[j, width - size :] = 1
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
                    plan = batch[j][1]
                    if plan.simple_stop:
                        done = picked[k] in plan.eos or (
                            plan.max_length is not None and seqs[j].shape[1] >= plan.max_length
                        )
                    else:
                        done = bool(plan.stopping(seqs[j], scores[k : k + 1]).any())
                    if not done:
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
                step = self.model(
                    input_ids=chosen[:, None],
                    attention_mask=mask,
                    position_ids=following[:, None],
                    past_key_values=cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
                logits = step.logits[:, -1]
                following = following + 1
        elapsed = (time.perf_counter() - t0) / n
        for j, r in enumerate(rows):
            prefix = prefixes[r.group]
            new = seqs[j][0, r.ids.shape[0] :]
            r.result = Generation(
                text=self._decode(new),
                elapsed_s=elapsed + prefix.seconds / prefix.members,
                info={
                    "prompt_tokens": int(r.ids.shape[0]),
                    "shared_prefix_tokens": prefix.length,
                    "new_tokens": int(new.shape[0]),
                    "decode": "together",
                    "batch_rows": n,
                },
            )

    def generate_many(
        self,
        tracks: Sequence[AudioInput],
        prompts: Sequence[RenderedPrompt] | Sequence[Sequence[RenderedPrompt]],
    ) -> list[list[ListenOutput]]:
        """Answer prompts about several tracks. With ``batch_size > 1`` the rows of
        consecutive tracks within the cap (up to ``batch_size`` rows, at least one track) are
        decoded together; otherwise, and for tracks past the cap, one track after another."""
        per_track: list[Sequence[RenderedPrompt]] = (
            [list(prompts)] * len(tracks)  # type: ignore[list-item]
            if prompts and isinstance(prompts[0], RenderedPrompt)
            else list(prompts)  # type: ignore[arg-type]
        )
        if self.batch_size <= 1 or len(tracks) <= 1:
            return [self.generate(t, p) for t, p in zip(tracks, per_track, strict=True)]
        from linernotes.listen.audio import load_clip

        outputs: list[list[ListenOutput]] = [[] for _ in tracks]
        pending: list[tuple[int, Clip]] = []
        for t, track in enumerate(tracks):
            clip = load_clip(track, max_seconds=self.max_seconds + 1.0)
            if clip.duration > self.max_seconds + 1e-6 or clip.duration <= 0:
                outputs[t] = self.generate(track, per_track[t])  # windows, or the clear error
            elif per_track[t]:
                rows = sum(len(per_track[i]) for i, _ in pending) + len(per_track[t])
                if pending and rows > self.batch_size:
                    self._answer_tracks(pending, per_track, outputs)
                    pending = []
                pending.append((t, clip))
        if pending:
            self._answer_tracks(pending, per_track, outputs)
        return outputs

    def _answer_tracks(
        self,
        clips: list[tuple[int, Clip]],
        per_track: list[Sequence[RenderedPrompt]],
        outputs: list[list[ListenOutput]],
    ) -> None:
        """Encode each track once and decode all their rows together."""
        from linernotes.listen.backends.base import AudioUse

        rows: list[_Row] = []
        shares: list[float] = []
        with self._lock:
            for t, clip in clips:
                t0 = time.perf_counter()
                features, ids = self._prepare(clip, per_track[t])
                embeds = self._audio_embeds(features, ids[0])
                share = (time.perf_counter() - t0) / len(ids)
                for i, p in zip(ids, per_track[t], strict=True):
                    rows.append(_Row(i, p, embeds, track=t))
                    shares.append(share)
            self._answer(rows)
        for row, share in zip(rows, shares, strict=True):
            _finish([row], share)
        for t, clip in clips:
            use = AudioUse(
                duration_s=round(clip.duration, 3),
                used_s=round(clip.duration, 3),
                policy=self.long_audio,
                max_seconds=self.max_seconds,
                windows=max(1, -(-int(clip.duration * 1000) // 30000)),
                segments=[(0.0, round(clip.duration, 3))],
            )
            mine = [r for r in rows if r.track == t]
            outputs[t] = [
                ListenOutput(
                    prompt_id=r.prompt.prompt_id,
                    text=r.result.text,
                    elapsed_s=r.result.elapsed_s,
                    audio=use,
                    info=r.result.info,
                )
                for r in mine
                if r.result is not None
            ]


#: Logits processors that read only one row's own tokens and scores: applied row by row they
#: give exactly what ``generate`` gives that prompt alone.
_ROW_PROCESSORS = frozenset(
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
_ROW_STOPPERS = frozenset({"MaxLengthCriteria", "EosTokenCriteria", "StopStringCriteria"})


@dataclass
class _Row:
    """One prompt about one clip on its way through the decoder."""

    ids: Any  # the prompt's token ids (1-D, CPU), audio placeholders expanded
    prompt: RenderedPrompt
    audio_embeds: Any
    track: int = 0
    group: int = 0  # index of its shared prefix
    result: Generation | None = None


@dataclass
class _Prefix:
    """A prefilled shared prefix: its length, cache (batch 1), cost and how many rows use it."""

    length: int
    cache: Any
    seconds: float
    members: int


@dataclass
class _Plan:
    """How a row is decoded: with these processors and stopping criteria in a batch, or alone
    (``processors is None``) for ``reason``."""

    processors: Any = None
    stopping: Any = None
    reason: str = ""
    #: only MaxLengthCriteria / EosTokenCriteria: ``max_length`` and ``eos`` say all they do
    simple_stop: bool = False
    max_length: int | None = None
    eos: set[int] = field(default_factory=set)


def _finish(rows: list[_Row], share_s: float) -> list[Generation]:
    """Add each row's share of the audio encoding to its time and return the results."""
    results: list[Generation] = []
    for row in rows:
        assert row.result is not None
        row.result.elapsed_s = round(row.result.elapsed_s + share_s, 4)
        row.result.info["audio_encodings"] = 1
        results.append(row.result)
    return results


def _common_prefix(seqs: Any) -> int:
    """Length of the longest common prefix, leaving at least one own token per sequence."""
    lists = [s.tolist() for s in seqs]
    limit = min(len(s) for s in lists) - 1
    first = lists[0]
    for length in range(limit):
        if any(s[length] != first[length] for s in lists[1:]):
            return length
    return max(0, limit)


def _audio_head(seq: Any, audio_token_id: int) -> tuple[int, ...]:
    """The tokens up to the end of the audio placeholders: prompts with the same head (the
    same system prompt and track) share a prefix, prefilled once."""
    tokens = seq.tolist()
    ends = [i for i, tok in enumerate(tokens) if tok == audio_token_id]
    end = ends[-1] + 1 if ends else len(tokens) - 1
    return tuple(tokens[: min(end, len(tokens) - 1)])


def describe_environment() -> dict[str, Any]:
    """torch / transformers versions and the device, for benchmark reports."""
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "threads": torch.get_num_threads(),
        "pid": os.getpid(),
    }
