"""Where a measured-summary value came from."""

from __future__ import annotations

from enum import Enum


class Provenance(str, Enum):
    """Where a value came from. Human values are never overwritten by automatic runs."""

    MEASURED = "measured"
    MODEL = "model"
    HUMAN = "human"
