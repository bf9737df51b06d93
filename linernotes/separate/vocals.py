"""Vocal activity read from a record's vocals stem, for the steps that need to know whether,
and where, a track has a voice (``is_instrumental``, lyrics).

The figures are measured with the stem (:mod:`linernotes.pipeline.stems`): the stem's ``presence``
(probability that the part is really there, not separation bleed) and its per-window
``activity``. This module only reads them back in one place, so consumers do not depend on
the record's layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from linernotes.models import TrackRecord


@dataclass(frozen=True)
class StemVocals:
    """Whether and where a track has vocals, from its vocals stem.

    ``probability``: that the track has vocals at all (``None`` when the mix is silent).
    ``active``: the share of each ``window_s`` window in which the stem sounds.
    ``separated``: the stem was made by a separation model (else the user provided it).
    """

    probability: float | None
    window_s: float
    active: tuple[float, ...]
    separated: bool

    def sections(self, *, threshold: float = 0.5) -> list[tuple[float, float]]:
        """``(start_s, end_s)`` of the runs of windows at least ``threshold`` active.

        Examples
        --------
        >>> StemVocals(0.9, 1.0, (0, 0.8, 1, 0, 0.6), True).sections()
        [(1.0, 3.0), (4.0, 5.0)]
        """
        out: list[tuple[float, float]] = []
        start = None
        for i, share in enumerate([*self.active, 0.0]):
            if share >= threshold and start is None:
                start = i
            elif share < threshold and start is not None:
                out.append((start * self.window_s, i * self.window_s))
                start = None
        return out


def stem_vocals(record: TrackRecord) -> StemVocals | None:
    """The track's vocal activity, or ``None`` when it has no usable vocals stem (none, or
    silent or unreadable)."""
    stem = next((s for s in record.stems if s.stem_type == "vocals"), None)
    if stem is None or stem.features is None or stem.error is not None:
        return None
    return StemVocals(
        probability=stem.presence,
        window_s=stem.features.activity_window_s,
        active=tuple(stem.features.activity),
        separated=stem.model is not None,
    )
