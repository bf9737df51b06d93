"""Run Audio Flamingo 3 or Music Flamingo in this process with Hugging Face transformers.

Loads a hub id or a local folder with ``AutoProcessor`` + ``AutoModelForSeq2SeqLM`` (the only
auto classes these models map to): ``nvidia/audio-flamingo-3-hf`` and the Music Flamingo
preview (``audioflamingo3``), ``nvidia/music-flamingo-2601-hf`` and its think variant
(``musicflamingo``, transformers >= 5.5). All of these weights are licensed for
**non-commercial use only**.

Device and dtype: CUDA in bfloat16 when available (float16 on GPUs without bf16), otherwise the
CPU in float32; the audio features are cast to the model's dtype (a bf16 model otherwise fails
with "Input type (float) and bias type (c10::BFloat16)"). A model loads once per process.

Several prompts on one track pay for the audio once. The track's mel features are computed
once and its audio embeddings (encoder + projector) once; then, by default, the tokens every
prompt shares (system prompt, user turn header, the audio placeholders) are run through the
language model once and their key/value cache is reused for each prompt, which only adds its
own question. This is exact: it gives the same tokens as one ``generate`` per prompt (tested).
With ``batch_size > 1`` the prompts (and, through :meth:`TransformersBackend.generate_many`,
several tracks) are instead decoded together in left-padded batches from precomputed
embeddings: faster on a GPU, and used only because the tests show it matches batch size 1.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import threading
import time
from collections.abc import Sequence
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
    it); ``long_audio`` says what happens past the cap; ``batch_size > 1`` decodes prompts
    (and, with :meth:`generate_many`, tracks) in left-padded batches.
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
        batch_size: int = 1,
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
            return self.processor.tokenizer(expanded, return_tensors="pt")["input_ids"][0]

        if not torch.equal(tokenize(texts[0]), ids0):  # pragma: no cover - defensive
            ids = [self.processor(text=t, audio=clip.samples)["input_ids"][0] for t in texts]
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
            if self.batch_size > 1:
                rows = [(audio_embeds, i, p) for i, p in zip(ids, prompts, strict=True)]
                results = self._generate_batched(rows)
            else:
                results = self._generate_shared_prefix(audio_embeds, ids, prompts)
        share = shared_s / len(prompts)
        for res in results:
            res.elapsed_s = round(res.elapsed_s + share, 4)
            res.info["audio_encodings"] = 1
        return results

    def _generate_shared_prefix(
        self, audio_embeds: Any, ids: list[Any], prompts: Sequence[RenderedPrompt]
    ) -> list[Generation]:
        """Prefill the tokens the prompts share once, then decode each prompt from a copy of
        that cache (same tokens as separate ``generate`` calls)."""
        import torch
        from transformers import DynamicCache

        results: list[Generation | None] = [None] * len(prompts)
        for members in _prefix_groups(ids, self.audio_token_id):
            t0 = time.perf_counter()
            length = _common_prefix(ids[m] for m in members)
            prefix = ids[members[0]][:length]
            with torch.inference_mode():
                cache = DynamicCache(config=self.model.config)
                self.model(
                    inputs_embeds=self._embed(prefix, audio_embeds),
                    attention_mask=torch.ones(1, length, dtype=torch.long, device=self.device),
                    past_key_values=cache,
                    use_cache=True,
                    logits_to_keep=1,
                )
            prefill_s = (time.perf_counter() - t0) / len(members)
            for m in members:
                t1 = time.perf_counter()
                full = ids[m].to(self.device)[None]
                params = prompts[m].generation
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                with torch.inference_mode():
                    out = self.model.generate(
                        input_ids=full,
                        attention_mask=torch.ones_like(full),
                        past_key_values=copy.deepcopy(cache),
                        generation_config=self._generation_config(params),
                    )
                new = out[0, full.shape[1] :]
                results[m] = Generation(
                    text=self._decode(new),
                    elapsed_s=time.perf_counter() - t1 + prefill_s,
                    info={
                        "prompt_tokens": int(full.shape[1]),
                        "shared_prefix_tokens": int(length),
                        "new_tokens": int(new.shape[0]),
                    },
                )
        return [r for r in results if r is not None]

    def _generate_batched(self, rows: list[tuple[Any, Any, RenderedPrompt]]) -> list[Generation]:
        """Decode rows (audio embeddings, token ids, prompt) in left-padded batches of
        ``batch_size`` rows with the same generation parameters."""
        import torch

        results: list[Generation | None] = [None] * len(rows)
        by_params: dict[str, list[int]] = {}
        for i, (_, _, prompt) in enumerate(rows):
            key = json.dumps(prompt.generation.as_dict(), sort_keys=True)
            by_params.setdefault(key, []).append(i)
        pad_id = self.processor.tokenizer.pad_token_id
        for members in by_params.values():
            for start in range(0, len(members), self.batch_size):
                chunk = members[start : start + self.batch_size]
                t0 = time.perf_counter()
                with torch.inference_mode():
                    embeds = [self._embed(rows[i][1], rows[i][0])[0] for i in chunk]
                    width = max(e.shape[0] for e in embeds)
                    pad_vec = self.model.get_input_embeddings()(
                        torch.tensor([pad_id], device=self.device)
                    )[0]
                    batch = torch.stack(
                        [torch.cat([pad_vec.expand(width - e.shape[0], -1), e]) for e in embeds]
                    )
                    mask = torch.stack(
                        [
                            torch.cat(
                                [
                                    torch.zeros(width - e.shape[0], dtype=torch.long),
                                    torch.ones(e.shape[0], dtype=torch.long),
                                ]
                            )
                            for e in embeds
                        ]
                    ).to(self.device)
                    # the ids ride along so that logits processors (repetition penalty) see
                    # the prompt exactly as in an unbatched call
                    input_ids = torch.stack(
                        [
                            torch.cat(
                                [torch.full((width - rows[i][1].shape[0],), pad_id), rows[i][1]]
                            )
                            for i in chunk
                        ]
                    ).to(self.device)
                    params = rows[chunk[0]][2].generation
                    if params.seed is not None:
                        torch.manual_seed(params.seed)
                    out = self.model.generate(
                        input_ids=input_ids,
                        inputs_embeds=batch,
                        attention_mask=mask,
                        generation_config=self._generation_config(params),
                    )
                    out = out[:, width:] if out.shape[1] > width else out
                elapsed = (time.perf_counter() - t0) / len(chunk)
                for row, i in enumerate(chunk):
                    tokens = _strip_after_eos(out[row], self.model.generation_config.eos_token_id)
                    results[i] = Generation(
                        text=self._decode(tokens),
                        elapsed_s=elapsed,
                        info={
                            "prompt_tokens": int(embeds[row].shape[0]),
                            "new_tokens": int(tokens.shape[0]),
                            "batch_rows": len(chunk),
                        },
                    )
        return [r for r in results if r is not None]

    def generate_many(
        self,
        tracks: Sequence[AudioInput],
        prompts: Sequence[RenderedPrompt] | Sequence[Sequence[RenderedPrompt]],
    ) -> list[list[ListenOutput]]:
        """Answer prompts about several tracks. With ``batch_size > 1`` the rows of all the
        tracks within the cap are decoded together; otherwise one track after another."""
        per_track: list[Sequence[RenderedPrompt]] = (
            [list(prompts)] * len(tracks)  # type: ignore[list-item]
            if prompts and isinstance(prompts[0], RenderedPrompt)
            else list(prompts)  # type: ignore[arg-type]
        )
        if self.batch_size <= 1 or len(tracks) <= 1:
            return [self.generate(t, p) for t, p in zip(tracks, per_track, strict=True)]
        return self._generate_many_batched(tracks, per_track)

    def _generate_many_batched(
        self, tracks: Sequence[AudioInput], per_track: list[Sequence[RenderedPrompt]]
    ) -> list[list[ListenOutput]]:
        from linernotes.listen.audio import load_clip
        from linernotes.listen.backends.base import AudioUse

        clips = [load_clip(t, max_seconds=self.max_seconds + 1.0) for t in tracks]
        long = [c.duration > self.max_seconds + 1e-6 for c in clips]
        outputs: list[list[ListenOutput] | None] = [None] * len(tracks)
        rows: list[tuple[Any, Any, RenderedPrompt]] = []
        owners: list[tuple[int, float]] = []
        with self._lock:
            for t, (clip, prompts) in enumerate(zip(clips, per_track, strict=True)):
                if long[t] or not prompts:
                    continue
                t0 = time.perf_counter()
                features, ids = self._prepare(clip, prompts)
                embeds = self._audio_embeds(features, ids[0])
                share = (time.perf_counter() - t0) / len(prompts)
                for i, p in zip(ids, prompts, strict=True):
                    rows.append((embeds, i, p))
                    owners.append((t, share))
            results = self._generate_batched(rows) if rows else []
        grouped: dict[int, list[Generation]] = {}
        for (t, share), res in zip(owners, results, strict=True):
            res.elapsed_s = round(res.elapsed_s + share, 4)
            res.info["audio_encodings"] = 1
            grouped.setdefault(t, []).append(res)
        for t, clip in enumerate(clips):
            if long[t]:
                outputs[t] = self.generate(tracks[t], per_track[t])
                continue
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
                    prompt_id=p.prompt_id,
                    text=g.text,
                    elapsed_s=g.elapsed_s,
                    audio=use,
                    info=g.info,
                )
                for p, g in zip(per_track[t], grouped.get(t, []), strict=True)
            ]
        return [o or [] for o in outputs]


def _strip_after_eos(tokens: Any, eos: int | list[int] | None) -> Any:
    """Cut a batch row at its first end-of-sequence token (shorter rows are padded after)."""
    if eos is None:
        return tokens
    eos_ids = eos if isinstance(eos, list) else [eos]
    for pos, tok in enumerate(tokens.tolist()):
        if tok in eos_ids:
            return tokens[:pos]
    return tokens


def _common_prefix(seqs: Any) -> int:
    """Length of the longest common prefix, leaving at least one own token per sequence."""
    seqs = list(seqs)
    limit = min(int(s.shape[0]) for s in seqs) - 1
    first = seqs[0]
    length = 0
    while length < limit and all(int(s[length]) == int(first[length]) for s in seqs[1:]):
        length += 1
    return length


def _prefix_groups(ids: list[Any], audio_token_id: int) -> list[list[int]]:
    """Prompts that share everything up to the end of the audio placeholders (the same
    system prompt) form one group; each group is prefilled once."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, seq in enumerate(ids):
        positions = (seq == audio_token_id).nonzero()
        end = int(positions[-1]) + 1 if len(positions) else int(seq.shape[0]) - 1
        end = min(end, int(seq.shape[0]) - 1)
        groups.setdefault(tuple(int(x) for x in seq[:end]), []).append(i)
    return list(groups.values())


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
