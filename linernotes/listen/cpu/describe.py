"""One track through the CPU listener: tags per segment and per track, vocal activity, lyrics
where a voice is, and a caption from the tags and the measurements.

:func:`describe_clip` is pure apart from the models it is given: the caller decides where the
:class:`~linernotes.models.tagger.TaggerSection` goes (the record's listen section, the
bench's tables).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linernotes.listen.cpu.caption import build_caption
from linernotes.listen.cpu.lyrics import LyricsError, LyricsTranscriber
from linernotes.listen.cpu.tagger import MusicnnTagger
from linernotes.listen.cpu.vocabulary import merge_labels
from linernotes.listen.cpu.vocals import (
    segment_vocal_probability,
    stem_active,
    vocal_activity,
    voice_activity_share,
)
from linernotes.models.tagger import TaggerSection, TaggerSegment, TagScore

#: Per category: a track tag is chosen when its probability reaches the threshold, at most
#: ``limit`` of them (chosen on the dev half of ``bench/listen_cpu``).
CHOOSE: dict[str, tuple[float, int]] = {
    "genre": (0.15, 3), "mood": (0.1, 2), "instrument": (0.15, 3), "feel": (0.2, 1),
    "timbre": (0.2, 1), "era": (0.3, 1),
}  # fmt: skip
#: A segment lists the tags of a category at or above this probability.
SEGMENT_FLOOR = 0.2


@dataclass
class Measurements:
    """What the measured analysis knows that the caption uses (all optional)."""

    bpm: float | None = None
    mode: str | None = None
    loudness_lufs: float | None = None
    onset_rate: float | None = None

    @classmethod
    def of_record(cls, record: Any) -> Measurements:
        """The measurements of a :class:`~linernotes.models.TrackRecord`."""
        summary = record.summary
        rhythm = record.analyses.get("rhythm")
        key = summary.key or ""
        return cls(
            bpm=summary.bpm,
            mode=key.split()[-1] if key.endswith(("major", "minor")) else None,
            loudness_lufs=summary.loudness_lufs,
            onset_rate=rhythm.result.get("onset_rate") if rhythm else None,
        )


@dataclass
class CpuListenerModels:
    """The models the CPU listener runs, loaded once per process."""

    tagger: MusicnnTagger = field(default_factory=MusicnnTagger)
    lyrics: LyricsTranscriber | None = None


def _choose(scores: dict[str, tuple[str, float]]) -> dict[str, list[TagScore]]:
    chosen: dict[str, list[TagScore]] = {}
    for category, (threshold, limit) in CHOOSE.items():
        ranked = sorted(((w, p) for w, (c, p) in scores.items() if c == category),
                        key=lambda item: -item[1])  # fmt: skip
        picked = [TagScore(tag=w, probability=round(p, 4)) for w, p in ranked if p >= threshold]
        chosen[category] = picked[:limit]
    return chosen


def describe_clip(
    samples: np.ndarray,
    models: CpuListenerModels,
    measurements: Measurements | None = None,
    *,
    vocal_stem: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> TaggerSection:
    """The CPU listener's answer about 16 kHz mono ``samples`` (and their vocal stem)."""
    start = time.perf_counter()
    gram = models.tagger.taggram(samples)
    per_segment = merge_labels(gram.probabilities, gram.labels)
    track = {w: (c, float(p.mean())) for w, (c, p) in per_segment.items()}
    vocal_p = segment_vocal_probability(per_segment)
    ends = gram.ends_s
    sources = ("tagger",)
    speech = voice_activity_share(samples, gram.starts_s, ends, sample_rate)
    if speech is not None:
        vocal_p = np.maximum(vocal_p, speech)
        sources = ("tagger", "Silero VAD")
    stem_on = None
    if vocal_stem is not None:
        stem_on = stem_active(vocal_stem, samples, gram.starts_s, ends, sample_rate)
    vocals = vocal_activity(vocal_p, gram.starts_s, ends, stem_on, sources)
    segments = []
    for i, (s0, s1) in enumerate(zip(gram.starts_s, ends, strict=True)):
        tags: dict[str, list[TagScore]] = {}
        for word, (category, column) in per_segment.items():
            if column[i] >= SEGMENT_FLOOR:
                tags.setdefault(category, []).append(
                    TagScore(tag=word, probability=round(float(column[i]), 4)))
        for items in tags.values():
            items.sort(key=lambda t: -t.probability)
        segments.append(TaggerSegment(
            start_s=float(s0), end_s=round(float(s1), 3),
            vocal_probability=round(float(vocal_p[i]), 4),
            vocal_stem_active=None if stem_on is None else bool(stem_on[i]),
            tags=tags))  # fmt: skip
    chosen = _choose(track)
    voices = [w for w, (c, p) in sorted(track.items(), key=lambda kv: -kv[1][1])
              if c == "vocals" and p >= 0.1]  # fmt: skip
    chosen["vocals"] = [] if vocals.is_instrumental else [
        TagScore(tag=w, probability=round(track[w][1], 4)) for w in voices[:2]]  # fmt: skip
    m = measurements or Measurements()
    caption = build_caption(
        {cat: [(t.tag, t.probability) for t in items] for cat, items in chosen.items()},
        is_instrumental=vocals.is_instrumental, voices=voices, bpm=m.bpm, mode=m.mode,
        loudness_lufs=m.loudness_lufs, onset_rate=m.onset_rate,
    )  # fmt: skip
    lyrics = None
    if models.lyrics is not None and not vocals.is_instrumental:
        source = vocal_stem if vocal_stem is not None else samples
        try:
            lyrics = models.lyrics.transcribe(source, vocals.spans)
        except LyricsError as exc:
            from linernotes.models.tagger import LyricsResult

            lyrics = LyricsResult(model=models.lyrics.model_name, skipped=str(exc))
    return TaggerSection(
        models=models.tagger.describe(),
        tags=chosen,
        scores={w: round(p, 4) for w, (_, p) in sorted(track.items())},
        segments=segments,
        vocals=vocals,
        lyrics=lyrics,
        caption=caption,
        audio_s=round(samples.shape[0] / sample_rate, 3),
        elapsed_s=round(time.perf_counter() - start, 3),
    )
