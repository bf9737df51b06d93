"""Where a measured-summary value came from."""

from __future__ import annotations

from enum import Enum


class Provenance(str, Enum):
    """Where a value came from. Human values are never overwritten by automatic runs.
    ``separated``: a stem a separation model made from the mix (not one the user provided)."""

    MEASURED = "measured"
    MODEL = "model"
    HUMAN = "human"
    SEPARATED = "separated"
