"""``analyze --listen`` on a CPU: the tagger section added to each measured record.

The section goes to ``record.listen.tagger`` (beside a model's answers when a model backend
ran too) and is cached in the library database by the audio's content hash, the tagger
version, the lyrics model and the vocal stem's hash, so a rerun costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from linernotes.listen.audio import MODEL_SR, decode_file
from linernotes.listen.cache import ListenCache
from linernotes.listen.cpu.describe import CpuListenerModels, Measurements, describe_clip
from linernotes.listen.cpu.lyrics import NO_LYRICS, LyricsTranscriber
from linernotes.models import ListenSection, TrackRecord
from linernotes.models.tagger import TAGGER_VERSION, TaggerSection

#: How the CPU listener names itself in the listen section.
BACKEND = "cpu"
MODEL_ID = "musicnn-mtt+msd"


def cpu_cache_key(content_hash: str, lyrics_model: str | None, stem_hash: str | None) -> str:
    """The identity of one tagger section (see the module docstring)."""
    identity = {"audio": content_hash, "tagger": TAGGER_VERSION, "lyrics": lyrics_model,
                "vocal_stem": stem_hash}  # fmt: skip
    blob = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def vocal_stem_of(record: TrackRecord) -> tuple[Path, str | None] | None:
    """The record's readable vocal stem (path, hash), if it has one."""
    for stem in record.stems:
        if stem.stem_type == "vocals" and stem.error is None and Path(stem.path).is_file():
            return Path(stem.path), stem.sha256
    return None


class CpuListener:
    """Callable that adds a :class:`TaggerSection` to a track's record (the
    :class:`linernotes.library.analyze.Listener` protocol)."""

    def __init__(self, lyrics_model: str | None = None, *, force: bool = False,
                 threads: int = 1) -> None:  # fmt: skip
        lyrics = None
        if lyrics_model is not None and lyrics_model.lower() not in NO_LYRICS:
            lyrics = LyricsTranscriber(lyrics_model, threads=threads)
        self.lyrics_model = lyrics.model_name if lyrics else None
        self.force = force
        self.threads = threads
        self._models: CpuListenerModels | None = None
        self._lyrics = lyrics
        self._warned = False

    @property
    def models(self) -> CpuListenerModels:
        if self._models is None:
            from linernotes.listen.cpu.tagger import MusicnnTagger

            self._models = CpuListenerModels(MusicnnTagger(threads=self.threads), self._lyrics)
        return self._models

    def describe_track(self, path: Path, record: TrackRecord) -> TaggerSection:
        """Decode the track (and its vocal stem) and describe it; no cache."""
        clip = decode_file(path)
        stem = vocal_stem_of(record)
        stem_samples = None
        if stem is not None:
            stem_samples = decode_file(stem[0]).samples
            n = clip.samples.shape[0]
            stem_samples = stem_samples[:n] if stem_samples.shape[0] >= n else \
                _pad(stem_samples, n)  # fmt: skip
        return describe_clip(clip.samples, self.models, Measurements.of_record(record),
                             vocal_stem=stem_samples, sample_rate=MODEL_SR)  # fmt: skip

    def __call__(self, path: Path, record: TrackRecord, cache: ListenCache) -> TrackRecord:
        digest = record.file.content_hash
        stem = vocal_stem_of(record)
        key = cpu_cache_key(digest, self.lyrics_model, stem[1] if stem else None)
        hit = None if self.force else cache.get(key)
        if hit is not None:
            section = TaggerSection.model_validate(hit).model_copy(update={"cached": True})
        else:
            section = self.describe_track(path, record)
            entry = section.model_dump(mode="json")
            cache.put(key, digest, {**entry, "prompt_id": "tagger", "model_id": MODEL_ID})
        lyrics = section.lyrics
        if lyrics is not None and lyrics.model and lyrics.skipped and not lyrics.lines \
                and not self._warned and lyrics.skipped.startswith(("cannot", "lyrics need")):
            self._warned = True
            print(f"linernotes: no lyrics: {lyrics.skipped.splitlines()[0]}", file=sys.stderr)
        return attach_tagger(record, section)


def attach_tagger(record: TrackRecord, section: TaggerSection) -> TrackRecord:
    """Put ``section`` into the record's listen section (created when no model listened)."""
    if record.listen is None:
        record.listen = ListenSection(backend=BACKEND, model_id=MODEL_ID, provenance="tagger",
                                      content_hash=record.file.content_hash)  # fmt: skip
    record.listen.tagger = section
    return record


def _pad(samples, n: int):
    import numpy as np

    return np.pad(samples, (0, n - samples.shape[0]))
