"""Ogg/Vorbis files whose header FFmpeg's Ogg demuxer refuses and libvorbis (so libsndfile)
reads: the fixture for the second decoder.

A Vorbis stream opens with its identification header, a packet alone on the first Ogg page.
FFmpeg's demuxer (``vorbis_header`` in libavformat/oggparsevorbis.c) requires that packet to be
exactly 30 bytes and its last byte, the framing flag, to be exactly 1, and otherwise stops with
"Header processing failed: Invalid data found when processing input". libvorbis
(``_vorbis_unpack_info``) reads the fields it needs and then only the framing *bit*, so it
accepts

- ``"padded"``: the packet with one zero byte appended (31 bytes), and
- ``"framing"``: the framing byte written as 0x03 (bit 0 still set).

The first page is rebuilt with its new segment table and CRC, so only the header differs
from a file libsndfile wrote itself; every later page is kept byte for byte.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile

VARIANTS = ("padded", "framing")
_HEADER_SIZE = 27  # "OggS", version, flags, granule, serial, sequence, CRC, segment count


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        r = byte << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def ogg_crc(page: bytes) -> int:
    """The Ogg page checksum: CRC-32 with polynomial 0x04C11DB7, initial value 0, no bit
    reflection and no final XOR, over the page with its CRC field zeroed (RFC 3533)."""
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _TABLE[((crc >> 24) & 0xFF) ^ byte]
    return crc


def _first_page(data: bytes) -> tuple[bytes, list[int], bytes, bytes]:
    """The first page's fixed header, segment table and body, and the rest of the file."""
    if data[:4] != b"OggS":
        raise ValueError("not an Ogg file")
    n_segments = data[26]
    lacing = list(data[_HEADER_SIZE : _HEADER_SIZE + n_segments])
    start = _HEADER_SIZE + n_segments
    end = start + sum(lacing)
    return data[:_HEADER_SIZE], lacing, data[start:end], data[end:]


def _page(header: bytes, lacing: list[int], body: bytes) -> bytes:
    page = bytearray(header[:22]) + b"\0\0\0\0" + bytes([len(lacing), *lacing]) + body
    struct.pack_into("<I", page, 22, ogg_crc(page))
    return bytes(page)


def rewrite_identification_header(data: bytes, variant: str) -> bytes:
    """``data`` (an Ogg/Vorbis file) with its identification header changed as ``variant``
    says (see the module docstring)."""
    header, lacing, body, rest = _first_page(data)
    if lacing != [30] or body[:7] != b"\x01vorbis" or body[-1] != 1:
        raise ValueError("the first page is not a 30-byte Vorbis identification header")
    if _page(header, lacing, body) != data[: _HEADER_SIZE + 1 + 30]:
        raise ValueError("first page checksum does not verify")
    if variant == "padded":
        lacing, body = [31], body + b"\0"
    elif variant == "framing":
        body = body[:-1] + b"\x03"
    else:
        raise ValueError(f"unknown variant {variant!r}; one of {VARIANTS}")
    return _page(header, lacing, body) + rest


def write_refused_vorbis(path: Path, y: np.ndarray, sr: int, *, variant: str = "padded") -> Path:
    """Encode ``y`` ((channels, n) or (n,) float) as Ogg/Vorbis with libsndfile, then rewrite
    its identification header so FFmpeg refuses the file."""
    frames = np.atleast_2d(np.asarray(y, dtype=np.float32)).T
    soundfile.write(path, frames, sr, format="OGG", subtype="VORBIS")
    path.write_bytes(rewrite_identification_header(path.read_bytes(), variant))
    return path
