"""The speed and memory benchmark's audio: four three-minute tracks rendered once from the
song generator (``scripts/midi_songs.py``), a warm-up clip, and a 60-minute file looped from
the tracks, all cached in ``bench/data/``."""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
#: Bumped whenever the benchmark audio changes, so stale caches are not reused.
DATA_VERSION = "v1"


@dataclass(frozen=True)
class Track:
    """A benchmark track: generator settings and the container to encode to."""

    name: str
    key: str
    meter: str
    bpm: float
    style: str
    fmt: str
    drums: bool = True
    drift: float = 0.0
    seed: int = 0


TRACKS = (
    Track("band_120bpm_4-4_A-minor", "A minor", "4/4", 120, "band", "mp3", seed=101),
    Track("electronic_128bpm_4-4_F-minor", "F minor", "4/4", 128, "electronic", "flac", seed=102),
    Track("strings_96bpm_3-4_Eb-major_drift", "Eb major", "3/4", 96, "strings", "mp3",
          drift=0.04, seed=103),
    Track("piano_70bpm_6-8_F#-minor", "F# minor", "6/8", 70, "piano", "flac", drums=False,
          seed=104),
)
TRACK_SECONDS = 180.0
WARMUP_SECONDS = 10.0
LONG_MINUTES = 60


def _song_tools() -> Any:
    """Import the song generator and encoder from scripts/ (not an installed package)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import midi_songs
    import render_examples

    return midi_songs, render_examples


def _render_track(track: Track, seconds: float, path: Path) -> dict[str, Any]:
    """Compose, synthesise and encode one track (44.1 kHz stereo); return its truth."""
    midi_songs, render_examples = _song_tools()
    spec = midi_songs.SongSpec.from_strings(
        track.key, track.meter, tempo_bpm=track.bpm, style=track.style, drums=track.drums,
        duration_s=seconds, tempo_drift=track.drift, seed=track.seed,
    )
    pm, truth = midi_songs.make_song(spec)
    with tempfile.TemporaryDirectory() as tmp:
        audio = midi_songs.render_midi(pm, Path(tmp) / "t.wav", sr=44100, duration_s=seconds)
    codec = {"mp3": "libmp3lame", "flac": "flac"}[path.suffix[1:]]
    bit_rate = 192_000 if codec == "libmp3lame" else None
    tmp_path = path.with_suffix(".part" + path.suffix)
    render_examples.encode_audio(audio, 44100, tmp_path, codec, bit_rate)
    tmp_path.replace(path)
    return truth.to_dict(times=False)


def ensure_tracks(n: int, log: Any = print) -> list[tuple[Path, float, dict[str, Any]]]:
    """Render (or reuse from bench/data) the first ``n`` three-minute tracks."""
    DATA.mkdir(parents=True, exist_ok=True)
    manifest_path = DATA / f"speed_{DATA_VERSION}.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    out = []
    for track in TRACKS[:n]:
        path = DATA / f"speed_{DATA_VERSION}_{track.name}.{track.fmt}"
        if not path.exists() or path.name not in manifest:
            log(f"# rendering {path.relative_to(ROOT)} ({TRACK_SECONDS:.0f} s) ...")
            manifest[path.name] = _render_track(track, TRACK_SECONDS, path)
            manifest_path.write_text(json.dumps(manifest, indent=1))
        out.append((path, TRACK_SECONDS, manifest[path.name]))
    return out


def ensure_warmup() -> Path:
    """A short clip each child analyses once before timing (JIT, model and cache warm-up)."""
    path = DATA / f"warmup_{DATA_VERSION}.flac"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        track = Track("warmup", "C major", "4/4", 100, "band", "flac", seed=7)
        _render_track(track, WARMUP_SECONDS, path)
    return path


def _decode_chunks(path: Path) -> Any:
    """Yield (samples x 2) float32 blocks of a file, decoded with PyAV at its own rate."""
    import av
    import numpy as np

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44100)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                yield np.ascontiguousarray(out.to_ndarray().T)
        for out in resampler.resample(None):
            yield np.ascontiguousarray(out.to_ndarray().T)


def ensure_long(fmt: str, tracks: list[tuple[Path, float, dict[str, Any]]], log: Any = print
                ) -> Path:
    """A 60-minute 44.1 kHz stereo file: the benchmark tracks looped, streamed to the encoder."""
    path = DATA / f"long_{DATA_VERSION}_{LONG_MINUTES}min.{fmt}"
    if path.exists():
        return path
    import av
    import numpy as np

    log(f"# building {path.relative_to(ROOT)} ({LONG_MINUTES} min, 44.1 kHz stereo) ...")
    codec = {"mp3": "libmp3lame", "flac": "flac"}[fmt]
    total = LONG_MINUTES * 60 * 44100
    tmp_path = path.with_suffix(".part." + fmt)
    with av.open(str(tmp_path), "w") as container:
        stream = container.add_stream(codec, rate=44100)
        stream.layout = "stereo"
        if codec == "libmp3lame":
            stream.bit_rate = 192_000
        resampler = av.AudioResampler(format=stream.format.name, layout="stereo", rate=44100)
        written, i = 0, 0
        while written < total:
            src = tracks[i % len(tracks)][0]
            i += 1
            for block in _decode_chunks(src):
                block = block[: total - written]
                if not len(block):
                    break
                frame = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(block.T), format="fltp", layout="stereo"
                )
                frame.sample_rate = 44100
                frame.pts = written
                written += len(block)
                for out in resampler.resample(frame):
                    container.mux(stream.encode(out))
        for out in resampler.resample(None):
            container.mux(stream.encode(out))
        container.mux(stream.encode(None))
    tmp_path.replace(path)
    return path
