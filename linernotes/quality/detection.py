"""The verdict of one quality detector: a value, pass/warn/fail, the threshold used, a reason.

Every objective check returns a :class:`Detection`, so a user can see not just that a track
was rejected but which figure crossed which limit. ``unknown`` means the figure could not be
measured (a mono file has no stereo correlation; a record made before the native spectrum was
collected has no bandwidth): it never counts for or against the track.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["pass", "warn", "fail", "unknown"]

#: Score contribution of each status (unknown detectors are left out of the mean).
STATUS_SCORE: dict[str, float] = {"pass": 1.0, "warn": 0.5, "fail": 0.0}


class Detection(BaseModel):
    """One detector's result.

    ``threshold`` holds the limits that decided the status (e.g. ``{"warn": 2.0, "fail": 5.0}``)
    in ``unit``; ``reason`` is one line a person can read in a filter report.
    """

    value: float | None
    status: Status
    threshold: dict[str, float] = Field(default_factory=dict)
    unit: str = ""
    reason: str
    details: dict[str, float | int | None] = Field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """True when the detector warned or failed."""
        return self.status in ("warn", "fail")


def grade_above(value: float, warn: float, fail: float) -> Status:
    """``fail`` at or above ``fail``, ``warn`` at or above ``warn``, else ``pass``."""
    if value >= fail:
        return "fail"
    if value >= warn:
        return "warn"
    return "pass"


def grade_below(value: float, warn: float, fail: float) -> Status:
    """``fail`` at or below ``fail``, ``warn`` at or below ``warn``, else ``pass``."""
    if value <= fail:
        return "fail"
    if value <= warn:
        return "warn"
    return "pass"


def worst(*statuses: Status) -> Status:
    """The most severe of several statuses (unknown only when all are unknown)."""
    for status in ("fail", "warn", "pass"):
        if status in statuses:
            return status  # type: ignore[return-value]
    return "unknown"
