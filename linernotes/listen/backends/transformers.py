"""Run Audio Flamingo 3 or Music Flamingo in this process with Hugging Face transformers.

Loads a hub id or a local folder (:mod:`.transformers_loading`): ``nvidia/audio-flamingo-3-hf``
and the Music Flamingo preview (``audioflamingo3``), ``nvidia/music-flamingo-2601-hf`` and its
think variant (``musicflamingo``), on transformers within
:data:`~.transformers_compat.TRANSFORMERS_SPEC`. All of these weights are licensed for
**non-commercial use only**.

Device and dtype: CUDA in bfloat16 when available (float16 on GPUs without bf16), otherwise the
CPU in float32; ``device_map="auto"`` spreads a model over several devices and ``quantize``
loads the language model in 8 or 4 bits. The audio features are cast to the model's dtype (a
bf16 model otherwise fails with "Input type (float) and bias type (c10::BFloat16)"). A model
loads once per process.

Several prompts on one track pay for the audio once, and mostly decode together: the track's
mel features and audio embeddings (encoder + projector) are computed once, then
:class:`~.transformers_decoding.RowDecoder` prefills the shared prefix once and decodes the
greedy prompts as batches of up to ``batch_size`` rows (default 8) that fit the free GPU
memory. The tests check, on the tiny AF3 and Music Flamingo models in float32, that the model
card's one ``generate`` per prompt, ``batch_size=1`` and the batched default give the same
tokens. :meth:`TransformersBackend.generate_many` decodes the rows of several tracks together
in the same way; tracks past the model's cap go through the shared long-track policy of
:meth:`~.base.ListenBackend.generate` (truncate, or windows merged).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from linernotes.listen.audio import AudioInput, Clip, load_clip
from linernotes.listen.backends.base import (
    AF3_MAX_SECONDS,
    MF_MAX_SECONDS,
    THINK_SUFFIX,
    AudioUse,
    Generation,
    ListenBackend,
    ListenError,
    ListenOutput,
    LongAudioPolicy,
)
from linernotes.listen.backends.transformers_decoding import Row, RowDecoder
from linernotes.listen.backends.transformers_loading import (
    Quantization,
    describe_environment,
    load_model,
    local_revision,
    pick_device,
    pick_dtype,
)
from linernotes.listen.backends.transformers_memory import (
    batch_fits,
    decoding_budget,
    estimated_row_tokens,
    model_kv_bytes_per_token,
)
from linernotes.listen.prompts import GenerationParams, RenderedPrompt

__all__ = [
    "DEFAULT_MODEL",
    "TransformersBackend",
    "describe_environment",
    "load_model",
    "local_revision",
    "pick_device",
    "pick_dtype",
]

DEFAULT_MODEL = "nvidia/music-flamingo-2601-hf"
#: top_k given to transformers for a greedy prompt: greedy decoding ignores it, and this is the
#: library's own default, which its configuration check accepts without a warning.
GREEDY_TOP_K = 50
#: Text tokens of a prompt besides its audio (system prompt, question), for memory estimates.
PROMPT_TEXT_TOKENS = 256


class TransformersBackend(ListenBackend):
    """Audio Flamingo 3 / Music Flamingo in this process (non-commercial weights).

    ``model_id`` is a hub id or a local folder; ``loaded`` wraps an already built
    ``(model, processor)`` instead. ``max_seconds`` lowers the model's audio cap (never raises
    it); ``long_audio`` says what happens past the cap; ``batch_size`` is the most rows
    (prompts, of one track or, with :meth:`generate_many`, of several) decoded together, and
    ``1`` decodes each prompt alone with transformers' ``generate`` (see the module docstring);
    ``kv_cache_gb`` caps the key/value cache of a decoding batch (default: 90 % of the free GPU
    memory; no cap on the CPU). ``device_map`` and ``quantize`` are passed to
    :func:`~.transformers_loading.load_model`.
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
        device_map: str | None = None,
        quantize: Quantization | None = None,
        kv_cache_gb: float | None = None,
        loaded: tuple[Any, Any] | None = None,
    ) -> None:
        model, processor = loaded or load_model(
            model_id,
            revision=revision,
            device=device,
            dtype=dtype,
            think=think,
            token=token,
            device_map=device_map,
            quantize=quantize,
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
        variant = "+".join(v for v in ("think" if is_think else "", quantize or "") if v)
        super().__init__(
            model_id,
            revision=resolved,
            variant=variant or None,
            long_audio=long_audio,
            max_seconds=min(max_seconds, max_audio) if max_seconds else max_audio,
        )
        self.think_suffix = THINK_SUFFIX if think and self.family == "audioflamingo3" else ""
        self.batch_size = max(1, int(batch_size))
        self.kv_budget_bytes = None if kv_cache_gb is None else int(kv_cache_gb * 1e9)
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

    def _generation_config(self, params: GenerationParams) -> Any:
        from transformers import GenerationConfig

        base = self.model.generation_config
        pad = base.pad_token_id
        if pad is None:
            pad = self.processor.tokenizer.pad_token_id
        values = params.explicit()  # every value set: the checkpoint's defaults fill nothing
        values.pop("seed", None)
        if not values["do_sample"]:
            values["top_k"] = GREEDY_TOP_K
        return GenerationConfig(
            **values, eos_token_id=base.eos_token_id, pad_token_id=pad, bos_token_id=None
        )

    def _decode(self, tokens: Any) -> str:
        return self.processor.tokenizer.decode(tokens, skip_special_tokens=True).strip()

    # -- generation ----------------------------------------------------------------------
    def _decoder(self) -> RowDecoder:
        return RowDecoder(
            self.model,
            self.audio_token_id,
            self._generation_config,
            batch_size=self.batch_size,
            kv_budget_bytes=self.kv_budget_bytes,
        )

    def _generate_clip(self, clip: Clip, prompts: Sequence[RenderedPrompt]) -> list[Generation]:
        with self._lock:
            t0 = time.perf_counter()
            features, ids = self._prepare(clip, prompts)
            audio_embeds = self._audio_embeds(features, ids[0])
            shared_s = time.perf_counter() - t0
            rows = [Row(i, p, audio_embeds) for i, p in zip(ids, prompts, strict=True)]
            self._decoder().answer(rows)
        return [self._result(row, shared_s / len(rows)) for row in rows]

    def _result(self, row: Row, share_s: float) -> Generation:
        """A decoded row as a :class:`Generation`, with its share of the audio encoding."""
        return Generation(
            text=self._decode(row.tokens),
            elapsed_s=round(row.elapsed_s + share_s, 4),
            info={**row.info, "audio_encodings": 1},
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
        outputs: list[list[ListenOutput]] = [[] for _ in tracks]
        pending: list[tuple[int, Clip]] = []
        for t, track in enumerate(tracks):
            clip = load_clip(track, max_seconds=self.max_seconds + 1.0)
            if clip.duration > self.max_seconds + 1e-6 or clip.duration <= 0:
                outputs[t] = self.generate(track, per_track[t])  # windows, or the clear error
            elif per_track[t]:
                group = [*pending, (t, clip)]
                rows = sum(len(per_track[i]) for i, _ in group)
                if pending and (rows > self.batch_size or not self._tracks_fit(group, per_track)):
                    self._answer_tracks(pending, per_track, outputs)
                    pending = []
                pending.append((t, clip))
        if pending:
            self._answer_tracks(pending, per_track, outputs)
        return outputs

    def _tracks_fit(
        self, clips: list[tuple[int, Clip]], per_track: list[Sequence[RenderedPrompt]]
    ) -> bool:
        """Whether the prefixes of these tracks and their rows decoded as one batch are
        estimated to fit the memory budget (always, on the CPU without ``kv_cache_gb``)."""
        budget = decoding_budget(self.device, self.kv_budget_bytes)
        if budget is None:
            return True
        per_token = model_kv_bytes_per_token(self.model)
        lengths: list[int] = []
        prefixes = 0
        for t, clip in clips:
            prompt_tokens = estimated_row_tokens(clip.duration, PROMPT_TEXT_TOKENS, 0)
            prefixes += prompt_tokens * per_token
            lengths += [prompt_tokens] * len(per_track[t])
        new = max(p.generation.max_new_tokens for t, _ in clips for p in per_track[t])
        return batch_fits(lengths, new, per_token, budget - prefixes)

    def _answer_tracks(
        self,
        clips: list[tuple[int, Clip]],
        per_track: list[Sequence[RenderedPrompt]],
        outputs: list[list[ListenOutput]],
    ) -> None:
        """Encode each track once and decode all their rows together."""
        rows: list[Row] = []
        shares: list[float] = []
        with self._lock:
            for t, clip in clips:
                t0 = time.perf_counter()
                features, ids = self._prepare(clip, per_track[t])
                embeds = self._audio_embeds(features, ids[0])
                share = (time.perf_counter() - t0) / len(ids)
                for i, p in zip(ids, per_track[t], strict=True):
                    rows.append(Row(i, p, embeds, track=t))
                    shares.append(share)
            self._decoder().answer(rows)
        results = [self._result(row, share) for row, share in zip(rows, shares, strict=True)]
        for t, clip in clips:
            use = AudioUse(
                duration_s=round(clip.duration, 3),
                used_s=round(clip.duration, 3),
                policy=self.long_audio,
                max_seconds=self.max_seconds,
                windows=max(1, -(-int(clip.duration * 1000) // 30000)),
                segments=[(0.0, round(clip.duration, 3))],
            )
            outputs[t] = [
                ListenOutput(
                    prompt_id=row.prompt.prompt_id,
                    text=result.text,
                    elapsed_s=result.elapsed_s,
                    audio=use,
                    info=result.info,
                )
                for row, result in zip(rows, results, strict=True)
                if row.track == t
            ]
