"""Which bad or unusual files change outcome with the libsndfile fallback (issue 33).

Builds a set of damaged and unusual files in a temporary folder (empty, text, random bytes,
truncated and zero-filled FLAC/MP3/WAV, a header with no data, a PNG named ``.wav``, the two
Ogg/Vorbis headers FFmpeg refuses, and the container formats libsndfile writes), decodes each
one whole with :func:`linernotes.audio.decode.open_audio` twice - with the fallback, and with
libsndfile refusing everything (FFmpeg alone, as before the fallback) - and prints one row
per file: the outcome each way and whether it changed.

    bench/decode_fallback            # table on stdout
    bench/decode_fallback --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linernotes.audio import decode  # noqa: E402
from linernotes.audio.encode import write_audio  # noqa: E402
from linernotes.audio.sndfile_decode import SndfileRefused  # noqa: E402
from linernotes.errors import AudioError  # noqa: E402
from tests.vorbis_craft import write_refused_vorbis  # noqa: E402

SR = 44_100


def _music(seconds: float = 4.0) -> np.ndarray:
    """A stereo chord with a pulse: something every decoder should agree on."""
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 4
    y = y * (0.6 + 0.4 * (np.sin(2 * np.pi * 2 * t) > 0))
    return np.stack([y, 0.8 * y]).astype(np.float32)


def _encoded(path: Path, y: np.ndarray) -> Path:
    write_audio(path, y, SR)
    return path


def _truncate(share: float) -> Callable[[Path, np.ndarray], Path]:
    def make(path: Path, y: np.ndarray) -> Path:
        whole = _encoded(path.with_name("whole" + path.suffix), y).read_bytes()
        path.write_bytes(whole[: int(len(whole) * share)])
        return path

    return make


def _zero_middle(path: Path, y: np.ndarray) -> Path:
    data = bytearray(_encoded(path.with_name("whole" + path.suffix), y).read_bytes())
    mid = len(data) // 2
    data[mid : mid + 4096] = bytes(4096)
    path.write_bytes(bytes(data))
    return path


def _sndfile(fmt: str, subtype: str) -> Callable[[Path, np.ndarray], Path]:
    def make(path: Path, y: np.ndarray) -> Path:
        soundfile.write(path, y.T, SR, format=fmt, subtype=subtype)
        return path

    return make


def _bytes(data: bytes) -> Callable[[Path, np.ndarray], Path]:
    def make(path: Path, y: np.ndarray) -> Path:
        path.write_bytes(data)
        return path

    return make


def _wav_header_only(path: Path, y: np.ndarray) -> Path:
    whole = _encoded(path.with_name("whole.wav"), y).read_bytes()
    path.write_bytes(whole[:44])
    return path


CASES: dict[str, Callable[[Path, np.ndarray], Path]] = {
    "empty.wav": _bytes(b""),
    "text.mp3": _bytes(b"this is not audio\n" * 50),
    "random.flac": _bytes(np.random.default_rng(1).integers(0, 256, 50_000, np.uint8).tobytes()),
    "png-named.wav": _bytes(b"\x89PNG\r\n\x1a\n" + bytes(2000)),
    "header-only.wav": _wav_header_only,
    "truncated-60.wav": _truncate(0.6),
    "truncated-60.flac": _truncate(0.6),
    "truncated-60.mp3": _truncate(0.6),
    "zeroed-middle.flac": _zero_middle,
    "zeroed-middle.mp3": _zero_middle,
    "vorbis-padded-header.ogg": lambda p, y: write_refused_vorbis(p, y, SR, variant="padded"),
    "vorbis-framing-byte.ogg": lambda p, y: write_refused_vorbis(p, y, SR, variant="framing"),
    "plain.aiff": _sndfile("AIFF", "PCM_16"),
    "plain.caf": _sndfile("CAF", "PCM_16"),
    "plain.w64": _sndfile("W64", "PCM_16"),
    "plain.au": _sndfile("AU", "PCM_16"),
    "plain.voc": _sndfile("VOC", "PCM_16"),
    "plain.mat": _sndfile("MAT5", "PCM_16"),
    "plain.pvf": _sndfile("PVF", "PCM_16"),
    "plain.htk": lambda p, y: _sndfile("HTK", "PCM_16")(p, y[:1]),
    "plain.sds": lambda p, y: _sndfile("SDS", "PCM_16")(p, y[:1]),
    "plain.avr": _sndfile("AVR", "PCM_16"),
    "plain.wve": lambda p, y: _sndfile("WVE", "ALAW")(p, y[:1]),
    "plain.ircam": _sndfile("IRCAM", "PCM_16"),
    "plain.nist": _sndfile("NIST", "PCM_16"),
    "plain.xi": lambda p, y: _sndfile("XI", "DPCM_16")(p, y[:1]),
}


def outcome(path: Path) -> str:
    """What decoding ``path`` whole gives: seconds, decoder and truncation, or the reason."""
    try:
        source = decode.open_audio(path)
        frames = sum(block.shape[-1] for block in source.chunks())
    except AudioError as exc:
        return f"refused: {exc.reason.split(' (FFmpeg')[0]}"
    report = source.report
    seconds = frames / source.info.sample_rate if source.info.sample_rate else 0.0
    truncated = ", truncated" if report.truncated else ""
    return f"{seconds:.1f} s by {report.decoder}{truncated}"


def _kind(result: str) -> str:
    """The outcome without the decoders' reasons: refused, or what was decoded."""
    return "refused" if result.startswith("refused") else result


def _ffmpeg_only():
    def refuse(*args: object, **kwargs: object):
        raise SndfileRefused("fallback disabled for this comparison")

    return mock.patch.multiple(decode, sndfile_info=refuse, sndfile_blocks=refuse)


def run() -> list[dict[str, str]]:
    """Each case's outcome with FFmpeg alone and with the fallback."""
    rows = []
    y = _music()
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            folder = Path(tmp) / name.replace(".", "_")
            folder.mkdir()
            try:
                path = make(folder / name, y)
            except (RuntimeError, soundfile.LibsndfileError, ValueError) as exc:
                made = f"not made: {exc}"
                rows.append({"file": name, "before": made, "after": "", "changed": ""})
                continue
            with _ffmpeg_only():
                before = outcome(path)
            after = outcome(path)
            changed = _kind(before) != _kind(after)
            rows.append({"file": name, "before": before, "after": after,
                         "changed": "yes" if changed else ""})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    rows = run()
    print("| file | FFmpeg only | with libsndfile fallback | changed |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['file']} | {row['before']} | {row['after']} | {row['changed']} |")
    changed = sum(1 for row in rows if row["changed"])
    print(f"\n{changed} of {len(rows)} files change outcome")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
