"""Which audio file each trainer sees, under which name: one rule for every format that
declares what its trainer reads.

Trainers find a track's files by the audio path without its extension (audiocraft opens
``Path(path).with_suffix('.json')``; ACE-Step reads ``<stem>.json``, ``<stem>.caption.txt``,
``<stem>.lyrics.txt``), and each decodes only some containers. A format module opts in by
defining

- ``AUDIO_EXTENSIONS``: the extensions its trainer reads (lower case, with the dot);
- ``FILES_BY_STEM``: whether its trainer finds a track's files by the stem alone;
- ``TRAINER``: the trainer's name, for the reasons given to the user;
- ``LIBSNDFILE_EXTENSIONS`` (optional): the extensions its loader decodes with libsndfile
  (``soundfile``) rather than FFmpeg.

Each declaration is taken from the trainer's own loader (the module docstrings name the
file). A track's audio is readable as it is when the trainer's scanner picks up its extension
and the trainer's decoder for that extension decodes the file:

- a loader that decodes with FFmpeg (torchaudio, TorchCodec, PyAV) reads what FFmpeg read
  when linernotes analysed the track; a file FFmpeg refused, which linernotes read with
  libsndfile (the record's ``file.decode.decoder``), is not readable by it;
- a loader that decodes with libsndfile is asked nothing on trust: the file is opened and
  decoded at both ends with libsndfile (:func:`sndfile_decode_problem`), so an AAC ``.m4a``
  or an Opus stream libsndfile calls malformed is transcoded, whatever its extension.

The rule (:func:`plan`):

**With an output folder** every track is exported. Audio the trainer cannot read as it is
is transcoded to FLAC into the export folder (streamed with the decoder that read it, written
atomically, tagged with the source's content hash so an unchanged source is never transcoded
twice). Tracks of one folder that would share a stem (``song.mp3`` and ``song.flac``, or
``song.m4a`` transcoded next to ``song.flac``) are each given ``<stem>__<ext>`` —
``song__mp3.mp3``, ``song__flac.flac`` — so every one has its own files; the name depends only
on the file's own name, not on the order tracks are met.

**Beside the audio** (no output folder) nothing new may be created next to the user's audio,
so tracks the trainer cannot read are skipped, and where tracks sharing a stem would share
their files (``FILES_BY_STEM``) one is exported — lossless before lossy, then by name — and
the others are skipped. Every skip carries its reason; none is silent.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

import numpy as np

from linernotes.audio.encode import CHANNEL_LAYOUTS, finish_stream, mux_resampled
from linernotes.audio.sndfile_decode import sndfile_decode_problem
from linernotes.export.base import (
    AudioWriteRefused,
    ExportStem,
    ExportTarget,
    ExportTrack,
    FileWriter,
)
from linernotes.fileio import content_hash
from linernotes.models.decode import FFMPEG, LIBSNDFILE

#: The container metadata key that records which source (by content hash) a transcode is of.
SOURCE_TAG = "LINERNOTES_SOURCE_SHA256"
#: Codecs whose decoded samples are exact (kept at 24 bits when they carry more than 16).
LOSSLESS_CODECS = ("flac", "alac", "wavpack", "tta", "ape", "mlp", "truehd", "shorten")
#: The source tags copied into a transcode (container-technical keys are left behind).
KEPT_TAGS = ("title", "artist", "album", "album_artist", "date", "year", "genre", "track",
             "disc", "composer", "comment", "copyright")  # fmt: skip


@dataclass(frozen=True)
class TrainerAudio:
    """What one format's trainer reads: its audio extensions and whether it finds a track's
    files by the stem."""

    trainer: str
    extensions: frozenset[str]
    by_stem: bool
    sndfile_extensions: frozenset[str] = frozenset()

    @classmethod
    def of(cls, module: ModuleType) -> TrainerAudio | None:
        """The declaration of a format module, or ``None`` when it makes none."""
        extensions = getattr(module, "AUDIO_EXTENSIONS", None)
        if extensions is None:
            return None
        return cls(
            trainer=getattr(module, "TRAINER", module.__name__.rsplit(".", 1)[-1]),
            extensions=frozenset(e.lower() for e in extensions),
            by_stem=bool(getattr(module, "FILES_BY_STEM", False)),
            sndfile_extensions=frozenset(
                e.lower() for e in getattr(module, "LIBSNDFILE_EXTENSIONS", ())
            ),
        )

    def reads(self, path: Path) -> bool:
        return path.suffix.lower() in self.extensions

    def decoder_for(self, path: Path) -> str:
        """The decoder the trainer's loader uses for files with ``path``'s extension."""
        return LIBSNDFILE if path.suffix.lower() in self.sndfile_extensions else FFMPEG

    def refusal(self, track: ExportTrack) -> str | None:
        """Why the trainer cannot read ``track``'s audio as it is, or ``None`` when it can."""
        if not self.reads(track.audio):
            return f"{self.trainer} reads only {self.listing()} audio"
        if self.decoder_for(track.audio) == LIBSNDFILE:
            problem = _sndfile_problem(track.audio)
            if problem is not None:
                return (f"{self.trainer} decodes {track.audio.suffix.lower()} with libsndfile, "
                        f"which cannot decode this file ({problem})")  # fmt: skip
            return None
        decode = track.record.file.decode
        if decode.decoder != FFMPEG and self.decoder_for(track.audio) == FFMPEG:
            return (f"FFmpeg refuses this file ({decode.ffmpeg_error}; linernotes read it with "
                    f"{decode.decoder}) and {self.trainer} decodes "
                    f"{track.audio.suffix.lower() or 'it'} with FFmpeg")  # fmt: skip
        return None

    def listing(self) -> str:
        return " ".join(sorted(self.extensions))


