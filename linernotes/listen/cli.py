"""Command-line pieces of the listen layer, for ``linernotes.cli`` to mount.

:func:`add_listen_options` adds the ``--listen`` family of options to ``analyze`` (and to
``listen``); :func:`settings_from_args` turns them into :class:`ListenSettings` (command line
over environment over ``.env`` over ``linernotes.toml``); :func:`cmd_listen` and
:func:`cmd_endpoint_template` implement the ``listen`` and ``endpoint-template`` commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

LICENCE_NOTE = (
    "Music Flamingo and Audio Flamingo 3 weights are licensed for non-commercial use only."
)


def add_listen_options(parser: argparse.ArgumentParser, *, with_switch: bool = True) -> None:
    """The options shared by ``analyze --listen`` and ``listen``."""
    group = parser.add_argument_group("listening (audio-language model)", LICENCE_NOTE)
    if with_switch:
        group.add_argument(
            "--listen", action="store_true", help="also describe tracks with the audio model"
        )
    group.add_argument(
        "--backend",
        choices=("transformers", "openai", "hf-endpoint", "cpu"),
        help="where the model runs: in this process (transformers), a server (openai,"
        " hf-endpoint), or cpu: musicnn tags + faster-whisper lyrics, no GPU (default: cpu"
        " unless a GPU, --model, --base-url or --endpoint-url says otherwise)",
    )
    group.add_argument(
        "--lyrics-model",
        help="CPU listener: faster-whisper size or hub id (default small), a local"
        " CTranslate2 folder, or none",
    )
    group.add_argument(
        "--tagger",
        action="store_true",
        default=None,
        help="also run the CPU tagger beside a model backend (its caption fills gaps only)",
    )
    group.add_argument(
        "--model",
        help="hub id or local folder (default nvidia/music-flamingo-2601-hf;"
        " also nvidia/audio-flamingo-3-hf), or the model name a server serves",
    )
    group.add_argument("--revision", help="model revision (hub commit or tag)")
    group.add_argument("--prompts", help="comma-separated prompt names (see --list-prompts)")
    group.add_argument(
        "--prompts-dir", action="append", type=Path, help="a folder of your own prompt files"
    )
    group.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://gpu-box:8000/v1")
    group.add_argument("--endpoint-url", help="Hugging Face Inference Endpoint URL (HF_TOKEN)")
    group.add_argument(
        "--long-audio",
        choices=("truncate", "window"),
        help="past the model's cap (10 min AF3, 20 min MF): truncate (recorded) or window"
        " the track and merge (default truncate)",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        help="transformers: most prompt rows decoded together (default 8; 1: one prompt at a"
        " time, the reference path)",
    )
    group.add_argument("--device", help="cuda, cpu, cuda:1 ... (default: auto)")
    group.add_argument(
        "--device-map",
        help='transformers: "auto" spreads a model too large for one GPU over the GPUs and the CPU',
    )
    group.add_argument(
        "--quantize",
        choices=("8bit", "4bit"),
        help="transformers: load the language model in 8 or 4 bits (needs bitsandbytes)",
    )
    group.add_argument(
        "--kv-cache-gb",
        type=float,
        help="transformers: most memory for a decoding batch's key/value cache (default: 90 %%"
        " of the free GPU memory)",
    )
    group.add_argument(
        "--think",
        action="store_true",
        default=None,
        help="reasoning mode (AF3 think adapter; needs peft)",
    )
    group.add_argument(
        "--no-context",
        dest="give_context",
        action="store_false",
        default=None,
        help="do not tell the model the measured BPM/key/meter",
    )
    group.add_argument("--max-new-tokens", type=int, help="cap every prompt's answer length")


def settings_from_args(args: argparse.Namespace) -> Any:
    """:class:`ListenSettings` with the command line on top."""
    from linernotes.listen.settings import ListenSettings

    return ListenSettings.load(
        backend=getattr(args, "backend", None),
        model=getattr(args, "model", None),
        revision=getattr(args, "revision", None),
        prompts=getattr(args, "prompts", None),
        prompts_dir=getattr(args, "prompts_dir", None),
        base_url=getattr(args, "base_url", None),
        endpoint_url=getattr(args, "endpoint_url", None),
        long_audio=getattr(args, "long_audio", None),
        batch_size=getattr(args, "batch_size", None),
        device=getattr(args, "device", None),
        device_map=getattr(args, "device_map", None),
        quantize=getattr(args, "quantize", None),
        kv_cache_gb=getattr(args, "kv_cache_gb", None),
        think=getattr(args, "think", None),
        give_context=getattr(args, "give_context", None),
        max_new_tokens=getattr(args, "max_new_tokens", None),
        lyrics_model=getattr(args, "lyrics_model", None),
        tagger=getattr(args, "tagger", None),
    )


def selected_prompts(settings: Any, questions: list[str] | None = None) -> list[Any]:
    """The settings' prompts (answer length capped if asked), or one-off questions."""
    from linernotes.listen.prompts import PromptLibrary, adhoc_prompt

    if questions:
        prompts = [adhoc_prompt(q) for q in questions]
    else:
        prompts = PromptLibrary(settings.prompts_dir).select(settings.prompts)
    if settings.max_new_tokens:
        prompts = [
            p.model_copy(
                update={"generation": p.generation.merged(max_new_tokens=settings.max_new_tokens)}
            )
            for p in prompts
        ]
    return prompts


