"""Randomly initialised Audio Flamingo 3 and Music Flamingo models, built offline.

The real checkpoints cannot be downloaded everywhere linernotes is developed or tested, yet the
code that loads and runs them must be exercised for real: the processor, the chat template,
``save_pretrained``/``from_pretrained`` by path and ``generate``. These builders make a model of
the same classes with random weights: ``tiny`` (a few hundred thousand parameters, for tests and
the CPU benchmark) or ``full`` (the published shapes: a Qwen2.5-7B text model and a
Whisper-large-shaped encoder, for timing on a GPU with the real compute cost). The tokenizer is
a small byte-level BPE trained here, carrying the special tokens the processors need.

Random weights produce meaningless text; only the code paths and the cost are real.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Family = Literal["af3", "mf"]
Size = Literal["tiny", "full"]

AF3_SYSTEM = "You are a helpful assistant."
MF_SYSTEM = (
    "You are Music Flamingo, a multimodal assistant for language and music. On each turn you"
    " receive an audio clip which contains music and optional text, you will receive at least"
    " one or both; use your world knowledge and reasoning to help the user with any task."
    " Interpret the entirety of the content any input music--regardlenss of whether the user"
    " calls it audio, music, or sound."
)
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<sound>",
    "<|sound_bos|>",
    "<|sound_eos|>",
]

# Qwen-style template with the models' behaviour: the default system prompt unless one is given,
# every audio part as one <sound> placeholder before the user's text.
_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "<|im_start|>system{{ '\\n' }}__SYSTEM__<|im_end|>{{ '\\n' }}"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "<|im_start|>{{ message['role'] }}{{ '\\n' }}"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}"
    "{%- for part in message['content'] if part['type'] == 'audio' -%}<sound>{%- endfor -%}"
    "{%- for part in message['content'] if part['type'] == 'text' -%}{{ part['text'] }}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "<|im_end|>{{ '\\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_start|>assistant{{ '\\n' }}{%- endif -%}"
)

_CORPUS = [
    "Describe this track in detail: its genre, style, instruments, mood and vocals.",
    "An upbeat pop song with bright synthesizers, punchy drums, a warm bass and female vocals.",
    "A slow, melancholic piano ballad in A minor at around 70 BPM, in 3/4 time, with strings.",
    "Energetic electronic dance music at 128 BPM, a four-on-the-floor kick, side-chained pads.",
    "Acoustic guitar, upright bass, brushed drums; relaxed jazz trio, instrumental, no vocals.",
    '{"genre": "rock", "tempo": "fast", "key": "E major", "instruments": "guitar, drums, bass",',
    ' "production_style": "live", "mood": "energetic", "content_usefulness": 0.8,',
    ' "production_quality": 0.75, "content_enjoyment": 0.7, "production_complexity": 0.5,',
    ' "overall_recommendation_score": 0.72}',
    "[Verse 1] [Chorus] [Bridge] [Outro] [Instrumental] la la la oh yeah",
    "The quick brown fox jumps over the lazy dog. 0123456789 ()[]{}<>:;,.!?'\"-_/#&%+=*",
]


@dataclass(frozen=True)
class Shapes:
    """Widths and depths of the text model and the audio encoder."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    enc_hidden_size: int
    enc_layers: int
    enc_heads: int
    enc_ffn: int


#: A few hundred thousand parameters: seconds to build and run on a laptop CPU.
TINY = Shapes(512, 64, 128, 2, 4, 2, 64, 2, 4, 128)
#: The published shapes: Qwen2.5-7B text model, Whisper-large-shaped encoder (about 8.3 B).
FULL = Shapes(152064, 3584, 18944, 28, 28, 4, 1280, 32, 20, 5120)


def scaled(shapes: Shapes, scale: float) -> Shapes:
    """``shapes`` narrowed and shortened by ``scale`` (0 < scale <= 1): fewer attention heads
    of the same size, narrower feed-forward layers, fewer layers (at least one of each), the
    same vocabulary. The benchmark uses it to run the full-size code path at a size a CPU can
    smoke-test; ``scale=1`` returns ``shapes`` unchanged."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], not {scale}")
    if scale == 1:
        return shapes
    head = shapes.hidden_size // shapes.num_attention_heads
    kv = max(1, round(shapes.num_key_value_heads * scale))
    heads = max(kv, round(shapes.num_attention_heads * scale) // kv * kv)
    enc_head = shapes.enc_hidden_size // shapes.enc_heads
    enc_heads = max(1, round(shapes.enc_heads * scale))
    return Shapes(
        vocab_size=shapes.vocab_size,
        hidden_size=heads * head,
        intermediate_size=max(8, round(shapes.intermediate_size * scale)),
        num_hidden_layers=max(1, round(shapes.num_hidden_layers * scale)),
        num_attention_heads=heads,
        num_key_value_heads=kv,
        enc_hidden_size=enc_heads * enc_head,
        enc_layers=max(1, round(shapes.enc_layers * scale)),
        enc_heads=enc_heads,
        enc_ffn=max(8, round(shapes.enc_ffn * scale)),
    )


def build_tokenizer(vocab_size: int = 400):
    """A byte-level BPE tokenizer with the chat and audio special tokens, as transformers'
    ``PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
    )


