"""Demucs models by name, from the package's usual source or a local folder, with a signature
of their weights.

``load_separator("htdemucs")`` calls ``demucs.pretrained.get_model`` exactly as the
``demucs`` command does: named models come from the Hugging Face hub (``adefossez/HTDemucs``,
cached in the Hugging Face cache), falling back to Demucs' legacy remote repo (cached by
``torch.hub``). With ``model_dir`` (Demucs' ``--repo`` layout: ``<signature>-<checksum>.th``
model files and ``<name>.yaml`` bags listing their signatures) nothing is downloaded, for
machines without internet. Only ``demucs.pretrained``, ``demucs.apply`` and the model classes
are imported: no torchaudio, no Demucs audio I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linernotes.errors import LinernotesError

#: The models offered by name (any other name Demucs or ``--model-dir`` knows also loads).
MODELS: dict[str, str] = {
    "htdemucs": "Hybrid Transformer Demucs: drums, bass, other, vocals (default)",
    "htdemucs_ft": "htdemucs fine-tuned per source: a bag of 4 models, 4x slower, a little better",
    "htdemucs_6s": "6 sources: drums, bass, other, vocals, guitar, piano",
}
DEFAULT_MODEL = "htdemucs"
INSTALL_HINT = (
    "stem separation needs Demucs: pip install -e '.[separate]' && "
    "pip install --no-deps 'demucs==4.1.0'"
)


class SeparationError(LinernotesError):
    """The separator cannot be set up (package missing, model not found)."""


@dataclass
class Separator:
    """A loaded Demucs model (or bag of models) ready to separate segments.

    ``version`` names the weights: the first 12 hex digits of the SHA-256 of every parameter
    and buffer (and bag weight), whatever source the model came from.
    """

    name: str
    model: Any
    device: str
    version: str

    @property
    def sources(self) -> list[str]:
        return list(self.model.sources)

    @property
    def samplerate(self) -> int:
        return int(self.model.samplerate)

    @property
    def channels(self) -> int:
        return int(self.model.audio_channels)

    @property
    def segment_s(self) -> float:
        """Seconds per segment: the shortest training segment of the bag's models."""
        segment = getattr(self.model, "max_allowed_segment", None)
        if segment is None or not np.isfinite(float(segment)):
            segment = getattr(self.model, "segment", 10.0)
        return float(segment)

    def __call__(self, segments: np.ndarray) -> np.ndarray:
        """(batch, channels, n) -> (batch, sources, channels, n), through ``apply_model``."""
        import torch
        from demucs.apply import apply_model

        with torch.no_grad():
            mix = torch.from_numpy(np.ascontiguousarray(segments, dtype=np.float32))
            out = apply_model(self.model, mix, shifts=0, split=False, device=self.device)
        return out.detach().to("cpu").numpy()


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without one fails."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SeparationError("--device cuda: no CUDA device is visible to torch")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise SeparationError(f"--device {device!r}: choose cpu, cuda or auto")
    return device


def weights_signature(model: Any) -> str:
    """First 12 hex digits of the SHA-256 of a model's state (names, shapes and values, in
    name order) and, for a bag, its per-source weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        data = tensor.detach().to("cpu")
        data = (data.float() if data.dtype.is_floating_point else data.long()).contiguous()
        digest.update(str(tuple(data.shape)).encode())
        digest.update(data.numpy().tobytes())
    digest.update(repr(getattr(model, "weights", None)).encode())
    return digest.hexdigest()[:12]


def load_separator(
    name: str = DEFAULT_MODEL, *, model_dir: str | Path | None = None, device: str = "auto"
) -> Separator:
    """Load ``name`` with Demucs' own loader (see the module docstring).

    Raises
    ------
    SeparationError
        Demucs is not installed, ``model_dir`` is not a folder, or the model cannot be found
        or downloaded (with what to do about it).
    """
    try:
        from demucs.pretrained import get_model
    except ImportError as exc:
        raise SeparationError(f"{INSTALL_HINT} ({exc})") from exc
    repo = Path(model_dir).expanduser() if model_dir else None
    if repo is not None and not repo.is_dir():
        raise SeparationError(f"--model-dir {repo}: not a folder")
    where = f"in {repo}" if repo else "from the Hugging Face hub or Demucs' remote repo"
    try:
        model = get_model(name, repo=repo)
    except SystemExit as exc:  # demucs' fatal() exits
        raise SeparationError(f"cannot load model {name!r} {where}: {exc}") from exc
    except Exception as exc:
        hint = (
            "" if repo else "; without internet, pass --model-dir FOLDER holding the model "
            "(Demucs' --repo layout: <signature>-<checksum>.th files and <name>.yaml)"
        )
        raise SeparationError(
            f"cannot load model {name!r} {where}: {type(exc).__name__}: {exc}{hint}"
        ) from exc
    resolved = resolve_device(device)
    model.to(resolved)
    model.eval()
    return Separator(name=name, model=model, device=resolved, version=weights_signature(model))


def save_to_repo(folder: str | Path, name: str, models: list[tuple[str, Any]]) -> Path:
    """Store ``models`` (``(signature, model)`` pairs, each built by a Demucs model class)
    as Demucs stores its pretrained models, so ``--model-dir folder`` loads them as ``name``:
    ``<signature>-<checksum>.th`` (the class, its arguments and half-precision state, as
    ``demucs.states.serialize_model`` writes them, checksummed as ``save_with_checksum``
    names them) and ``<name>.yaml`` listing the signatures. Returns the folder.
    """
    import io

    import torch
    from demucs.states import get_state

    repo = Path(folder)
    repo.mkdir(parents=True, exist_ok=True)
    for signature, model in models:
        args, kwargs = model._init_args_kwargs
        package = {"klass": type(model), "args": args, "kwargs": kwargs,
                   "state": get_state(model, None, half=True)}  # fmt: skip
        buffer = io.BytesIO()
        torch.save(package, buffer)
        checksum = hashlib.sha256(buffer.getvalue()).hexdigest()[:8]
        for old in repo.glob(f"{signature}-*.th"):
            old.unlink()
        (repo / f"{signature}-{checksum}.th").write_bytes(buffer.getvalue())
    signatures = ", ".join(repr(signature) for signature, _ in models)
    (repo / f"{name}.yaml").write_text(f"models: [{signatures}]\n")
    return repo
