"""The second decoder: libsndfile through ``soundfile`` (BSD; its wheels bundle libsndfile),
used when FFmpeg refuses a file (see :mod:`linernotes.audio.decode`).

libsndfile reads WAV, AIFF, FLAC, Ogg/Vorbis, Ogg/Opus and MP3 with its own parsers and the
reference codec libraries (libvorbis, libFLAC, mpg123), which accept some headers FFmpeg's
demuxers reject: FFmpeg's Ogg demuxer refuses a Vorbis identification header that is not
exactly 30 bytes or whose framing byte is not 1 ("Header processing failed"), while libvorbis
reads only the fields it needs and the framing bit. Blocks come out as on the FFmpeg path:
(channels, n) float32 at the file's own rate, a few seconds at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile

from linernotes.audio.info import AudioInfo

#: libsndfile's subtypes under FFmpeg's codec names, so the record reads the same whichever
#: decoder read the file (PCM gets its byte order from the container below).
_CODECS = {
    "VORBIS": "vorbis", "OPUS": "opus", "MPEG_LAYER_I": "mp1", "MPEG_LAYER_II": "mp2",
    "MPEG_LAYER_III": "mp3", "ULAW": "pcm_mulaw", "ALAW": "pcm_alaw", "PCM_S8": "pcm_s8",
    "PCM_U8": "pcm_u8", "PCM_16": "pcm_s16", "PCM_24": "pcm_s24", "PCM_32": "pcm_s32",
    "FLOAT": "pcm_f32", "DOUBLE": "pcm_f64",
}  # fmt: skip
#: Bits per sample of the PCM subtypes (what decides a 24-bit FLAC transcode).
_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32,
         "DOUBLE": 64}  # fmt: skip
_BIG_ENDIAN_FORMATS = {"AIFF", "AU"}
#: Formats whose samples the container itself codes (the subtype then names the sample depth).
_CODEC_FORMATS = {"FLAC": "flac"}
#: libsndfile's metadata names that differ from FFmpeg's.
_TAG_NAMES = {"tracknumber": "track"}
#: libsndfile's length for a stream it cannot count (``SF_COUNT_MAX``) is far beyond this.
_MAX_FRAMES = 2**62


class SndfileRefused(Exception):
    """libsndfile cannot open or decode the file; the message is its reason."""


def sndfile_reason(exc: BaseException) -> str:
    """libsndfile's message, without the path and its "Error :" prefix.

    Its MP3 and FLAC probes report content they do not recognise as "File does not exist or
    is not a regular file"; the caller has already checked that the file exists and can be
    read, so that message is given as what it means.
    """
    text = str(getattr(exc, "error_string", None) or exc).strip().rstrip(".")
    text = text.removeprefix("Error :").strip()
    if text.startswith("File does not exist or is not a regular file"):
        return "Format not recognised"
    return text or type(exc).__name__


def sndfile_info(path: Path) -> AudioInfo:
    """The audio facts libsndfile reads from ``path``'s header.

    Raises
    ------
    SndfileRefused
        libsndfile does not recognise the file or its header.
    """
    try:
        with soundfile.SoundFile(str(path)) as handle:
            metadata = {_TAG_NAMES.get(k, k): v for k, v in handle.copy_metadata().items() if v}
            rate, channels, frames = handle.samplerate, handle.channels, handle.frames
            container, subtype = handle.format, handle.subtype
    except (soundfile.SoundFileError, OSError) as exc:
        raise SndfileRefused(sndfile_reason(exc)) from exc
    if rate <= 0 or channels <= 0:
        raise SndfileRefused("no sample rate or channel count")
    duration = frames / rate if 0 < frames < _MAX_FRAMES else None
    size_bits = path.stat().st_size * 8
    return AudioInfo(
        format="wav" if container == "WAVEX" else container.lower(),
        codec=_codec_name(container, subtype),
        duration=round(duration, 3) if duration else None,
        sample_rate=int(rate),
        channels=int(channels),
        bit_rate=round(size_bits / duration) if duration else None,
        metadata=metadata,
    )


def sample_bits(path: Path) -> int | None:
    """Bits per sample of a PCM-coded file as libsndfile reads it (FLAC included); ``None``
    for lossy codecs and files it cannot open."""
    try:
        return _BITS.get(soundfile.info(str(path)).subtype)
    except (soundfile.SoundFileError, OSError):
        return None


def sndfile_blocks(path: Path, frames_per_block: int) -> Iterator[np.ndarray]:
    """Decode ``path`` as consecutive (channels, n) float32 blocks of ``frames_per_block``.

    Raises
    ------
    SndfileRefused
        libsndfile cannot open the file or stops on damaged data (blocks decoded before the
        damage have been yielded).
    """
    try:
        with soundfile.SoundFile(str(path)) as handle:
            # libsndfile cannot seek in some formats (XI); blocks then need the length
            frames = -1 if handle.seekable() else handle.frames
            for block in handle.blocks(
                frames_per_block, frames=frames, dtype="float32", always_2d=True
            ):
                yield np.ascontiguousarray(block.T)
    except (soundfile.SoundFileError, OSError, ValueError) as exc:
        raise SndfileRefused(sndfile_reason(exc)) from exc


def sndfile_decode_problem(path: Path, frames: int = 65536) -> str | None:
    """Why libsndfile cannot decode ``path``, or ``None`` when it can: the file is opened and
    its first and last ``frames`` frames are decoded (a loader that decodes with libsndfile,
    such as ``datasets``' ``Audio`` feature, fails on open or on the first block it cannot
    parse; reading both ends catches a bad header and a broken stream without decoding the
    whole file)."""
    try:
        with soundfile.SoundFile(str(path)) as handle:
            if handle.samplerate <= 0 or handle.channels <= 0:
                return "no sample rate or channel count"
            head = handle.read(frames, dtype="float32", always_2d=True)
            if head.size == 0:
                return "no samples decoded"
            total = handle.frames
            if handle.seekable() and frames < total < _MAX_FRAMES:
                handle.seek(total - frames)
                handle.read(frames, dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, OSError, RuntimeError) as exc:
        return sndfile_reason(exc)
    return None


def _codec_name(container: str, subtype: str) -> str:
    if container in _CODEC_FORMATS:
        return _CODEC_FORMATS[container]
    name = _CODECS.get(subtype, subtype.lower())
    if name.startswith(("pcm_s", "pcm_f")) and name != "pcm_s8":
        name += "be" if container in _BIG_ENDIAN_FORMATS else "le"
    return name