def build_processor(family: Family):
    """The real processor class of the family around the small tokenizer and a Whisper
    feature extractor (128 mel bins, 30 s windows), with the family's chat template."""
    from transformers import WhisperFeatureExtractor

    tokenizer = build_tokenizer()
    system = MF_SYSTEM if family == "mf" else AF3_SYSTEM
    tokenizer.chat_template = _CHAT_TEMPLATE.replace("__SYSTEM__", system)
    extractor = WhisperFeatureExtractor(feature_size=128, return_attention_mask=True)
    if family == "mf":
        from transformers import MusicFlamingoProcessor

        return MusicFlamingoProcessor(
            extractor, tokenizer, chat_template=tokenizer.chat_template, max_audio_len=1200
        )
    from transformers import AudioFlamingo3Processor

    return AudioFlamingo3Processor(
        extractor, tokenizer, chat_template=tokenizer.chat_template, max_audio_len=600
    )


def build_config(family: Family, shapes: Shapes, tokenizer) -> Any:
    """The model configuration of the family at the given shapes, wired to the tokenizer's
    special-token ids."""
    from transformers import AudioFlamingo3EncoderConfig, Qwen2Config

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text = Qwen2Config(
        vocab_size=shapes.vocab_size,
        hidden_size=shapes.hidden_size,
        intermediate_size=shapes.intermediate_size,
        num_hidden_layers=shapes.num_hidden_layers,
        num_attention_heads=shapes.num_attention_heads,
        num_key_value_heads=shapes.num_key_value_heads,
        max_position_embeddings=32768,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=False,
    )
    audio = AudioFlamingo3EncoderConfig(
        num_mel_bins=128,
        hidden_size=shapes.enc_hidden_size,
        num_hidden_layers=shapes.enc_layers,
        num_attention_heads=shapes.enc_heads,
        intermediate_size=shapes.enc_ffn,
        max_source_positions=1500,
    )
    common: dict[str, Any] = {
        "audio_config": audio,
        "text_config": text,
        "audio_token_id": ids["<sound>"],
        # as in the published checkpoints (Qwen2.5-7B has its own output layer); some
        # transformers releases tie them by default for AF3
        "tie_word_embeddings": False,
    }
    if family == "mf":
        from transformers import MusicFlamingoConfig

        return MusicFlamingoConfig(
            **common,
            audio_bos_token_id=ids["<|sound_bos|>"],
            audio_eos_token_id=ids["<|sound_eos|>"],
        )
    from transformers import AudioFlamingo3Config

    return AudioFlamingo3Config(**common)


def build_random_model(
    family: Family,
    size: Size | Shapes = "tiny",
    *,
    dtype: Any = None,
    device: Any = None,
    seed: int = 0,
):
    """Return ``(model, processor)`` with random weights, in eval mode.

    ``size`` is ``"tiny"``, ``"full"`` or explicit :class:`Shapes` (e.g. :func:`scaled`).
    ``device`` (e.g. ``"cuda"``) builds the weights there directly, which matters at full size
    (about 16 GB in bf16); ``dtype`` defaults to float32.
    """
    import torch
    from transformers import AudioFlamingo3ForConditionalGeneration, GenerationConfig

    processor = build_processor(family)
    shapes = size if isinstance(size, Shapes) else TINY if size == "tiny" else FULL
    config = build_config(family, shapes, processor.tokenizer)
    torch.manual_seed(seed)
    if family == "mf":
        from transformers import MusicFlamingoForConditionalGeneration as cls
    else:
        cls = AudioFlamingo3ForConditionalGeneration
    dtype = dtype or torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device or "cpu"):
            model = cls(config)
    finally:
        torch.set_default_dtype(previous)
    model.eval()
    eos = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    pad = processor.tokenizer.pad_token_id
    if family == "mf":  # MF-2601 ships greedy decoding, 2048 new tokens at most
        model.generation_config = GenerationConfig(
            do_sample=False, max_new_tokens=2048, eos_token_id=eos, pad_token_id=pad
        )
    else:  # AF3's published defaults sample
        model.generation_config = GenerationConfig(
            do_sample=True,
            temperature=0.7,
            top_p=0.8,
            top_k=20,
            repetition_penalty=1.05,
            max_new_tokens=1024,
            eos_token_id=eos,
            pad_token_id=pad,
        )
    return model, processor


def save_random_model(family: Family, out_dir: str | Path, *, seed: int = 0) -> Path:
    """Build a tiny random model and save model and processor to ``out_dir``, where it loads
    exactly as a downloaded checkpoint folder does."""
    out = Path(out_dir)
    model, processor = build_random_model(family, "tiny", seed=seed)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def model_card_generate(backend: Any, audio: Any, prompt: Any) -> list[int]:
    """The new token ids of the model card's recipe: one conversation, one ``generate``.

    ``backend`` is a loaded ``TransformersBackend``, ``prompt`` a listen prompt. The reference
    that the tests and ``bench/listen`` compare the backend's shared-prefix paths with: the
    processor, encoder and prefill repeated for every prompt.
    """
    conversation = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": prompt.text},
                {"type": "audio", "audio": audio},
            ],
        }
    ]
    inputs = backend.processor.apply_chat_template(
        conversation, tokenize=True, add_generation_prompt=True, return_dict=True
    ).to(backend.device, dtype=backend.model.dtype)
    out = backend.model.generate(
        **inputs, generation_config=backend._generation_config(prompt.generation)
    )
    return out[0, inputs["input_ids"].shape[1] :].tolist()


def token_backend(model: Any, processor: Any, name: str = "tiny", **kwargs: Any) -> Any:
    """A ``TransformersBackend`` whose answers are their new token ids (``"12 7 301"``):
    random weights make meaningless text, and ids compare paths token for token rather than
    through the tokenizer's decoding."""
    from linernotes.listen.backends.transformers import TransformersBackend

    backend = TransformersBackend.from_loaded(model, processor, name, **kwargs)
    backend._decode = lambda tokens: " ".join(str(t) for t in tokens.tolist())
    return backend