def _sndfile_problem(path: Path) -> str | None:
    """:func:`sndfile_decode_problem` of ``path``, remembered for the file's size and
    modification time (one export asks once per file, however many formats want it)."""
    try:
        stat = path.stat()
    except OSError as exc:
        return str(exc)
    return _sndfile_problem_cached(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _sndfile_problem_cached(path: str, size: int, mtime_ns: int) -> str | None:
    return sndfile_decode_problem(Path(path))


def place_readable_stem(
    stem: ExportStem, target: ExportTarget, writer: FileWriter, audio: TrainerAudio
) -> Path:
    """Place ``stem`` beside its mix for ``audio``'s trainer: linked (or copied) when the
    trainer reads it as it is, else, with an output folder, a FLAC of it there (tagged with the
    stem's content hash, so an unchanged stem is not transcoded again). Beside the audio nothing
    new may be written, so the stem is named as it is."""
    source = stem.source
    readable = audio.reads(source) and (audio.decoder_for(source) != LIBSNDFILE
                                        or _sndfile_problem(source) is None)  # fmt: skip
    if readable or target.out is None:
        return target.place_stem(stem, writer)
    writer.protected |= {source, source.resolve()}
    dest = target.out / stem.rel.with_suffix(".flac")
    digest = content_hash(source)
    if not dest.is_symlink() and source_hash_of(dest) == digest:
        writer.unchanged.append(dest)
        return dest
    write_flac(source, dest, digest, writer)
    return dest


def write_flac(
    source: Path, dest: Path, digest: str, writer: FileWriter, *, copy_of: Path | None = None
) -> None:
    """Make ``dest`` atomically: a FLAC of ``source`` tagged with its content hash ``digest``,
    copied from ``copy_of`` (an earlier FLAC of the same source) when given, else transcoded."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp.flac")
    try:
        if copy_of is not None:
            shutil.copyfile(copy_of, tmp)
        else:
            transcode_flac(source, tmp, source_hash=digest)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    writer.written.append(dest)


def base_stem(track: ExportTrack) -> str:
    """The audio file's name without its (last) extension: what a trainer keys files by."""
    return Path(track.rel.name).stem


def unique_stem(stem: str, suffix: str) -> str:
    """``song`` + ``.mp3`` -> ``song__mp3``: the export name of a track whose stem clashes."""
    return f"{stem}__{suffix.lstrip('.').lower() or 'audio'}"


def is_lossless_codec(codec: str | None) -> bool:
    """Whether an FFmpeg codec name decodes to exact samples (PCM or :data:`LOSSLESS_CODECS`)."""
    name = (codec or "").lower()
    return name.startswith("pcm_") or name in LOSSLESS_CODECS


def is_lossless(track: ExportTrack) -> bool:
    return is_lossless_codec(track.record.file.codec)


@dataclass
class Transcoder:
    """Transcodes audio to FLAC for one export run; remembers what it made so a second
    format folder gets a copy instead of a second decode."""

    made: dict[str, Path] = field(default_factory=dict)

    def flac(self, track: ExportTrack, dest: Path, writer: FileWriter) -> Path:
        """``dest``: a FLAC of ``track.audio``, left alone when it already is one of the same
        source (by content hash), else made atomically."""
        digest = track.record.file.content_hash
        if not dest.is_symlink() and source_hash_of(dest) == digest:
            writer.unchanged.append(dest)
            self.made.setdefault(digest, dest)
            return dest
        if writer.protected and (dest.absolute() in writer.protected
                                 or dest.resolve() in writer.protected):  # fmt: skip
            raise AudioWriteRefused(f"refusing to write over audio file {dest}")
        earlier = self.made.get(digest)
        if earlier is not None and source_hash_of(earlier) != digest:
            earlier = None
        write_flac(track.audio, dest, digest, writer, copy_of=earlier)
        self.made[digest] = dest
        return dest


def source_hash_of(path: Path) -> str | None:
    """The source content hash a transcode was tagged with (``None`` for any other file)."""
    import av

    if not path.is_file():
        return None
    try:
        with av.open(str(path)) as container:
            return container.metadata.get(SOURCE_TAG)
    except (av.error.FFmpegError, OSError):
        return None


def transcode_flac(source: Path, dest: Path, *, source_hash: str) -> Path:
    """Decode ``source`` (streamed, one chunk in memory; with libsndfile when FFmpeg refuses
    it) and encode it to FLAC at ``dest`` at its own rate and channel count: 24-bit for
    lossless sources of more than 16 bits, else 16-bit. The source's tags are kept and
    ``source_hash`` recorded.

    Raises
    ------
    AudioError
        The source cannot be decoded.
    """
    import av

    from linernotes.audio.decode import open_audio
    from linernotes.errors import AudioError

    audio = open_audio(source)
    info = audio.info
    layout = CHANNEL_LAYOUTS.get(info.channels)
    if layout is None:
        raise AudioError(source, f"{info.channels} channels: no FLAC channel layout for that")
    sample_format = "s32" if _deep_lossless(source) else "s16"
    with av.open(str(dest), "w", format="flac") as container:
        container.metadata.update({k: v for k, v in info.metadata.items() if k in KEPT_TAGS and v})
        container.metadata[SOURCE_TAG] = source_hash
        stream = container.add_stream("flac", rate=info.sample_rate)
        stream.layout = layout
        stream.format = sample_format
        resampler = av.AudioResampler(format=sample_format, layout=layout, rate=info.sample_rate)
        for chunk in audio.chunks():
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(np.clip(chunk, -1.0, 1.0), dtype=np.float32),
                format="fltp",
                layout=layout,
            )
            frame.sample_rate = info.sample_rate
            mux_resampled(container, stream, resampler, frame)
        finish_stream(container, stream, resampler)
    return dest


