"""Listen-layer speed: seconds per track for one prompt and for five prompts on the same track.

Run by hand (not part of the test suite)::

    bench/listen                                   # tiny random AF3 + Music Flamingo, CPU
    bench/listen --seconds 60 --new-tokens 16 --repeats 7
    bench/listen --full-size-random                # GPU: published shapes, random bf16 weights
    bench/listen --full-size-random --scale 0.04   # the same code path, small enough for a CPU

Target: five prompts cost at most twice one prompt, because the audio is encoded once per track,
the prompt prefix the five share (system prompt, the audio) runs through the language model
once, and the five answers are decoded together as one batch. Rows, each against the
``1 prompt`` row measured in the same run:

* ``1 prompt``: the baseline, one prompt (``caption``) with the backend's defaults.
* ``5 prompts, default``: the backend's defaults (``batch_size=8``): one encoding, one prefill
  of the shared prefix, the five decoded together (the tests show the tokens equal batch size 1).
* ``5 prompts, one by one``: ``batch_size=1``: one encoding and one prefill, then
  transformers' own ``generate`` for each prompt in turn (the reference path).
* ``5 prompts, separate``: the model card's recipe, one ``generate`` per prompt from scratch
  (processor, encoder and prefill repeated): what the sharing saves.

Two length regimes: ``forced``, every prompt exactly ``--new-tokens`` new tokens
(``min_new_tokens = max_new_tokens``), so a row measures the sharing and not a random model's
early stop; and ``natural``, each prompt's own limits from the prompt library (a random model
rarely emits end-of-sequence, so these run to ``max_new_tokens``: 200, 120, 400, 1024, 300 for
the five, 200 for the baseline; the ratio then mostly says how long the longest answer is, so
this regime adds a ``longest alone`` row: the ``lyrics`` prompt by itself).
Timing: one warm-up of every row, then ``--repeats`` rounds in which every row runs once in
turn (load from other processes on a shared machine hits all rows alike); medians are printed,
with the spread in the JSON.

``--full-size-random`` builds Audio Flamingo 3 / Music Flamingo at the published shapes (a
Qwen2.5-7B text model, a Whisper-large-shaped encoder; about 8 B parameters) with random bf16
weights directly on the GPU, forces the new-token counts, and reports seconds per 3-minute
track for 1 and 5 prompts and tracks per hour for caption + quality (150 + 120 new tokens),
one track at a time and ``--tracks-per-batch`` tracks decoded together. ``--scale`` shrinks
every shape (heads, widths, layers; vocabulary kept) so that the same code path runs on a CPU
as a smoke test; its timings mean nothing.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIVE = ["caption", "genre_mood_inst", "technical", "lyrics", "quality"]
CAPTION_QUALITY = ["caption", "quality"]
BASELINE = "1 prompt"


def _track(seconds: float, seed: int = 0) -> np.ndarray:
    """A modulated tone with a little noise at 16 kHz (any audio costs the same)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    tone = 0.2 * np.sin(2 * np.pi * (220 + 20 * seed) * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    return (tone + 0.02 * rng.standard_normal(t.shape[0])).astype(np.float32)


def _forced(prompts: Sequence[Any], new_tokens: int | None) -> list[Any]:
    """The prompts with exactly ``new_tokens`` new tokens each (``None``: unchanged)."""
    if new_tokens is None:
        return list(prompts)
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


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


Tokens = list[list[int]]


def _time_rounds(modes: dict[str, Callable[[], Tokens]], repeats: int) -> dict[str, dict[str, Any]]:
    """Warm every mode up once, then run ``repeats`` rounds of every mode in turn.

    Each mode returns the new token ids of its answers: their counts show that the rows compare
    like with like, and the ids whether the faster paths answered exactly as the reference."""
    tokens = {}
    for name, fn in modes.items():
        tokens[name] = fn()
    times: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(repeats):
        for name, fn in modes.items():
            _sync()
            t0 = time.perf_counter()
            fn()
            _sync()
            times[name].append(time.perf_counter() - t0)
    return {
        name: {
            "median_s": round(statistics.median(times[name]), 4),
            "min_s": round(min(times[name]), 4),
            "max_s": round(max(times[name]), 4),
            "new_tokens": [len(t) for t in tokens[name]],
            "tokens": tokens[name],
        }
        for name in modes
    }


def _agreement(
    rows: dict[str, dict[str, Any]], reference: str, picks: dict[str, list[int]] | None = None
) -> None:
    """Mark every row with how many of its answers are token for token the reference row's:
    answer ``i`` against reference answer ``picks[row][i]`` (default: the same position, as
    many as both rows have). The tokens themselves, random-model noise, are dropped."""
    ref = rows[reference]["tokens"]
    key = "same_tokens_as_" + reference.split(", ")[-1].replace(" ", "_")
    for name, row in rows.items():
        mine = row.pop("tokens")
        theirs = [ref[i] for i in (picks or {}).get(name, range(min(len(mine), len(ref))))]
        same = sum(a == b for a, b in zip(mine, theirs, strict=False))
        row[key] = f"{same}/{len(theirs)}"


def _separate(backend: Any, audio: np.ndarray, prompts: Sequence[Any]) -> Tokens:
    """One model-card ``generate`` per prompt: processor, encoder and prefill repeated."""
    from linernotes.listen.synthetic import model_card_generate

    return [model_card_generate(backend, audio, prompt) for prompt in prompts]


def _backend(model: Any, processor: Any, name: str, **kwargs: Any) -> Any:
    """A transformers backend whose answers are their token ids (``"12 7 301"``)."""
    from linernotes.listen.synthetic import token_backend

    return token_backend(model, processor, name, **kwargs)


def _ids(outputs: Sequence[Any]) -> Tokens:
    return [[int(t) for t in o.text.split()] for o in outputs]


def _with_ratios(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    one = rows[BASELINE]["median_s"]
    for row in rows.values():
        row["ratio"] = round(row["median_s"] / one, 2)
    return rows


def one_vs_five(
    model: Any,
    processor: Any,
    name: str,
    audio: np.ndarray,
    prompts: list[Any],
    args: Any,
    longest: bool = False,
) -> dict[str, dict[str, Any]]:
    """The rows of the module docstring for one length regime; ``longest`` adds the prompt
    with the most new tokens alone (what five prompts decoded together cannot beat)."""
    default = _backend(model, processor, name)
    alone = _backend(model, processor, name, batch_size=1)
    modes: dict[str, Callable[[], Tokens]] = {
        BASELINE: lambda: _ids(default.generate(audio, prompts[:1])),
        "5 prompts, default": lambda: _ids(default.generate(audio, prompts)),
        "5 prompts, one by one": lambda: _ids(alone.generate(audio, prompts)),
    }
    if not args.skip_separate:
        modes["5 prompts, separate"] = lambda: _separate(default, audio, prompts)
    picks: dict[str, list[int]] = {}
    if longest:
        top = max(prompts, key=lambda p: p.generation.max_new_tokens)
        modes[f"longest alone ({top.prompt_id})"] = lambda: _ids(default.generate(audio, [top]))
        picks[f"longest alone ({top.prompt_id})"] = [prompts.index(top)]
    rows = _time_rounds(modes, args.repeats)
    _agreement(rows, "5 prompts, one by one", picks)
    return _with_ratios(rows)


def caption_quality(model: Any, processor: Any, name: str, args: Any) -> dict[str, Any]:
    """Seconds per track and tracks per hour for caption + quality at forced lengths."""
    from linernotes.listen.prompts import PromptLibrary

    library = PromptLibrary()
    prompts = _forced([library.get("caption").render()], args.caption_tokens) + _forced(
        [library.get("quality").render()], args.quality_tokens
    )
    n = args.tracks_per_batch
    tracks = [_track(args.seconds, seed) for seed in range(n)]
    default = _backend(model, processor, name)
    alone = _backend(model, processor, name, batch_size=1)
    across = _backend(model, processor, name, batch_size=2 * n)
    together = f"{n} tracks decoded together"
    rows = _time_rounds(
        {
            "one track, default": lambda: _ids(default.generate(tracks[0], prompts)),
            "one track, one by one": lambda: _ids(alone.generate(tracks[0], prompts)),
            # the first track's answers first, to compare with the one-track rows
            together: lambda: [
                t for outs in across.generate_many(tracks, prompts) for t in _ids(outs)
            ],
        },
        args.repeats,
    )
    _agreement(rows, "one track, one by one")
    for key, row in rows.items():
        per_track = row["median_s"] / (n if key.endswith("together") else 1)
        row["s_per_track"] = round(per_track, 3)
        row["tracks_per_hour"] = round(3600 / per_track, 1)
    return {
        "new_tokens": [args.caption_tokens, args.quality_tokens],
        "track_s": args.seconds,
        "rows": rows,
    }


def bench_family(family: str, args: Any, device: str, dtype: Any) -> dict[str, Any]:
    """Build one family's random model and time it."""
    from linernotes.listen import synthetic
    from linernotes.listen.prompts import PromptLibrary

    shapes: Any = "tiny"
    if args.full_size_random:
        shapes = synthetic.scaled(synthetic.FULL, args.scale)
    _sync()
    t0 = time.perf_counter()
    model, processor = synthetic.build_random_model(family, shapes, dtype=dtype, device=device)
    _sync()
    build_s = time.perf_counter() - t0
    size = "tiny" if shapes == "tiny" else "full" if args.scale == 1 else f"full x{args.scale:g}"
    name = f"random-{size.replace(' ', '')}-{family}"
    result: dict[str, Any] = {
        "family": family,
        "size": size,
        "shapes": None if shapes == "tiny" else shapes.__dict__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(model.dtype).replace("torch.", ""),
        "build_s": round(build_s, 2),
        "track_s": args.seconds,
    }
    five = [p.render() for p in PromptLibrary().select(FIVE)]
    audio = _track(args.seconds)
    result["forced"] = {
        "new_tokens": args.new_tokens,
        "rows": one_vs_five(model, processor, name, audio, _forced(five, args.new_tokens), args),
    }
    if not args.full_size_random and not args.skip_natural:
        result["natural"] = {
            "new_tokens": "each prompt's own limits",
            "rows": one_vs_five(model, processor, name, audio, five, args, longest=True),
        }
    if args.full_size_random:
        result["caption+quality"] = caption_quality(model, processor, name, args)
    del model
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
    return result


def print_family(result: dict[str, Any]) -> None:
    print(
        f"\n{result['family']} {result['size']} ({result['parameters'] / 1e6:.2f} M parameters,"
        f" {result['dtype']}), {result['track_s']:g} s track"
    )
    for regime in ("forced", "natural"):
        if regime not in result:
            continue
        block = result[regime]
        what = block["new_tokens"]
        label = f"every prompt {what} new tokens" if isinstance(what, int) else what
        print(f"  {regime} ({label}): seconds per track, median; ratio to '{BASELINE}'")
        for row, r in block["rows"].items():
            print(
                f"    {row:<24} {r['median_s']:8.3f} s   {r['ratio']:5.2f}x"
                f"   new tokens {r['new_tokens']}"
                f"   same tokens as one by one {r['same_tokens_as_one_by_one']}"
            )
    if "caption+quality" in result:
        cq = result["caption+quality"]
        print(f"  caption+quality ({cq['new_tokens']} new tokens), {cq['track_s']:g} s tracks:")
        for row, r in cq["rows"].items():
            print(
                f"    {row:<28} {r['s_per_track']:8.3f} s/track"
                f"   {r['tracks_per_hour']:9.1f} tracks/hour"
                f"   same tokens as one by one {r['same_tokens_as_one_by_one']}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/listen", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=None, help="track length (s)")
    parser.add_argument("--new-tokens", type=int, default=None, help="forced new tokens")
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (median)")
    parser.add_argument("--families", default=None, help="af3,mf (full size: mf)")
    parser.add_argument("--skip-natural", action="store_true", help="forced lengths only")
    parser.add_argument("--skip-separate", action="store_true", help="no model-card row")
    parser.add_argument("--full-size-random", action="store_true")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="with --full-size-random: shrink the published shapes (e.g. 0.04) to smoke-test"
        " the same code path on a CPU",
    )
    parser.add_argument("--caption-tokens", type=int, default=150)
    parser.add_argument("--quality-tokens", type=int, default=120)
    parser.add_argument("--tracks-per-batch", type=int, default=8)
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
    if args.full_size_random and not cuda and args.scale >= 1:
        print(
            "bench/listen: --full-size-random at full scale needs a CUDA GPU (about 17 GB for the"
            " bf16 weights); here there is none. Add e.g. --scale 0.04 to smoke-test the same"
            " code path at a small size on the CPU (timings not meaningful).",
            file=sys.stderr,
        )
        return 2
    full = args.full_size_random
    args.seconds = args.seconds or (180.0 if full else 30.0)
    args.new_tokens = args.new_tokens or (64 if full else 32)
    families = (args.families or ("mf" if full else "af3,mf")).split(",")
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if full else torch.float32
    smoke = full and not cuda
    print(
        f"{'full-size-random' if full else 'tiny'} models on {device}"
        f"{f' at scale {args.scale:g}' if full and args.scale < 1 else ''},"
        f" {args.seconds:g} s track, median of {args.repeats} rounds after a warm-up"
        f"{' (smoke test: timings not meaningful)' if smoke else ''}"
    )
    results = []
    for family in families:
        result = bench_family(family.strip(), args, device, dtype)
        results.append(result)
        print_family(result)
    worst = max(r["forced"]["rows"]["5 prompts, default"]["ratio"] for r in results)
    print(f"\ntarget 5 prompts <= 2x one prompt (forced lengths, default mode): worst {worst:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps({"env": env, "results": results}, indent=2))
    default = (args.seconds, args.new_tokens, args.repeats, args.threads) == (30.0, 32, 5, 1)
    if full or not default or sorted(families) != ["af3", "mf"]:
        return 0  # not the recorded run
    from recorded import check

    return check(
        "listen",
        {
            f"{r['family']}_five_prompts_vs_one": r["forced"]["rows"]["5 prompts, default"]["ratio"]
            for r in results
        },
    )


if __name__ == "__main__":
    sys.exit(main())
