"""The shared front end's features of a ``bench/corpus_set`` (or ``bench/game_dev_set``) clip,
extracted once and cached.

The dev sweeps (``bench/dev_sweep``, ``bench/activation_sweep``) run the rhythm stage many
times over the same clips; the features are pickled under gitignored
``bench/data/feature_cache/`` (written to a temporary file, then renamed).
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import corpus_set  # noqa: E402

CACHE = ROOT / "bench" / "data" / "feature_cache"


def clip_features(clip: dict[str, Any], data: Path = corpus_set.DATA) -> Any:
    """The shared front end's features of a clip of a set kept in ``data`` (a corpus clip by
    default), cached by the clip's name."""
    import soundfile

    from linernotes.features import extract_features_from_array

    path = CACHE / f"{clip['name']}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    pcm, sr = soundfile.read(str(data / clip["file"]), dtype="float32", always_2d=True)
    mono = pcm.mean(axis=1)  # WAV (rendered sets) or FLAC (charted and produced songs)
    features = extract_features_from_array(mono, sr)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(features))
    os.replace(tmp, path)
    return features
