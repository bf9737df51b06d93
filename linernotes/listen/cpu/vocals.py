"""Is there a voice, and where: the tagger's vocal tags per 3 s segment, the share of each
segment a voice-activity detector hears as voice, and the vocal stem's level when the track
has one.

A segment's vocal probability is the largest of the voice tags (``vocals``, ``female
vocals``, ``male vocals``, ``choir``, ``operatic vocals``) and, when faster-whisper (the
``lyrics`` extra) is installed, of the share of the segment its bundled Silero VAD (MIT)
marks as voice: musicnn learnt sung voices, Silero spoken ones. A segment is voiced when
that reaches :data:`VOICED_AT`. The track's vocal probability is the mean of its most vocal
quarter of segments (a voice that sings in a third of the song still counts), and the track
is instrumental when fewer than :data:`MIN_VOICED_RATIO` of its segments are voiced and its
vocal probability stays below :data:`VOICED_AT`. A vocal stem that sounds (within
:data:`STEM_RANGE_DB` of the mix and above :data:`STEM_FLOOR_DBFS`) marks its segments
voiced whatever the tagger says, and a silent one marks the whole track instrumental.
The thresholds were chosen on the dev half of ``bench/listen_cpu``'s rendered clips.

Examples
--------
>>> import numpy as np
>>> probs = np.array([0.05, 0.1, 0.6, 0.7])
>>> act = vocal_activity(probs, np.array([0.0, 3.0, 6.0, 9.0]), np.array([3.0, 6.0, 9.0, 12.0]))
>>> act.is_instrumental, act.spans
(False, [(6.0, 12.0)])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from linernotes.models.tagger import VocalActivity

#: The words whose probability says a voice is there.
VOICE_WORDS = ("vocals", "female vocals", "male vocals", "choir", "operatic vocals")
#: A segment whose vocal probability reaches this is voiced.
VOICED_AT = 0.4
#: A track with fewer voiced segments than this share is instrumental.
MIN_VOICED_RATIO = 0.15
#: A vocal stem sounds where its level is within this many dB of the mix's...
STEM_RANGE_DB = 30.0
#: ...and above this absolute level.
STEM_FLOOR_DBFS = -50.0


def segment_vocal_probability(merged: Mapping[str, tuple[str, np.ndarray]]) -> np.ndarray:
    """Per-segment vocal probability from :func:`~.vocabulary.merge_labels` output."""
    columns = [merged[w][1] for w in VOICE_WORDS if w in merged]
    return np.max(np.stack(columns), axis=0)


def voice_activity_share(
    samples: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray, sr: int = 16000
) -> np.ndarray | None:
    """Share of each segment Silero VAD marks as voice (``None`` without faster-whisper)."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        return None
    voiced = np.zeros(samples.shape[0], dtype=bool)
    for span in get_speech_timestamps(np.asarray(samples, dtype=np.float32), VadOptions()):
        voiced[span["start"] : span["end"]] = True
    return np.array([voiced[round(a * sr) : round(b * sr)].mean() if b > a else 0.0
                     for a, b in zip(starts_s, ends_s, strict=True)])  # fmt: skip


def stem_active(
    stem: np.ndarray, mix: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray, sr: int
) -> np.ndarray:
    """Whether a vocal stem sounds in each segment (boolean per segment)."""
    out = []
    for start, end in zip(starts_s, ends_s, strict=True):
        a, b = round(start * sr), round(end * sr)
        s_db = _rms_db(stem[a:b])
        m_db = _rms_db(mix[a:b])
        out.append(s_db > STEM_FLOOR_DBFS and s_db > m_db - STEM_RANGE_DB)
    return np.asarray(out, dtype=bool)


def _rms_db(x: np.ndarray) -> float:
    if x.size == 0:
        return -np.inf
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-12))


def _spans(
    voiced: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray
) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    for on, start, end in zip(voiced, starts_s, ends_s, strict=True):
        if not on:
            continue
        if spans and start <= spans[-1][1] + 1e-6:
            spans[-1] = (spans[-1][0], round(float(end), 3))
        else:
            spans.append((round(float(start), 3), round(float(end), 3)))
    return spans


def vocal_activity(
    probabilities: np.ndarray,
    starts_s: np.ndarray,
    ends_s: np.ndarray,
    stem: np.ndarray | None = None,
    sources: tuple[str, ...] = ("tagger",),
) -> VocalActivity:
    """Decide ``is_instrumental`` with a confidence from per-segment vocal probabilities and,
    when given, the vocal stem's per-segment activity (see the module docstring)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    top = np.sort(probs)[::-1][: max(1, int(np.ceil(len(probs) / 4)))]
    track_p = float(top.mean())
    sources = list(sources)
    if stem is not None:
        voiced = np.asarray(stem, dtype=bool)
        sources.append("vocal stem")
    else:
        voiced = probs >= VOICED_AT
    ratio = float(voiced.mean()) if voiced.size else 0.0
    if stem is not None:
        instrumental = not voiced.any()
        agree = instrumental == (track_p < VOICED_AT)
        confidence = 0.95 if agree else 0.8
    else:
        instrumental = ratio < MIN_VOICED_RATIO and track_p < VOICED_AT
        margin = abs(track_p - VOICED_AT) / (VOICED_AT if instrumental else 1 - VOICED_AT)
        confidence = 0.5 + 0.45 * min(1.0, margin)
    return VocalActivity(
        is_instrumental=bool(instrumental),
        confidence=round(confidence, 3),
        vocal_probability=round(track_p, 4),
        vocal_ratio=round(ratio, 4),
        spans=[] if instrumental else _spans(voiced, starts_s, ends_s),
        sources=sources,
    )
