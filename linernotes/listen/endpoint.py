"""The Hugging Face Inference Endpoint side: a custom handler that runs the transformers
backend, and :func:`write_endpoint_template`, which writes it out for deployment.

Inference Endpoints load ``handler.py`` from the model repository, build
``EndpointHandler(path)`` once with the repository's local folder, and call it per request with
``{"inputs": ..., "parameters": {...}}`` (a raw body sent as ``Content-Type: audio/*`` arrives as
``{"inputs": bytes}``, query parameters as ``parameters``); the return value is sent as JSON and
an exception becomes a 400 with ``{"error": ...}``. A body must hold ``inputs``, so the
linernotes client asks what the endpoint serves with ``{"inputs": "", "parameters":
{"describe": true}}``: the answer is the backend's identity (model id, revision, variant) and
audio cap, without running the model, so that the client's cache keys and long-track policy are
right from the first track.

The handler decodes the audio bytes to 16 kHz mono itself and runs the very code of the local
``transformers`` backend, so an endpoint answers exactly as ``--backend transformers`` would.
To make that true on the endpoint, the template carries a copy of the linernotes package.
Deploy: copy the written files into (a copy of) the model repository, e.g.
``nvidia/music-flamingo-2601-hf`` — non-commercial licence — and create the endpoint from it;
or set ``LINERNOTES_MODEL`` on the endpoint to load another hub id.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
from pathlib import Path
from typing import Any

from linernotes.fileio import StrPath
from linernotes.listen.backends.transformers_compat import TRANSFORMERS_SPEC
from linernotes.listen.prompts import GenerationParams, RenderedPrompt, adhoc_prompt
from linernotes.version import __version__

REQUIREMENTS = f"""\
# linernotes listen endpoint (torch comes with the Inference Endpoints image). The transformers
# floor is what the handler needs: `pip install -r` upgrades an older release already installed.
{TRANSFORMERS_SPEC}
accelerate>=1.0
peft>=0.18
numpy>=1.24
scipy>=1.10
av>=12
tinytag>=2.0
pydantic>=2.5
pydantic-settings>=2.7
tomli>=2; python_version < "3.11"
"""

HANDLER = '''\
"""Hugging Face Inference Endpoint handler: Audio Flamingo 3 / Music Flamingo through
linernotes' transformers backend. Written by `linernotes endpoint-template`.

The model weights this serves are licensed for non-commercial use only.
Settings (endpoint environment variables): LINERNOTES_MODEL (hub id or folder; default: this
repository), LINERNOTES_REVISION, LINERNOTES_LONG_AUDIO (truncate|window), LINERNOTES_BATCH_SIZE,
LINERNOTES_THINK (1 for Audio Flamingo 3's think adapter), LINERNOTES_DEVICE_MAP (auto: spread
over the GPUs), LINERNOTES_QUANTIZE (8bit|4bit; add bitsandbytes to requirements.txt).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the linernotes copy beside this file

from linernotes.listen.endpoint import answer, make_endpoint_backend  # noqa: E402


class EndpointHandler:
    def __init__(self, path=""):
        self.backend = make_endpoint_backend(os.environ.get("LINERNOTES_MODEL") or path)

    def __call__(self, data):
        return answer(self.backend, data)
'''


def make_endpoint_backend(model: str):
    """The transformers backend an endpoint serves, configured from its environment."""
    from linernotes.listen.backends.transformers import TransformersBackend

    return TransformersBackend(
        model,
        revision=os.environ.get("LINERNOTES_REVISION") or None,
        long_audio=os.environ.get("LINERNOTES_LONG_AUDIO", "truncate"),  # type: ignore[arg-type]
        batch_size=int(os.environ.get("LINERNOTES_BATCH_SIZE", "8")),
        think=os.environ.get("LINERNOTES_THINK", "") in ("1", "true", "yes"),
        device_map=os.environ.get("LINERNOTES_DEVICE_MAP") or None,
        quantize=os.environ.get("LINERNOTES_QUANTIZE") or None,  # type: ignore[arg-type]
    )


def audio_from_inputs(inputs: Any) -> bytes:
    """Audio bytes from a request's ``inputs``: raw bytes, base64 text (a ``data:`` URL too),
    or ``{"audio": base64}``."""
    if isinstance(inputs, dict):
        inputs = inputs.get("audio") or inputs.get("data")
    if isinstance(inputs, (bytes, bytearray)):
        return bytes(inputs)
    if isinstance(inputs, str):
        text = inputs.split(",", 1)[1] if inputs.startswith("data:") else inputs
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("inputs is not base64-encoded audio") from exc
    raise ValueError("inputs must be audio bytes or base64 text")


def prompts_from_parameters(parameters: dict[str, Any] | None) -> list[RenderedPrompt]:
    """Rendered prompts from ``parameters``: ``prompts`` (what the linernotes client sends)
    or a single ``prompt`` text (handy with a raw audio body and a query string)."""
    parameters = parameters or {}
    items = parameters.get("prompts")
    if items:
        return [
            RenderedPrompt(
                prompt_id=str(p["id"]),
                prompt_version=str(p.get("version", "1")),
                kind=p.get("kind", "text"),
                system=p.get("system"),
                text=str(p["text"]),
                generation=GenerationParams(**(p.get("generation") or {})),
            )
            for p in items
        ]
    text = parameters.get("prompt")
    if not text:
        raise ValueError("parameters must hold 'prompts' (a list) or 'prompt' (a text)")
    max_new = int(parameters.get("max_new_tokens", 512))
    return [adhoc_prompt(str(text), max_new_tokens=max_new).render()]


def identity(backend: Any) -> dict[str, Any]:
    """What the endpoint serves: the backend's identity and audio cap."""
    return {**backend.describe(), "max_seconds": backend.max_seconds, "linernotes": __version__}


def wants_identity(parameters: dict[str, Any] | None) -> bool:
    """Whether a request asks only what the endpoint serves (``describe``: true, or the text
    ``true``/``1`` of a query string)."""
    value = (parameters or {}).get("describe")
    return value is True or str(value).lower() in ("1", "true", "yes")


def answer(backend: Any, data: dict[str, Any]) -> dict[str, Any]:
    """One request: the endpoint's identity when asked for it; otherwise decode the audio,
    answer every prompt and return JSON-ready outputs beside the identity."""
    if wants_identity(data.get("parameters")):
        return identity(backend)
    audio = audio_from_inputs(data.get("inputs"))
    prompts = prompts_from_parameters(data.get("parameters"))
    outputs = backend.generate(audio, prompts)
    return {
        **identity(backend),
        "outputs": [
            {
                "prompt_id": o.prompt_id,
                "text": o.text,
                "elapsed_s": o.elapsed_s,
                "audio": o.audio.model_dump(mode="json"),
                "info": o.info,
            }
            for o in outputs
        ],
    }


def write_endpoint_template(out_dir: StrPath, *, vendor: bool = True) -> list[Path]:
    """Write ``handler.py``, ``requirements.txt`` and (``vendor``) a copy of the linernotes
    package to ``out_dir``; return the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "handler.py", out / "requirements.txt"]
    written[0].write_text(HANDLER, encoding="utf-8")
    written[1].write_text(REQUIREMENTS, encoding="utf-8")
    if vendor:
        package = Path(__file__).resolve().parents[1]
        target = out / "linernotes"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(
            package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "testing")
        )
        written.append(target)
    return written
