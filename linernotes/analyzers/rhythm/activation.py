"""A learned beat and downbeat activation: for every frame, how likely a beat (and a bar line)
starts there.

A small temporal convolutional network (a dilated-convolution stack in the manner of Böck
and Davies' TCN beat trackers) reads the shared front end's log-mel spectrogram, its
positive differences and the pitch-class profiles of the whole mix and of the bass (where
chords change, which places bar lines in music without drums) and gives two probabilities
per frame. Its receptive field is about 24 s
each side, so it sees the bars and phrases around a frame, not just the attack, which is what
the hand-made spectral flux lacks on bowed strings, organ and drumless music.

It was trained by ``bench/train_activation`` on rendered music that belongs to neither split
of ``bench/corpus_set`` (``bench/beat_train_set``); its weights are the package data file
``beat_activation.npz``, written only by that script. The file may hold an ensemble:
networks trained from different seeds, whose probabilities are averaged
(:func:`beat_activation`; each member's alone: :func:`beat_activations`). Inference is plain
numpy over chunks of frames that overlap by the network's receptive field, so the result is
the same as over the whole track while an hour of audio needs only a few small arrays at a
time.

Examples
--------
>>> import numpy as np
>>> mel_db = np.full((64, 500), -60.0, np.float32)
>>> beat, down = beat_activation(mel_db, np.zeros((HARMONIC_CHANNELS, 500), np.float32))
>>> beat.shape, down.shape, bool(((beat >= 0) & (beat <= 1)).all())
((500,), (500,), True)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from linernotes.analyzers.rhythm.beat_features import pitch_class_profiles

__all__ = ["HARMONIC_CHANNELS", "WEIGHTS_FILE", "ActivationWeights", "beat_activation",
           "beat_activations", "ensemble_arrays", "features_activation", "harmonic_frames",
           "load_weights", "network_input", "receptive_field"]

#: The trained network (package data, written by ``bench/train_activation --write``).
WEIGHTS_FILE = Path(__file__).with_name("beat_activation.npz")

#: Dynamic range of the input below the track's loudest mel bin, in dB.
INPUT_RANGE_DB = 80.0
#: Frames of output computed at a time (plus the receptive field on each side as context).
CHUNK_FRAMES = 16384
#: Rows of :func:`harmonic_frames`: the chroma and the bass chroma.
HARMONIC_CHANNELS = 24


def harmonic_frames(chroma: np.ndarray, bass: np.ndarray, *, n_frames: int,
                    hop_ratio: float) -> np.ndarray:
    """The pitch-class profiles of the mix and of the bass (each ``(12, n_pitch_frames)``,
    :func:`.beat_features.pitch_class_profiles`) at the rhythm frames: each frame's profile
    divided by its largest class (its shape, not its level), interpolated from the pitch
    frames (``hop_ratio`` rhythm frames apart); shape ``(24, n_frames)``."""
    out = np.zeros((HARMONIC_CHANNELS, n_frames), np.float32)
    n_pf = chroma.shape[1] if chroma.ndim == 2 else 0
    if n_pf == 0 or n_frames == 0:
        return out
    pos = np.minimum(np.arange(n_frames) / hop_ratio, n_pf - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_pf - 1)
    frac = (pos - lo).astype(np.float32)
    for k, prof in enumerate((chroma, bass)):
        prof = np.asarray(prof, np.float32)
        floor = 1e-3 * max(float(prof.max()), 1e-12)
        shape = prof / np.maximum(prof.max(axis=0, keepdims=True), floor)
        out[12 * k:12 * (k + 1)] = (1 - frac) * shape[:, lo] + frac * shape[:, hi]
    return out


def network_input(mel_db: np.ndarray, harmonic: np.ndarray, *, ref_db: float | None = None
                  ) -> np.ndarray:
    """The network's input for frames of a log-mel spectrogram: the level relative to the
    track's loudest bin (``ref_db``, its maximum unless given), scaled to about [-1, 1], its
    positive frame-to-frame rise, and the :func:`harmonic_frames` of the same frames; shape
    ``(2 * n_mels + 24, n_frames)``.

    The first frame rises from silence (the floor of the level): a track that starts on a beat
    (a trimmed loop) has its first attack where every training clip had it, after silence."""
    mel = np.asarray(mel_db, np.float32)
    ref = float(np.max(mel)) if ref_db is None else float(ref_db)
    level = (np.clip(mel - ref, -INPUT_RANGE_DB, 0.0) + INPUT_RANGE_DB / 2) / (INPUT_RANGE_DB / 2)
    before = np.concatenate([np.full_like(level[:, :1], -1.0), level[:, :-1]], axis=1)
    rise = np.maximum(level - before, 0.0) * 4.0
    return np.concatenate([level, rise, np.asarray(harmonic, np.float32)], axis=0)


@dataclass(frozen=True)
class ActivationWeights:
    """The trained network: an input convolution, dilated residual blocks, an output layer."""

    input_w: np.ndarray  # (channels, 2 * n_mels + 24, kernel)
    input_b: np.ndarray
    dilated_w: tuple[np.ndarray, ...]  # each (channels, channels, kernel)
    dilated_b: tuple[np.ndarray, ...]
    mix_w: tuple[np.ndarray, ...]  # each (channels, channels)
    mix_b: tuple[np.ndarray, ...]
    dilations: tuple[int, ...]
    output_w: np.ndarray  # (2, channels)
    output_b: np.ndarray


def _read_network(z: Any, prefix: str = "") -> ActivationWeights:
    n = int(z[f"{prefix}n_blocks"])
    return ActivationWeights(
        input_w=z[f"{prefix}input_w"], input_b=z[f"{prefix}input_b"],
        dilated_w=tuple(z[f"{prefix}dilated_w{i}"] for i in range(n)),
        dilated_b=tuple(z[f"{prefix}dilated_b{i}"] for i in range(n)),
        mix_w=tuple(z[f"{prefix}mix_w{i}"] for i in range(n)),
        mix_b=tuple(z[f"{prefix}mix_b{i}"] for i in range(n)),
        dilations=tuple(int(d) for d in z[f"{prefix}dilations"]),
        output_w=z[f"{prefix}output_w"], output_b=z[f"{prefix}output_b"],
    )


@functools.cache
def load_weights(path: Path) -> tuple[ActivationWeights, ...]:
    """The networks stored in ``path`` (cached): one, or the members of an ensemble (a file
    with ``n_members``, each member's arrays under the prefix ``m{j}/``), whose
    probabilities :func:`beat_activation` averages."""
    with np.load(path) as z:
        if "n_members" not in z.files:
            return (_read_network(z),)
        return tuple(_read_network(z, f"m{j}/") for j in range(int(z["n_members"])))


def ensemble_arrays(members: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays of an ensemble file from the arrays of single-network files (what
    :func:`load_weights` reads back as the members, in this order)."""
    out: dict[str, np.ndarray] = {"n_members": np.array(len(members))}
    for j, arrays in enumerate(members):
        out.update({f"m{j}/{k}": v for k, v in arrays.items()})
    return out


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))).astype(np.float32)