def build_listen_parser(sub: Any) -> argparse.ArgumentParser:
    """``linernotes listen FILE [--prompt TEXT] ...``"""
    listen = sub.add_parser(
        "listen",
        help="ask the audio model about one track",
        description="Ask the audio-language model about a track: the library prompts, or your"
        " own question with --prompt. " + LICENCE_NOTE,
    )
    listen.add_argument("file", nargs="?", help="an audio file")
    listen.add_argument(
        "--prompt", action="append", help="your own question (repeatable); replaces --prompts"
    )
    listen.add_argument("--json", action="store_true", help="print the section as JSON")
    listen.add_argument("--list-prompts", action="store_true", help="list the prompt library")
    add_listen_options(listen, with_switch=False)
    return listen


def build_endpoint_parser(sub: Any) -> argparse.ArgumentParser:
    """``linernotes endpoint-template DIR``"""
    parser = sub.add_parser(
        "endpoint-template",
        help="write handler.py + requirements.txt for a Hugging Face Inference Endpoint",
        description="Write a custom Inference Endpoint handler that runs linernotes'"
        " transformers backend (copy the files into the model repository). " + LICENCE_NOTE,
    )
    parser.add_argument("dir", help="output folder")
    parser.add_argument(
        "--no-vendor",
        dest="vendor",
        action="store_false",
        help="do not copy the linernotes package beside handler.py",
    )
    return parser


def cmd_listen(args: argparse.Namespace) -> int:
    """Run the prompts on one file and print the answers."""
    from linernotes.errors import LinernotesError
    from linernotes.listen.backends import make_backend
    from linernotes.listen.prompts import PromptLibrary
    from linernotes.listen.track import listen_to_track

    settings = settings_from_args(args)
    if args.list_prompts:
        library = PromptLibrary(settings.prompts_dir)
        for name in library.names():
            prompt = library.get(name)
            print(f"{name:<18} v{prompt.version:<4} {prompt.kind:<7} {prompt.description}")
        return 0
    if not args.file:
        print("linernotes listen: give an audio file (or --list-prompts)", file=sys.stderr)
        return 2
    try:
        from linernotes.listen.choose import check_reachable, resolve_backend

        name = resolve_backend(settings)
        if name == "cpu":
            if args.prompt:
                print("linernotes: questions need an audio-language model (--base-url,"
                      " --endpoint-url or --model); the CPU listener only tags", file=sys.stderr)
                return 2
            from linernotes.listen.cpu.report import listen_on_cpu

            return listen_on_cpu(args.file, settings.lyrics_model, as_json=args.json)
        check_reachable(settings, name)
        backend = make_backend(settings.model_copy(update={"backend": name}))
        section = listen_to_track(args.file, backend, selected_prompts(settings, args.prompt))
    except LinernotesError as exc:
        print(f"linernotes: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(section.model_dump_json(indent=2))
        return 0
    for name, entry in section.entries.items():
        print(f"== {name} ({entry.model_id}, {entry.elapsed_s:.1f} s)")
        if entry.parsed and entry.kind != "text":
            print(json.dumps(entry.parsed, indent=2, ensure_ascii=False))
        else:
            print(section.text(name) or "")
        if entry.parse_error:
            print(f"(could not parse: {entry.parse_error}; raw text above)")
        if entry.audio.truncated:
            print(f"(heard the first {entry.audio.used_s:.0f} s of {entry.audio.duration_s:.0f} s)")
    return 0


def cmd_endpoint_template(args: argparse.Namespace) -> int:
    from linernotes.listen.endpoint import write_endpoint_template

    for path in write_endpoint_template(args.dir, vendor=args.vendor):
        print(path)
    print(LICENCE_NOTE, file=sys.stderr)
    return 0
