"""Listen-layer speed: seconds per track for one prompt and for five prompts on the same track.

Run by hand (not part of the test suite)::

    bench/listen                       # tiny random AF3 + Music Flamingo on the CPU
    bench/listen --seconds 60 --new-tokens 16 --repeats 5
    bench/listen --full-size-random    # GPU only: published shapes, random bf16 weights

Target: five prompts cost at most twice one prompt, because the audio is encoded once per
track (and, in the default mode, the shared prompt prefix with the audio is run through the
language model once). Rows:

* ``1 prompt``: one prompt on the track.
* ``5 prompts, separate``: the model card's recipe, one ``generate`` per prompt (processor,
  encoder and prefill repeated): what the sharing saves.
* ``5 prompts, shared prefix``: the backend's default (exact: same tokens as separate calls).
* ``5 prompts, batched``: ``batch_size=5``, the five prompts decoded as one left-padded batch
  from one audio encoding (matches batch size 1 in the tests).

Every prompt is forced to exactly ``--new-tokens`` new tokens (``min_new_tokens`` =
``max_new_tokens``), so a random model's early stop cannot flatter a row; times are medians of
``--repeats`` runs after a warm-up.

``--full-size-random`` builds Audio Flamingo 3 / Music Flamingo at the published shapes (a
Qwen2.5-7B text model, a Whisper-large-shaped encoder; about 8 B parameters) with random bf16
weights directly on the GPU and reports seconds per 3-minute track and tracks per hour for
caption + quality at realistic answer lengths. On a machine without CUDA it refuses, unless
``--cpu-reduced-check`` asks for a one-layer float32 build at the real widths that checks the
shapes and code path (its timings mean nothing).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIVE = ["caption", "genre_mood_inst", "technical", "lyrics", "quality"]


def _track(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    tone = 0.2 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    return (tone + 0.02 * rng.standard_normal(t.shape[0])).astype(np.float32)


def _forced(prompts, new_tokens: int):
    return [
        p.model_copy(
            update={
                "generation": p.generation.merged(
                    max_new_tokens=new_tokens, min_new_tokens=new_tokens
                )
            }
        )
        for p in prompts
    ]


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _separate(backend, audio, prompts) -> None:
    """One model-card ``generate`` per prompt: nothing shared."""
    for prompt in prompts:
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
        backend.model.generate(
            **inputs, generation_config=backend._generation_config(prompt.generation)
        )


def bench_family(family: str, size: str, args, device: str, dtype) -> dict:
    from linernotes.listen.backends.transformers import TransformersBackend
    from linernotes.listen.prompts import PromptLibrary
    from linernotes.listen.synthetic import build_random_model

    t0 = time.perf_counter()
    model, processor = build_random_model(family, size, dtype=dtype, device=device)
    build_s = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    name = f"random-{size}-{family}"
    single = TransformersBackend.from_loaded(model, processor, name)
    batched = TransformersBackend.from_loaded(model, processor, name, batch_size=len(FIVE))
    library = PromptLibrary()
    five = _forced([p.render() for p in library.select(FIVE)], args.new_tokens)
    audio = _track(args.seconds)
    rows = {
        "1 prompt": _median_time(lambda: single.generate(audio, five[:1]), args.repeats),
        "5 prompts, separate": _median_time(lambda: _separate(single, audio, five), args.repeats),
        "5 prompts, shared prefix": _median_time(
            lambda: single.generate(audio, five), args.repeats
        ),
        "5 prompts, batched": _median_time(lambda: batched.generate(audio, five), args.repeats),
    }
    result = {
        "family": family,
        "size": size,
        "parameters": params,
        "build_s": round(build_s, 2),
        "seconds_per_track": {k: round(v, 3) for k, v in rows.items()},
    }
    one = rows["1 prompt"]
    result["ratio_vs_1_prompt"] = {k: round(v / one, 2) for k, v in rows.items()}
    if size == "full" and device.startswith("cuda"):
        cq = _forced([library.get("caption").render()], args.caption_tokens) + _forced(
            [library.get("quality").render()], args.quality_tokens
        )
        shared = _median_time(lambda: single.generate(audio, cq), args.repeats)
        both = _median_time(lambda: batched.generate(audio, cq), args.repeats)
        result["caption+quality"] = {
            "new_tokens": [args.caption_tokens, args.quality_tokens],
            "shared_prefix_s_per_track": round(shared, 2),
            "batched_s_per_track": round(both, 2),
            "tracks_per_hour_shared_prefix": round(3600 / shared, 1),
            "tracks_per_hour_batched": round(3600 / both, 1),
        }
    return result


def reduced_cpu_check(args) -> dict:
    """Full widths, one layer each, float32 on the CPU: shapes and code path only."""
    import torch

    from linernotes.listen import synthetic
    from linernotes.listen.backends.transformers import TransformersBackend
    from linernotes.listen.prompts import PromptLibrary

    shapes = synthetic.FULL
    reduced = synthetic.Shapes(
        shapes.vocab_size,
        shapes.hidden_size,
        shapes.intermediate_size,
        1,
        shapes.num_attention_heads,
        shapes.num_key_value_heads,
        shapes.enc_hidden_size,
        1,
        shapes.enc_heads,
        shapes.enc_ffn,
    )
    processor = synthetic.build_processor("mf")
    config = synthetic.build_config("mf", reduced, processor.tokenizer)
    from transformers import MusicFlamingoForConditionalGeneration

    t0 = time.perf_counter()
    model = MusicFlamingoForConditionalGeneration(config).eval()
    build_s = time.perf_counter() - t0
    model.generation_config.eos_token_id = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    backend = TransformersBackend.from_loaded(model, processor, "random-full-width-1-layer-mf")
    prompts = _forced([p.render() for p in PromptLibrary().select("caption,quality")], 4)
    t0 = time.perf_counter()
    with torch.inference_mode():
        outputs = backend.generate(_track(30.0), prompts)
    return {
        "mode": "cpu-reduced-check (timings not meaningful)",
        "parameters": sum(p.numel() for p in model.parameters()),
        "build_s": round(build_s, 1),
        "generate_s": round(time.perf_counter() - t0, 1),
        "new_tokens": [o.info["new_tokens"] for o in outputs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/listen", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=None, help="track length (s)")
    parser.add_argument("--new-tokens", type=int, default=None, help="forced new tokens")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--families", default="af3,mf")
    parser.add_argument("--full-size-random", action="store_true")
    parser.add_argument("--cpu-reduced-check", action="store_true")
    parser.add_argument("--caption-tokens", type=int, default=150)
    parser.add_argument("--quality-tokens", type=int, default=120)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for torch (default 1: stable timings on a shared machine)",
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import torch
    import transformers

    cuda = torch.cuda.is_available()
    torch.set_num_threads(max(1, args.threads))
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": torch.cuda.get_device_name(0)
        if cuda
        else f"cpu ({torch.get_num_threads()} threads)",
    }
    print(json.dumps(env))
    results: list[dict] = []
    if args.full_size_random and not cuda:
        if not args.cpu_reduced_check:
            print(
                "bench/listen: --full-size-random needs a CUDA GPU (about 17 GB for the bf16"
                " weights); here there is none. Add --cpu-reduced-check for a one-layer shape"
                " check at the real widths (timings not meaningful).",
                file=sys.stderr,
            )
            return 2
        results.append(reduced_cpu_check(args))
        print(json.dumps(results[-1]))
    else:
        size = "full" if args.full_size_random else "tiny"
        args.seconds = args.seconds or (180.0 if size == "full" else 30.0)
        args.new_tokens = args.new_tokens or (64 if size == "full" else 32)
        device = "cuda" if cuda else "cpu"
        dtype = torch.bfloat16 if size == "full" else torch.float32
        print(
            f"{size} random models on {device}, {args.seconds:g} s track, "
            f"{args.new_tokens} forced new tokens per prompt, median of {args.repeats}"
        )
        for family in args.families.split(","):
            result = bench_family(family.strip(), size, args, device, dtype)
            results.append(result)
            print(f"\n{family} ({result['parameters'] / 1e6:.2f} M parameters)")
            for row, secs in result["seconds_per_track"].items():
                ratio = result["ratio_vs_1_prompt"][row]
                print(f"  {row:<26} {secs:8.3f} s/track   {ratio:5.2f}x one prompt")
            if "caption+quality" in result:
                print("  caption+quality:", json.dumps(result["caption+quality"]))
            if cuda:
                torch.cuda.empty_cache()
        best = min(
            min(
                r["ratio_vs_1_prompt"]["5 prompts, shared prefix"],
                r["ratio_vs_1_prompt"]["5 prompts, batched"],
            )
            for r in results
        )
        print(f"\ntarget 5 prompts <= 2x one prompt: best mode {best:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
