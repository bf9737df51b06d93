"""A human edit: one field's value set by a person, with time and author, maybe locked.

Edits are keyed by the track's content hash, so a moved or renamed file keeps them; nothing
is ever deleted (an undo marks the edit ``undone``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field


class Edit(BaseModel):
    """One edit of one field of one track (by content hash)."""

    id: int | None = None
    content_hash: str
    field: str
    value: Any = None
    locked: bool = False
    author: str = "unknown"
    at: str = Field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )
    undone: bool = False