def _conv_same(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int) -> np.ndarray:
    """A 'same'-padded 1-D convolution (cross-correlation, as torch's ``Conv1d``)."""
    k = w.shape[2]
    half = dilation * (k - 1) // 2
    n = x.shape[1]
    xp = np.pad(x, ((0, 0), (half, half)))
    y = np.empty((w.shape[0], n), np.float32)
    y[:] = b[:, None]
    for j in range(k):
        y += w[:, :, j] @ xp[:, j * dilation: j * dilation + n]
    return y


def receptive_field(weights: ActivationWeights) -> int:
    """Frames on each side of a frame that can change its output."""
    half_input = (weights.input_w.shape[2] - 1) // 2
    k = weights.dilated_w[0].shape[2] if weights.dilated_w else 1
    return 1 + half_input + sum(d * (k - 1) // 2 for d in weights.dilations)


def _forward(x: np.ndarray, wts: ActivationWeights) -> np.ndarray:
    """The network's logits (2, n_frames) for an input block (n_inputs, n_frames)."""
    h = _elu(_conv_same(x, wts.input_w, wts.input_b, 1))
    for w, b, mw, mb, d in zip(wts.dilated_w, wts.dilated_b, wts.mix_w, wts.mix_b,
                               wts.dilations, strict=True):
        z = _elu(_conv_same(h, w, b, d))
        h += mw @ z + mb[:, None]
    return wts.output_w @ h + wts.output_b[:, None]


def features_activation(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """:func:`beat_activation` of a track's shared features (:mod:`linernotes.features`)."""
    fp = features.params
    chroma, bass = pitch_class_profiles(features.pitch_spectrum, fp.pitch_bin_midi())
    harmonic = harmonic_frames(chroma, bass, n_frames=features.mel_db.shape[1],
                               hop_ratio=fp.pitch_hop_length / fp.hop_length)
    return beat_activation(features.mel_db, harmonic)


def beat_activations(mel_db: np.ndarray, harmonic: np.ndarray,
                     weights: ActivationWeights | Sequence[ActivationWeights] | None = None
                     ) -> np.ndarray:
    """Each network's beat and downbeat probabilities, shape ``(n_members, 2, n_frames)``
    (see :func:`beat_activation`, their mean)."""
    # the module's file, read at call time (a bench script may point it at a candidate)
    members = (load_weights(WEIGHTS_FILE) if weights is None
               else (weights,) if isinstance(weights, ActivationWeights) else tuple(weights))
    n = mel_db.shape[1]
    if n == 0:
        return np.zeros((len(members), 2, 0), np.float32)
    return np.stack([_probabilities(mel_db, harmonic, wts) for wts in members])


def beat_activation(mel_db: np.ndarray, harmonic: np.ndarray,
                    weights: ActivationWeights | Sequence[ActivationWeights] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame probabilities of a beat and of a downbeat, from a log-mel spectrogram and
    the pitch-class profiles of the same frames.

    Parameters
    ----------
    mel_db : np.ndarray, shape (n_mels, n_frames)
        The shared front end's log-mel power in dB (:attr:`linernotes.features.Features.mel_db`).
    harmonic : np.ndarray, shape (24, n_frames)
        :func:`harmonic_frames` of the track.
    weights : ActivationWeights or sequence of them, optional
        The network, or an ensemble whose probabilities are averaged; the packaged one by
        default.

    Returns
    -------
    beat, downbeat : np.ndarray, shape (n_frames,)
        Probabilities in [0, 1] that a beat (a downbeat) falls on each frame.
    """
    mean = beat_activations(mel_db, harmonic, weights).mean(axis=0)
    return mean[0], mean[1]


def _probabilities(mel_db: np.ndarray, harmonic: np.ndarray, wts: ActivationWeights
                   ) -> np.ndarray:
    """One network's beat and downbeat probabilities (2, n_frames), chunk by chunk."""
    n = mel_db.shape[1]
    ref = float(np.max(mel_db))
    context = receptive_field(wts)
    logits = np.empty((2, n), np.float32)
    for start in range(0, n, CHUNK_FRAMES):
        stop = min(start + CHUNK_FRAMES, n)
        lo, hi = max(start - context, 0), min(stop + context, n)
        # the rise of the block's first frame needs the frame before it (silence before the
        # track's first frame)
        pre = 1 if lo > 0 else 0
        x = network_input(mel_db[:, lo - pre:hi], harmonic[:, lo - pre:hi], ref_db=ref)
        logits[:, start:stop] = _forward(x[:, pre:], wts)[:, start - lo:stop - lo]
    return (1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))).astype(np.float32)
