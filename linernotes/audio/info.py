"""What a decoder reports about a file's audio stream before decoding it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AudioInfo:
    """What the container says about the audio stream."""

    format: str | None
    codec: str | None
    duration: float | None
    sample_rate: int
    channels: int
    bit_rate: int | None
    metadata: dict[str, str]
