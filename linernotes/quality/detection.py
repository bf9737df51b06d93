"""The verdict of one quality detector: a value, pass/warn/fail, the threshold used, a reason.

Every objective check returns a :class:`Detection`, so a user can see not just that a track
was rejected but which figure crossed which limit. ``unknown`` means the figure could not be
measured (a mono file has no stereo correlation; a record made before the native spectrum was
collected has no bandwidth): it never counts for or against the track.
"""

from __future__ import annotations

from linernotes.models.quality import Detection, Status

__all__ = ["STATUS_SCORE", "Detection", "Status", "grade_above", "grade_below", "worst"]

#: Score contribution of each status (unknown detectors are left out of the mean).
STATUS_SCORE: dict[str, float] = {"pass": 1.0, "warn": 0.5, "fail": 0.0}


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
