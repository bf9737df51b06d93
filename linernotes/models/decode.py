"""How decoding went, as recorded in every track record."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DecodeReport(BaseModel):
    """How decoding went: a truncated or partly corrupt file still yields a record of what
    could be decoded, marked here."""

    decoded_duration: float | None = None
    truncated: bool = False
    warnings: list[str] = Field(default_factory=list)
