"""Acoustic fingerprints: which files hold the same recording, whatever their container,
codec or folder.

Chromaprint (LGPL-2.1, run as Debian's ``fpcalc`` command from ``libchromaprint-tools``, so
nothing of it is linked into linernotes) gives about 8 32-bit sub-fingerprints per second of
audio at 11025 Hz. When ``fpcalc`` is not installed, :func:`band_fingerprint` computes 32-bit
sub-fingerprints (about 32 a second) with the band-energy-difference scheme of Haitsma and
Kalker (2002): 33 log-spaced bands from 300 Hz to 3 kHz, one bit per adjacent band pair for the sign
of the change of their energy difference from the previous frame. Both survive lossy coding:
a FLAC and its MP3 differ in a few percent of the bits, two different recordings in about
half (see :data:`SAME_RECORDING`). Fingerprints are compared only with those made by the same
tool.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

#: Seconds of audio fingerprinted from the start (Chromaprint's own default is 120).
MAX_SECONDS = 120
#: The fallback's analysis: 11025 Hz as Chromaprint, 0.37 s frames every 31 ms (a short hop
#: keeps the bits stable when a codec's delay shifts the audio).
_RATE = 11025
_FRAME = 4096
_HOP = 341
#: Frames transformed at once by :func:`band_fingerprint` (bounds its memory).
_BATCH_FRAMES = 256
#: Sub-fingerprints two fingerprints may be shifted by (about 10 s): a lead-in or an encoder
#: delay moves one against the other.
MAX_SHIFT = 80
#: Share of matching bits from which two fingerprints of a tool are the same recording. A
#: lossy copy keeps about 0.95 of Chromaprint's bits and 0.8 of the fallback's; different
#: music about 0.5 to 0.7 of Chromaprint's (more on synthetic chords) and 0.5 of the fallback's.
SAME_RECORDING = {"chromaprint": 0.9, "bands": 0.7}


@dataclass(frozen=True)
class Fingerprint:
    """A fingerprint and the tool that made it (``chromaprint`` or ``bands``)."""

    tool: str
    values: np.ndarray  # uint32

    def encode(self) -> str:
        """``tool:base64`` of the little-endian values: compact for the record."""
        raw = self.values.astype("<u4").tobytes()
        return f"{self.tool}:{base64.b64encode(raw).decode('ascii')}"

    @classmethod
    def decode(cls, text: str) -> Fingerprint:
        tool, _, data = text.partition(":")
        return cls(tool, np.frombuffer(base64.b64decode(data), dtype="<u4").astype(np.uint32))


def fpcalc_path() -> str | None:
    """The ``fpcalc`` command, or ``None`` when Chromaprint's tools are not installed."""
    return shutil.which("fpcalc")


def fingerprint(path: str | Path, *, max_seconds: int = MAX_SECONDS) -> Fingerprint | None:
    """The fingerprint of ``path``'s first ``max_seconds``: Chromaprint's when ``fpcalc`` is
    installed, else :func:`band_fingerprint`; ``None`` when the audio cannot be read or is
    too short (under about 2 s) to fingerprint."""
    command = fpcalc_path()
    if command is not None:
        try:
            done = subprocess.run([command, "-raw", "-json", "-length", str(max_seconds),
                                   str(path)], capture_output=True, timeout=120)  # fmt: skip
            values = json.loads(done.stdout or b"{}").get("fingerprint")  # exit 3 on a clean EOF
        except (subprocess.SubprocessError, OSError, ValueError, KeyError):
            values = None
        if values:
            return Fingerprint("chromaprint", np.asarray(values, dtype=np.int64).astype(np.uint32))
    return _band_fingerprint_of_file(Path(path), max_seconds)


def _band_fingerprint_of_file(path: Path, max_seconds: int) -> Fingerprint | None:
    from linernotes.audio.decode import open_audio
    from linernotes.errors import AudioError

    try:
        audio = open_audio(path)
        rate = audio.info.sample_rate
        blocks, frames = [], 0
        for chunk in audio.chunks():
            blocks.append(chunk.mean(axis=0))
            frames += chunk.shape[-1]
            if frames >= max_seconds * rate:
                break
    except (AudioError, OSError):
        return None
    if not blocks:
        return None
    mono = np.concatenate(blocks)[: max_seconds * rate]
    values = band_fingerprint(mono, rate)
    return Fingerprint("bands", values) if values.size else None


def band_fingerprint(y: np.ndarray, sr: int) -> np.ndarray:
    """Haitsma-Kalker sub-fingerprints (uint32, about 8 per second) of mono ``y`` at ``sr``.

    >>> t = np.arange(22050 * 4) / 22050
    >>> band_fingerprint(np.sin(2 * np.pi * 440 * t) * (t % 0.5 < 0.25), 22050).dtype
    dtype('uint32')
    """
    from scipy.signal import resample_poly

    x = resample_poly(np.asarray(y, dtype=np.float64), _RATE, sr) if sr != _RATE else y
    if x.size < _FRAME + 2 * _HOP:
        return np.zeros(0, dtype=np.uint32)
    starts = np.arange(0, x.size - _FRAME, _HOP)
    window = np.hanning(_FRAME)
    edges = np.geomspace(300.0, 3000.0, 34)
    bins = np.round(edges * _FRAME / _RATE).astype(int)
    # The frames overlap 12-fold: two minutes of them and their spectra at once would take
    # about 400 MB, so they are transformed a batch at a time (the same values, ~10 MB).
    energy = np.empty((starts.size, bins.size - 1))
    for first in range(0, starts.size, _BATCH_FRAMES):
        batch = starts[first : first + _BATCH_FRAMES]
        frames = np.stack([x[s : s + _FRAME] * window for s in batch])
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        energy[first : first + batch.size] = np.stack(
            [power[:, a : max(b, a + 1)].sum(axis=1) for a, b in pairwise(bins)], axis=1)
    across = np.diff(energy, axis=1)  # E[n, m] - E[n, m+1] (sign flipped: same for all bits)
    bits = (np.diff(across, axis=0) > 0).astype(np.uint64)  # change from the previous frame
    weights = np.uint64(1) << np.arange(32, dtype=np.uint64)
    return (bits * weights).sum(axis=1).astype(np.uint32)


def same_recording(a: Fingerprint, b: Fingerprint) -> float | None:
    """:func:`similarity` of ``a`` and ``b`` when it says they are one recording, else
    ``None``."""
    score = similarity(a, b)
    return score if a.tool == b.tool and score >= SAME_RECORDING.get(a.tool, 1.0) else None


def similarity(a: Fingerprint, b: Fingerprint, *, max_shift: int = MAX_SHIFT) -> float:
    """Share of matching bits (0..1) at the best shift of one fingerprint against the other,
    over their overlap (at least three quarters of the shorter); 0 for fingerprints of
    different tools."""
    if a.tool != b.tool or a.values.size == 0 or b.values.size == 0:
        return 0.0
    x, y = a.values, b.values
    need = max(8, (3 * min(x.size, y.size)) // 4)
    best = 0.0
    for shift in range(-max_shift, max_shift + 1):
        lo_x, lo_y = max(0, shift), max(0, -shift)
        n = min(x.size - lo_x, y.size - lo_y)
        if n < need:
            continue
        differing = np.bitwise_count(x[lo_x : lo_x + n] ^ y[lo_y : lo_y + n]).sum()
        best = max(best, 1.0 - float(differing) / (32 * n))
    return best