def _deep_lossless(path: Path) -> bool:
    """True for a lossless source whose samples carry more than 16 bits."""
    import av

    from linernotes.audio.sndfile_decode import sample_bits

    try:
        with av.open(str(path)) as container:
            context = container.streams.audio[0].codec_context
            deep = context.format is not None and context.format.bits > 16
            return is_lossless_codec(context.name) and deep
    except (av.error.FFmpegError, OSError, IndexError):  # FFmpeg refuses it: ask libsndfile
        bits = sample_bits(path)
        return bits is not None and bits > 16


def plan(
    tracks: list[ExportTrack],
    target: ExportTarget,
    audio: TrainerAudio,
    writer: FileWriter,
    transcoder: Transcoder,
) -> tuple[list[ExportTrack], list[tuple[Path, str]]]:
    """The tracks as this format's trainer will see them (renamed, transcoded) and the
    tracks skipped for it, each with its reason (see the module docstring)."""
    skipped: list[tuple[Path, str]] = []
    readable: list[ExportTrack] = []
    for track in tracks:
        refusal = audio.refusal(track)
        if refusal is None or target.out is not None:
            readable.append(track)
        else:
            skipped.append((track.audio, (
                f"{refusal}; export with --out to get a FLAC copy it can read (nothing is "
                "written beside your audio)")))  # fmt: skip
    groups: dict[tuple[Path, str], list[ExportTrack]] = defaultdict(list)
    for track in readable:
        groups[(track.rel.parent, base_stem(track))].append(track)
    if target.out is None:
        return _beside_audio(groups, audio, skipped), skipped
    return _into_folder(groups, target, audio, writer, transcoder, skipped), skipped


