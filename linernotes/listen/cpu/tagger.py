"""musicnn on onnxruntime: tag probabilities for every 3 s patch of a track.

The two shipped models (converted once by ``scripts/convert_musicnn.py`` from the ISC-licensed
checkpoints in musicnn's wheel, proven equal to TensorFlow's outputs within 1e-4) read the
same log-mel patches (:mod:`.frontend`); each answers 50 sigmoid probabilities per patch. The
track's probability of a tag is the mean over its patches, as musicnn's own examples average
the taggram.

Examples
--------
>>> import numpy as np
>>> tagger = MusicnnTagger()
>>> y = np.random.default_rng(0).uniform(-0.1, 0.1, SAMPLE_RATE * 7).astype(np.float32)
>>> gram = tagger.taggram(y)
>>> gram.probabilities["mtt"].shape, gram.starts_s.tolist()
((3, 50), [0.0, 2.992, 4.016])
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from linernotes.errors import LinernotesError
from linernotes.listen.cpu.frontend import (
    HOP,
    PATCH_FRAMES,
    SAMPLE_RATE,
    frames_to_seconds,
    log_mel,
    patch_frames,
)

WEIGHTS_DIR = Path(__file__).with_name("weights")
#: The shipped models: short name -> ONNX file.
MODEL_FILES = {"mtt": "musicnn_mtt.onnx", "msd": "musicnn_msd.onnx"}
#: Patches sent to onnxruntime at once.
BATCH_PATCHES = 16
PATCH_SECONDS = PATCH_FRAMES * HOP / SAMPLE_RATE


class TaggerError(LinernotesError):
    """The tagger cannot run (onnxruntime missing, a weights file unreadable)."""


@dataclass
class Taggram:
    """Per-patch probabilities of every model: ``probabilities[model]`` is
    ``(patches, labels)``, patch ``i`` covering ``starts_s[i]`` to ``starts_s[i] + 2.99 s``."""

    starts_s: np.ndarray
    probabilities: dict[str, np.ndarray]
    labels: dict[str, list[str]]
    duration_s: float

    @property
    def ends_s(self) -> np.ndarray:
        return np.minimum(self.starts_s + PATCH_SECONDS, max(self.duration_s, PATCH_SECONDS))

    def mean(self) -> dict[str, np.ndarray]:
        """The track's probabilities: each model's mean over its patches."""
        return {name: probs.mean(axis=0) for name, probs in self.probabilities.items()}


class OnnxModel:
    """One ONNX tagging model, its session opened on first use (one thread by default)."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        self.path = Path(path)
        self.threads = threads
        self._lock = threading.Lock()

    @cached_property
    def session(self):
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - onnxruntime is a core dependency
            raise TaggerError("the CPU listener needs onnxruntime (pip install onnxruntime)") \
                from exc  # fmt: skip
        if not self.path.is_file():
            raise TaggerError(f"{self.path}: tagger weights not found (reinstall linernotes)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    @cached_property
    def metadata(self) -> dict[str, str]:
        return dict(self.session.get_modelmeta().custom_metadata_map)

    @cached_property
    def labels(self) -> list[str]:
        return list(json.loads(self.metadata["labels"]))

    def __call__(self, patches: np.ndarray) -> np.ndarray:
        """``(n, 187, 96)`` float32 patches -> ``(n, labels)`` probabilities."""
        outs = []
        with self._lock:
            for i in range(0, patches.shape[0], BATCH_PATCHES):
                batch = np.ascontiguousarray(patches[i : i + BATCH_PATCHES], dtype=np.float32)
                outs.append(self.session.run(["tags"], {"mel": batch})[0])
        return np.concatenate(outs, axis=0)


class MusicnnTagger:
    """The MTT and MSD musicnn models on one shared front end."""

    def __init__(self, weights_dir: Path | None = None, threads: int = 1) -> None:
        folder = Path(weights_dir) if weights_dir else WEIGHTS_DIR
        self.models = {
            name: OnnxModel(folder / file, threads) for name, file in MODEL_FILES.items()
        }

    def describe(self) -> dict[str, dict[str, str]]:
        """Each model's file, source checkpoint and licence (from the ONNX metadata)."""
        return {
            name: {"file": model.path.name, "source": model.metadata.get("source", ""),
                   "licence": model.metadata.get("licence", "")}
            for name, model in self.models.items()
        }  # fmt: skip

    def taggram(self, samples: np.ndarray) -> Taggram:
        """Tag 16 kHz mono float32 samples, patch by patch."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.size == 0:
            raise TaggerError("no audio to tag")
        patches, starts = patch_frames(log_mel(samples))
        return Taggram(
            starts_s=np.round(frames_to_seconds(starts), 3),
            probabilities={name: model(patches) for name, model in self.models.items()},
            labels={name: model.labels for name, model in self.models.items()},
            duration_s=samples.shape[0] / SAMPLE_RATE,
        )
