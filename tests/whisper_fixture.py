"""A tiny randomly initialised Whisper in faster-whisper's format, built offline.

A multilingual Whisper vocabulary (50257 byte-level tokens, then ``<|endoftext|>``,
``<|startoftranscript|>``, the 99 language tokens, the task and control tokens and 1501
timestamps: 51865 in all, the size CTranslate2 takes as multilingual) is made with the
``tokenizers`` library, a ``WhisperConfig`` with small dimensions gets random weights, and
CTranslate2's own converter turns the saved model into the folder faster-whisper loads. No
weights are downloaded; the model transcribes nothing meaningful, but it runs the real
loading, voice-activity filtering, language detection and decoding path.
"""

from __future__ import annotations

import json
from pathlib import Path

N_TEXT_TOKENS = 50257
CONTROL = ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
           "<|nocaptions|>", "<|notimestamps|>"]  # fmt: skip


#: Whisper's language tokens in their vocabulary order (ids 50259..50357).
LANGUAGES = """en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu
ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl
mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt
haw ln ha ba jw su""".split()  # noqa: SIM905


def _language_codes() -> tuple[str, ...]:
    return tuple(LANGUAGES)


def _tokenizer(folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    for i in range(len(vocab), N_TEXT_TOKENS):
        vocab[f"tok{i}"] = i
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|startoftranscript|>",
                *[f"<|{code}|>" for code in _language_codes()], *CONTROL]  # fmt: skip
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    tok.add_special_tokens(specials + timestamps)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=specials[1:],
    )
    fast.save_pretrained(folder)


def build_tiny_whisper(folder: Path) -> Path:
    """Write the CTranslate2 model folder under ``folder`` and return it."""
    import torch
    from ctranslate2.converters import TransformersConverter
    from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration

    source = folder / "hf"
    _tokenizer(source)
    vocab_size = N_TEXT_TOKENS + 2 + 99 + len(CONTROL) + 1501
    config = WhisperConfig(
        vocab_size=vocab_size, num_mel_bins=80, d_model=64, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
        decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=448,
        pad_token_id=50257, bos_token_id=50257, eos_token_id=50257,
        decoder_start_token_id=50258, suppress_tokens=[], begin_suppress_tokens=[220, 50257],
    )  # fmt: skip
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    codes = _language_codes()
    model.generation_config.lang_to_id = {f"<|{c}|>": 50259 + i for i, c in enumerate(codes)}
    model.save_pretrained(source)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(source)
    out = folder / "ct2"
    TransformersConverter(str(source), copy_files=["tokenizer.json", "preprocessor_config.json"],
                          low_cpu_mem_usage=False).convert(str(out), force=True)  # fmt: skip
    # The converter reads the language ids from the generation config, which this
    # transformers release does not carry through loading: write them as it would.
    ct2_config = json.loads((out / "config.json").read_text())
    if not ct2_config.get("lang_ids"):
        ct2_config["lang_ids"] = sorted(model.generation_config.lang_to_id.values())
        (out / "config.json").write_text(json.dumps(ct2_config))
    return out