def _beside_audio(
    groups: dict[tuple[Path, str], list[ExportTrack]],
    audio: TrainerAudio,
    skipped: list[tuple[Path, str]],
) -> list[ExportTrack]:
    out = []
    for (_, stem), members in groups.items():
        if len(members) == 1 or not audio.by_stem:
            out += [replace(t, stem=stem) if audio.by_stem else t for t in members]
            continue
        ranked = sorted(members, key=lambda t: (not is_lossless(t), t.rel.name))
        kept = ranked[0]
        out.append(replace(kept, stem=stem))
        for other in ranked[1:]:
            skipped.append((other.audio, (
                f"shares the name {stem!r} with {kept.rel.name} in its folder and "
                f"{audio.trainer} finds a track's files by that name ({stem}.json), so only "
                f"{kept.rel.name} is exported beside the audio; export with --out to give "
                "each its own name")))  # fmt: skip
    return out


def _into_folder(
    groups: dict[tuple[Path, str], list[ExportTrack]],
    target: ExportTarget,
    audio: TrainerAudio,
    writer: FileWriter,
    transcoder: Transcoder,
    skipped: list[tuple[Path, str]],
) -> list[ExportTrack]:
    assert target.out is not None
    taken: dict[Path, set[str]] = defaultdict(set)
    for folder, stem in groups:
        taken[folder].add(stem)
    out = []
    for (folder, stem), members in groups.items():
        for track in sorted(members, key=lambda t: t.rel.name):
            name = stem
            if len(members) > 1:
                name = unique_stem(stem, track.audio.suffix)
                n = 2
                while name in taken[folder]:
                    name = f"{unique_stem(stem, track.audio.suffix)}_{n}"
                    n += 1
                taken[folder].add(name)
            transcode = audio.refusal(track) is not None
            rel = folder / (name + (".flac" if transcode else track.audio.suffix))
            placed = replace(track, rel=rel, stem=name)
            if transcode:
                try:
                    flac = transcoder.flac(track, target.out / rel, writer)
                except Exception as exc:  # an undecodable file must not stop the export
                    skipped.append((track.audio, f"cannot transcode for {audio.trainer}: {exc}"))
                    continue
                placed = replace(placed, audio=flac.absolute())
            out.append(placed)
    return out
