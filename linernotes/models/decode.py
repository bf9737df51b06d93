"""How decoding went, as recorded in every track record."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: The first decoder: PyAV, FFmpeg's demuxers and codecs bundled in its wheel.
FFMPEG = "ffmpeg"
#: The second decoder, for files FFmpeg refuses: libsndfile, through ``soundfile``.
LIBSNDFILE = "libsndfile"


class DecodeReport(BaseModel):
    """How decoding went: which decoder read the file, why FFmpeg did not when libsndfile
    did, and whether the file is truncated or partly corrupt (a record of what could be
    decoded is still made, marked here).

    ``decoder`` defaults to FFmpeg, the only decoder of records written before libsndfile
    was added, so those records keep their meaning.
    """

    decoded_duration: float | None = None
    truncated: bool = False
    warnings: list[str] = Field(default_factory=list)
    decoder: str = FFMPEG
    ffmpeg_error: str | None = None
