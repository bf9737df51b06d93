"""The interface every listening backend implements, and the long-track policy they share.

A backend turns one track's audio and several rendered prompts into one answer per prompt.
:meth:`ListenBackend.generate` does the common part: it converts the audio to 16 kHz mono,
applies the explicit long-track policy (``truncate`` at the model's cap and say so, or
``window`` the track into chunks no longer than the cap and merge their answers) and times the
work; a subclass implements :meth:`ListenBackend._generate_clip` for audio within the cap.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from linernotes.errors import ListenError
from linernotes.listen.audio import AudioInput, Clip, load_clip
from linernotes.listen.prompts import RenderedPrompt
from linernotes.models.listen import AudioUse, LongAudioPolicy, SegmentText

#: Audio cap of each model family, in seconds (30 s windows: 20 for AF3, 40 for MF-2601).
AF3_MAX_SECONDS = 600.0
MF_MAX_SECONDS = 1200.0
#: Appended to the prompt for Audio Flamingo 3's "think" LoRA, as its model card says.
THINK_SUFFIX = "Please think and reason about the input audio before you respond."


def max_seconds_for(model_id: str) -> float:
    """The audio cap implied by a model name: 20 min for Music Flamingo 2601, else 10 min."""
    name = model_id.lower()
    if "music-flamingo" in name and "2601" in name:
        return MF_MAX_SECONDS
    return AF3_MAX_SECONDS


class ListenOutput(BaseModel):
    """One prompt's answer on one track."""

    prompt_id: str
    text: str
    parts: list[SegmentText] = Field(default_factory=list)
    elapsed_s: float
    audio: AudioUse
    info: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Generation:
    """What a backend returns for one prompt on one clip."""

    text: str
    elapsed_s: float
    info: dict[str, Any] = field(default_factory=dict)


def plan_segments(
    duration: float, max_seconds: float, policy: LongAudioPolicy
) -> list[tuple[float, float]]:
    """Spans of the track to send: the whole track within the cap; past it, the first
    ``max_seconds`` (``truncate``) or equal chunks no longer than the cap (``window``)."""
    if duration <= max_seconds + 1e-6:
        return [(0.0, duration)]
    if policy == "truncate":
        return [(0.0, max_seconds)]
    n = math.ceil(duration / max_seconds)
    step = duration / n
    return [(round(i * step, 3), round(min(duration, (i + 1) * step), 3)) for i in range(n)]


def _clock(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m}:{s:02d}"


def merge_texts(parts: Sequence[SegmentText]) -> str:
    """One text from the answers of several segments, each headed by its time span."""
    if len(parts) == 1:
        return parts[0].text
    return "\n\n".join(f"[{_clock(p.start_s)}-{_clock(p.end_s)}]\n{p.text.strip()}" for p in parts)


class ListenBackend(ABC):
    """One way of asking an audio-language model about a track."""

    #: Registry name (``--backend``).
    name: ClassVar[str]

    def __init__(
        self,
        model_id: str,
        *,
        revision: str | None = None,
        variant: str | None = None,
        long_audio: LongAudioPolicy = "truncate",
        max_seconds: float | None = None,
    ) -> None:
        self.model_id = model_id
        self.revision = revision
        self.variant = variant
        self.long_audio: LongAudioPolicy = long_audio
        self._max_seconds = max_seconds

    @property
    def max_seconds(self) -> float:
        """Longest audio the model takes in one request."""
        return self._max_seconds or max_seconds_for(self.model_id)

    def describe(self) -> dict[str, Any]:
        """Identity of the backend for records and cache keys."""
        return {
            "backend": self.name,
            "model_id": self.model_id,
            "revision": self.revision,
            "variant": self.variant,
        }

    def generate(
        self,
        audio: AudioInput,
        prompts: Sequence[RenderedPrompt],
        *,
        sample_rate: int | None = None,
    ) -> list[ListenOutput]:
        """Answer every prompt about one track (16 kHz mono float32 samples, any array with
        its ``sample_rate``, a path or file bytes), in the order given."""
        if not prompts:
            return []
        cap = self.max_seconds
        limit = cap + 1.0 if self.long_audio == "truncate" else None
        clip = load_clip(audio, sample_rate, max_seconds=limit)
        duration = (
            clip.source_duration
            if clip.source_duration and clip.source_duration > clip.duration
            else clip.duration
        )
        if clip.duration <= 0:
            raise ListenError("the audio is empty")
        spans = plan_segments(duration, cap, self.long_audio)
        spans = [(a, min(b, clip.duration)) for a, b in spans]
        per_prompt: list[list[SegmentText]] = [[] for _ in prompts]
        elapsed = np.zeros(len(prompts))
        infos: list[dict[str, Any]] = [{} for _ in prompts]
        for start, end in spans:
            results = self._generate_clip(clip.segment(start, end), prompts)
            for i, res in enumerate(results):
                per_prompt[i].append(SegmentText(start_s=start, end_s=end, text=res.text))
                elapsed[i] += res.elapsed_s
                infos[i] = {**infos[i], **res.info}
        used = sum(b - a for a, b in spans)
        use = AudioUse(
            duration_s=round(duration, 3),
            used_s=round(used, 3),
            truncated=used < duration - 0.5,
            policy=self.long_audio,
            max_seconds=cap,
            windows=sum(max(1, math.ceil((b - a) / 30.0 - 1e-9)) for a, b in spans),
            segments=spans,
        )
        return [
            ListenOutput(
                prompt_id=p.prompt_id,
                text=merge_texts(parts),
                parts=parts if len(parts) > 1 else [],
                elapsed_s=round(float(elapsed[i]), 4),
                audio=use,
                info=infos[i],
            )
            for i, (p, parts) in enumerate(zip(prompts, per_prompt, strict=True))
        ]

    @abstractmethod
    def _generate_clip(self, clip: Clip, prompts: Sequence[RenderedPrompt]) -> list[Generation]:
        """Answer every prompt about a clip no longer than :attr:`max_seconds`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or memory (optional)."""
