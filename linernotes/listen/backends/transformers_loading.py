"""Loading Audio Flamingo 3 or Music Flamingo for the in-process backend.

A hub id or a local folder loads with ``AutoProcessor`` + ``AutoModelForSeq2SeqLM`` (the only
auto classes these models map to), once per process. The weights go straight to where they
run, in the dtype they run in (``device_map``: one device, or ``"auto"`` to spread a model that
does not fit one GPU over the GPUs and the CPU), never whole into CPU memory first; with
bitsandbytes installed the language model can be loaded in 8 or 4 bits (the audio encoder,
its projector and the output layer stay in the compute dtype).

Audio Flamingo 3's think mode ships in the checkpoint's ``think/`` folder as a LoRA plus
``non_lora_trainables.bin``, the other weights its training changed. As the public loaders do,
those weights are loaded first (``load_state_dict(strict=False)``), then the LoRA, which is
merged into the weights (kept apart on a quantized model, where merging would round it away).
Weights named as in the hub checkpoint's layout (``audio_tower.*``, ``language_model.*``) are
matched to the model's modules; a file none of whose weights match is an error, never a
silent no-op.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import Any, Literal

from linernotes.errors import ListenError
from linernotes.listen.backends.transformers_compat import (
    TRANSFORMERS_SPEC,
    check_transformers_version,
)

Quantization = Literal["8bit", "4bit"]
#: Modules kept in the compute dtype when the language model is quantized.
UNQUANTIZED_MODULES = ["audio_tower", "multi_modal_projector", "lm_head"]
#: The hub checkpoints' weight names and the modules they load into (the renaming
#: transformers applies when it loads the checkpoint itself).
HUB_LAYOUT = (
    ("language_model.lm_head.", "lm_head."),
    ("language_model.model.", "model.language_model."),
    ("language_model.", "model.language_model."),
    ("audio_tower.", "model.audio_tower."),
    ("multi_modal_projector.", "model.multi_modal_projector."),
)

_LOADED: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()
log = logging.getLogger(__name__)


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


def _require(module: str, why: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ListenError(f"{why} needs {module}: pip install {module}")


def loading_kwargs(
    device: str, dtype: Any, device_map: str | None = None, quantize: Quantization | None = None
) -> dict[str, Any]:
    """The ``from_pretrained`` arguments that put the weights where they run: ``device_map``
    (the device itself unless one is given, e.g. ``"auto"``), the dtype, and a bitsandbytes
    configuration for 8- or 4-bit loading (a clear error when bitsandbytes is missing)."""
    _require("accelerate", "loading the weights onto their device")
    kwargs: dict[str, Any] = {"dtype": dtype, "device_map": device_map or device}
    if quantize:
        if quantize not in ("8bit", "4bit"):
            raise ListenError(f"quantization must be 8bit or 4bit, not {quantize!r}")
        _require("bitsandbytes", f"{quantize} loading")
        from transformers import BitsAndBytesConfig

        if quantize == "8bit":
            config = BitsAndBytesConfig(
                load_in_8bit=True, llm_int8_skip_modules=UNQUANTIZED_MODULES
            )
        else:
            config = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_compute_dtype=dtype,
                llm_int8_skip_modules=UNQUANTIZED_MODULES,
            )
        kwargs["quantization_config"] = config
    return kwargs


def load_model(
    model_id: str,
    *,
    revision: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    think: bool = False,
    token: str | None = None,
    device_map: str | None = None,
    quantize: Quantization | None = None,
) -> tuple[Any, Any]:
    """``(model, processor)`` for a hub id or a local folder, loaded once per process.

    ``device_map`` (e.g. ``"auto"``) overrides ``device`` for placing the weights;
    ``quantize`` loads the language model in ``"8bit"`` or ``"4bit"`` (needs bitsandbytes);
    ``think`` applies Audio Flamingo 3's think adapter (needs peft).
    """
    dev = pick_device(device)
    torch_dtype = pick_dtype(dev, dtype)
    key = (model_id, revision, dev, str(torch_dtype), think, device_map, quantize)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            from transformers import AutoModelForSeq2SeqLM, AutoProcessor
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ListenError(
                f"the transformers backend needs torch and {TRANSFORMERS_SPEC}:"
                " pip install 'linernotes[listen]'"
            ) from exc
        check_transformers_version()
        kwargs = loading_kwargs(dev, torch_dtype, device_map, quantize)
        try:
            processor = AutoProcessor.from_pretrained(model_id, revision=revision, token=token)
            model = AutoModelForSeq2SeqLM.from_pretrained(
                model_id, revision=revision, token=token, **kwargs
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ListenError(f"cannot load model {model_id!r}: {exc}") from exc
        model.eval()
        if think:
            model = apply_think_adapter(model, model_id, revision, token, merge=quantize is None)
        _LOADED[key] = (model, processor)
        return model, processor


def think_folder(model_id: str, revision: str | None, token: str | None) -> Path:
    """The checkpoint's ``think/`` folder, downloaded from the hub when ``model_id`` is not a
    local folder."""
    local = Path(model_id)
    if local.is_dir():
        return local / "think"
    try:
        from huggingface_hub import snapshot_download

        root = snapshot_download(
            model_id, revision=revision, token=token, allow_patterns=["think/*"]
        )
    except Exception as exc:  # the hub client raises many kinds; all mean "not available"
        raise ListenError(f"cannot fetch the think adapter of {model_id!r}: {exc}") from exc
    return Path(root) / "think"


def match_weight_names(names: list[str], model_names: set[str]) -> dict[str, str]:
    """``{name in the file: name in the model}`` for the file's weights that the model has,
    as named or in the hub checkpoint's layout (:data:`HUB_LAYOUT`).

    >>> match_weight_names(["multi_modal_projector.linear_1.weight", "x.y"],
    ...                    {"model.multi_modal_projector.linear_1.weight"})
    {'multi_modal_projector.linear_1.weight': 'model.multi_modal_projector.linear_1.weight'}
    """
    found: dict[str, str] = {}
    for name in names:
        candidates = [name] + [
            target + name[len(source) :] for source, target in HUB_LAYOUT if name.startswith(source)
        ]
        match = next((c for c in candidates if c in model_names), None)
        if match is not None:
            found[name] = match
    return found


def load_extra_weights(model: Any, path: Path) -> int:
    """Load ``non_lora_trainables.bin`` into ``model`` (``load_state_dict(strict=False)``
    after matching the names); return how many tensors were applied."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file: pickle and zip raise many kinds
        raise ListenError(f"{path}: cannot read the think weights: {exc}") from exc
    if not isinstance(state, dict) or not state:
        raise ListenError(f"{path}: holds no weights")
    names = match_weight_names(list(state), set(model.state_dict()))
    if not names:
        raise ListenError(
            f"{path}: none of its {len(state)} weights (e.g. {next(iter(state))!r}) match the"
            " model's; the think adapter would be half applied"
        )
    unmatched = [name for name in state if name not in names]
    if unmatched:
        log.warning("%s: %d weights match no module and are ignored: %s", path,
                    len(unmatched), ", ".join(unmatched[:5]))  # fmt: skip
    renamed = {names[name]: tensor for name, tensor in state.items() if name in names}
    result = model.load_state_dict(renamed, strict=False)
    return len(renamed) - len(result.unexpected_keys)


def apply_think_adapter(
    model: Any, model_id: str, revision: str | None, token: str | None, *, merge: bool = True
) -> Any:
    """Audio Flamingo 3 with its think weights and LoRA applied (see the module docstring);
    Music Flamingo's think variant is a checkpoint of its own and is returned as it is."""
    if model.config.model_type != "audioflamingo3":
        return model
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ListenError(
            "Audio Flamingo 3 think mode needs peft: pip install 'linernotes[listen]'"
        ) from exc
    folder = think_folder(model_id, revision, token)
    extra = folder / "non_lora_trainables.bin"
    if extra.is_file():
        applied = load_extra_weights(model, extra)
        log.info("think: %d weights from %s", applied, extra)
    else:
        log.warning("%s is missing: only the think LoRA is applied", extra)
    try:
        adapted = PeftModel.from_pretrained(model, str(folder))
    except (OSError, ValueError) as exc:
        raise ListenError(f"cannot load the think adapter of {model_id!r}: {exc}") from exc
    return (adapted.merge_and_unload() if merge else adapted).eval()


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
