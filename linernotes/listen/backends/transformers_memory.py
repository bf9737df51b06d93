"""How many prompt rows fit on the device: the key/value cache a row needs, the memory free
for it, and the batch that fits.

Decoding a row keeps, for every layer of the language model, a key and a value vector per
key/value head for every token so far: ``layers x kv_heads x head_dim x 2 x bytes`` per token.
Audio dominates the count: 25 tokens per second, so a 20-minute track is 30,000 tokens before
the prompt's own and the answer's; for the published Music Flamingo (Qwen2.5-7B: 28 layers,
4 key/value heads of 128) in bfloat16 that is 57,344 bytes a token, about 1.8 GB a row. A
batch of eight such rows would need about 14 GB beside the weights, so the batch is sized from
the memory that is actually free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: Audio tokens per second of audio (750 per 30 s window).
AUDIO_TOKENS_PER_SECOND = 25
#: Share of the free device memory the decoding batch may use (the rest is left for the
#: activations of a step and the allocator's fragmentation).
FREE_MEMORY_SHARE = 0.9


def text_config(config: Any) -> Any:
    """The language model's configuration inside an AF3 / Music Flamingo configuration."""
    return getattr(config, "text_config", None) or config


def kv_bytes_per_token(config: Any, dtype_bytes: int) -> int:
    """Bytes of key/value cache one token takes in every layer of the language model.

    >>> from types import SimpleNamespace
    >>> qwen7b = SimpleNamespace(num_hidden_layers=28, num_attention_heads=28,
    ...                          num_key_value_heads=4, hidden_size=3584)
    >>> kv_bytes_per_token(qwen7b, 2)
    57344
    """
    text = text_config(config)
    heads = int(text.num_attention_heads)
    kv_heads = int(getattr(text, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(text, "head_dim", None) or text.hidden_size // heads)
    return int(text.num_hidden_layers) * kv_heads * head_dim * 2 * int(dtype_bytes)


def kv_cache_bytes(config: Any, tokens: int, dtype_bytes: int) -> int:
    """Bytes of key/value cache for ``tokens`` tokens of one row."""
    return kv_bytes_per_token(config, dtype_bytes) * int(tokens)


def free_device_bytes(device: Any) -> int | None:
    """Free memory of a CUDA device in bytes; ``None`` elsewhere (no limit is assumed)."""
    import torch

    dev = torch.device(device)
    if dev.type != "cuda" or not torch.cuda.is_available():
        return None
    free, _total = torch.cuda.mem_get_info(dev)
    return int(free)


def decoding_budget(device: Any, kv_budget_bytes: int | None = None) -> int | None:
    """Bytes the key/value caches of a decoding batch may take: ``kv_budget_bytes`` when
    given, else :data:`FREE_MEMORY_SHARE` of a CUDA device's free memory, else no cap."""
    if kv_budget_bytes is not None:
        return int(kv_budget_bytes)
    free = free_device_bytes(device)
    return None if free is None else int(free * FREE_MEMORY_SHARE)


def model_kv_bytes_per_token(model: Any) -> int:
    """:func:`kv_bytes_per_token` of a loaded model, in the dtype it computes in."""
    import torch

    return kv_bytes_per_token(model.config, torch.finfo(model.dtype).bits // 8)


def batch_fits(
    row_tokens: Sequence[int], new_tokens: int, bytes_per_token: int, budget: int
) -> bool:
    """Whether rows of these prompt lengths can be decoded together within ``budget`` bytes.

    The rows are padded on the left to the longest, each grows by up to ``new_tokens``, and
    while the batch is assembled one more row's cache is alive beside it.

    >>> batch_fits([100, 120], 30, 1000, budget=3 * 150 * 1000)
    True
    >>> batch_fits([100, 120, 90], 30, 1000, budget=3 * 150 * 1000)
    False
    """
    if not row_tokens:
        return True
    width = max(row_tokens) + int(new_tokens)
    return (len(row_tokens) + 1) * width * bytes_per_token <= budget


def estimated_row_tokens(duration_s: float, prompt_tokens: int, new_tokens: int) -> int:
    """Tokens a row about a clip of ``duration_s`` seconds may reach: its audio placeholders
    (25 a second), the prompt's text and the answer."""
    return math.ceil(duration_s * AUDIO_TOKENS_PER_SECOND) + int(prompt_tokens) + int(new_tokens)
