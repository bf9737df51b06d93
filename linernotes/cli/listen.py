"""``listen`` and ``endpoint-template``, and the ``--listen`` options of ``analyze``.

:func:`add_listen_options` adds the ``--listen`` family of options to ``analyze`` (and to
``listen``); :func:`settings_from_args` turns them into :class:`ListenSettings` (command line
over environment over ``.env`` over ``linernotes.toml``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from linernotes.cli.options import CliError, add_command, add_json, fail

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


#: The options that set a :class:`ListenSettings` field of the same name.
SETTING_OPTIONS = ("backend", "model", "revision", "prompts", "prompts_dir", "base_url",
                   "endpoint_url", "long_audio", "batch_size", "device", "device_map", "quantize",
                   "kv_cache_gb", "think", "give_context", "max_new_tokens", "lyrics_model",
                   "tagger")  # fmt: skip


def settings_from_args(args: argparse.Namespace) -> Any:
    """:class:`ListenSettings` with the command line on top."""
    from linernotes.listen.settings import ListenSettings

    return ListenSettings.load(**{name: getattr(args, name, None) for name in SETTING_OPTIONS})


def register(sub: Any) -> None:
    listen = add_command(sub, cmd_listen, LICENCE_NOTE)
    listen.add_argument("file", nargs="?", help="an audio file")
    listen.add_argument(
        "--prompt", action="append", help="your own question (repeatable); replaces --prompts"
    )
    add_json(listen, "the section")
    listen.add_argument("--list-prompts", action="store_true", help="list the prompt library")
    add_listen_options(listen, with_switch=False)

    endpoint = add_command(sub, cmd_endpoint_template, LICENCE_NOTE)
    endpoint.add_argument("dir", help="output folder")
    endpoint.add_argument(
        "--no-vendor",
        dest="vendor",
        action="store_false",
        help="do not copy the linernotes package beside handler.py",
    )


def cmd_listen(args: argparse.Namespace) -> int:
    """Ask the audio model about one track.

    Ask the audio-language model about a track: the library prompts, or your own question
    with --prompt.
    """
    from linernotes.errors import LinernotesError
    from linernotes.listen.backends import make_backend
    from linernotes.listen.choose import resolve_backend, selected_prompts
    from linernotes.listen.prompts import PromptLibrary
    from linernotes.listen.reach import check_reachable
    from linernotes.listen.track import listen_to_track

    settings = settings_from_args(args)
    if args.list_prompts:
        library = PromptLibrary(settings.prompts_dir)
        if args.json:
            print(json.dumps({n: library.get(n).model_dump(mode="json") for n in library.names()},
                             indent=2, ensure_ascii=False))  # fmt: skip
            return 0
        for name in library.names():
            prompt = library.get(name)
            print(f"{name:<18} v{prompt.version:<4} {prompt.kind:<7} {prompt.description}")
        return 0
    if not args.file:
        raise CliError("listen: give an audio file (or --list-prompts)")
    try:
        name = resolve_backend(settings)
        if name == "cpu":
            if args.prompt:
                raise CliError(
                    "questions need an audio-language model (--base-url,"
                    " --endpoint-url or --model); the CPU listener only tags"
                )
            return _listen_on_cpu(Path(args.file), settings.lyrics_model, as_json=args.json)
        check_reachable(settings, name)
        backend = make_backend(settings.model_copy(update={"backend": name}))
        section = listen_to_track(args.file, backend, selected_prompts(settings, args.prompt))
    except LinernotesError as exc:
        return fail(str(exc))
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


def _listen_on_cpu(path: Path, lyrics_model: str | None, *, as_json: bool) -> int:
    """Measure ``path``, run the CPU listener on it and print what it heard."""
    from linernotes.listen.cpu.listener import CpuListener
    from linernotes.listen.cpu.report import format_section
    from linernotes.pipeline import analyze_file

    section = CpuListener(lyrics_model).describe_track(path, analyze_file(path))
    print(section.model_dump_json(indent=2) if as_json else format_section(section))
    return 0


def cmd_endpoint_template(args: argparse.Namespace) -> int:
    """Write handler.py + requirements.txt for a Hugging Face Inference Endpoint.

    Write a custom Inference Endpoint handler that runs linernotes' transformers backend
    (copy the files into the model repository).
    """
    from linernotes.listen.endpoint import write_endpoint_template

    for path in write_endpoint_template(args.dir, vendor=args.vendor):
        print(path)
    print(LICENCE_NOTE, file=sys.stderr)
    return 0
