"""Audio for the browser: the file itself when a browser plays it, else a cached FLAC copy;
and waveform peaks for drawing (decoded once, at low priority, and cached).

What Debian's Chromium (156) plays was tried with one file of each kind: WAV (PCM), FLAC,
MP3, Ogg Vorbis/Opus/FLAC, Opus, AAC in M4A/MP4 or ADTS, WebM and Matroska with Vorbis/Opus.
It refuses ALAC in M4A, AIFF, CAF, WMA, AC-3 and WavPack (and APE). The browser test plays
an AIFF track through its transcode.
Those are transcoded once to FLAC (lossless, and a plain file, so HTTP Range requests seek
instantly, which a transcode streamed on the fly could not) under the library's cache
folder, keyed by content hash so a renamed file keeps its copy.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import av
import numpy as np

from linernotes.audio.decode import open_audio
from linernotes.audio.encode import finish_stream, mux_resampled
from linernotes.fileio import write_atomic

#: Codecs (PyAV decoder names) Chromium plays, in the containers of :data:`CONTAINERS`.
BROWSER_CODECS = frozenset(
    {
        "mp3",
        "mp3float",
        "flac",
        "vorbis",
        "opus",
        "libopus",
        "aac",
        "pcm_u8",
        "pcm_s16le",
        "pcm_s24le",
        "pcm_s32le",
        "pcm_f32le",
    }
)
CONTAINERS = {
    ".wav": "audio/wav",
    ".wave": "audio/wav",
    ".flac": "audio/flac",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".mp4": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
    ".mka": "audio/x-matroska",
}
#: Waveform resolution: buckets over the whole track (a 60-minute track: 0.45 s each).
PEAK_BUCKETS = 8000
_locks: dict[str, threading.Lock] = {}
T = TypeVar("T")
_locks_guard = threading.Lock()


def browser_plays(path: Path, codec: str | None) -> bool:
    """Whether Chromium plays ``path`` (decoded with ``codec``) as it is."""
    return path.suffix.lower() in CONTAINERS and (codec or "").lower() in BROWSER_CODECS


def _lock(key: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def playable(path: Path, codec: str | None, digest: str, cache: Path) -> tuple[Path, str]:
    """``(file, media type)`` to send for ``path``: itself, or its cached FLAC transcode."""
    if browser_plays(path, codec):
        return path, CONTAINERS[path.suffix.lower()]
    target = cache / "audio" / f"{digest}.flac"
    with _lock(target.name):
        if not target.is_file():
            transcode_flac(path, target)
    return target, "audio/flac"


def transcode_flac(source: Path, target: Path) -> Path:
    """Stream ``source`` into a FLAC file at ``target`` (temporary file, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with av.open(str(source)) as inp, av.open(str(tmp), "w", format="flac") as out:
            stream_in = inp.streams.audio[0]
            layout = stream_in.layout.name if stream_in.channels <= 2 else "stereo"
            stream = out.add_stream("flac", rate=stream_in.rate)
            stream.layout = layout
            resampler = av.AudioResampler(format="s16", layout=layout, rate=stream_in.rate)
            for frame in inp.decode(stream_in):
                frame.pts = None
                mux_resampled(out, stream, resampler, frame)
            finish_stream(out, stream, resampler)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def peaks(path: Path, digest: str, cache: Path, buckets: int = PEAK_BUCKETS) -> dict:
    """Waveform peaks of ``path``: ``{"duration", "buckets", "peaks"}`` where ``peaks[i]``
    is the largest absolute sample (channels mixed) of the i-th of ``buckets`` equal slices,
    in [0, 1] to 3 decimals. Cached by content hash."""
    target = cache / "peaks" / f"{digest}-{buckets}.json"
    with _lock(target.name):
        if target.is_file():
            return json.loads(target.read_text())
        result = _at_low_priority(compute_peaks, path, buckets)
        write_atomic(target, json.dumps(result))
    return result


def _at_low_priority(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a thread of its own, 10 steps nicer than the caller (on Linux
    niceness is per thread; elsewhere it runs at the caller's): decoding an hour of audio
    for its waveform takes seconds of CPU, which must not slow down the playback the user
    is seeking in meanwhile."""
    box: dict[str, Any] = {}

    def run() -> None:
        with contextlib.suppress(OSError, AttributeError):
            if sys.platform == "linux":
                os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10))
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    worker = threading.Thread(target=run, name="linernotes-peaks", daemon=True)
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def compute_peaks(path: Path, buckets: int = PEAK_BUCKETS) -> dict:
    """The peaks of :func:`peaks`, decoded in chunks (an hour-long file never sits whole
    in memory)."""
    source = open_audio(path)
    sr = source.info.sample_rate
    expected = (source.info.duration or 0.0) * sr
    per = max(1, math.ceil(expected / buckets)) if expected else sr // 100
    values: list[float] = []
    carry = np.zeros(0, dtype=np.float32)
    total = 0
    for chunk in source.chunks():
        mono = np.abs(chunk).max(axis=0) if chunk.ndim == 2 else np.abs(chunk)
        total += mono.shape[0]
        data = np.concatenate([carry, mono])
        whole = data.shape[0] // per * per
        if whole:
            values += data[:whole].reshape(-1, per).max(axis=1).tolist()
        carry = data[whole:]
    if carry.size:
        values.append(float(carry.max()))
    return {
        "duration": round(total / sr, 3),
        "buckets": len(values),
        "peaks": [round(min(v, 1.0), 3) for v in values],
    }
