"""Measured analyzers, each a registered pure stage over the shared features.

Built in: ``loudness``, ``rhythm`` (tempo, beats, downbeats, meter), ``tonal`` (key, tuning,
chroma) and ``timbre`` (spectral and MFCC statistics); importing this package registers them.
See :mod:`linernotes.analyzers.registry` for adding one (and list its module here).
"""

from linernotes.analyzers import loudness, rhythm, timbre, tonal  # noqa: F401  (registers)
from linernotes.analyzers.registry import (
    FEATURES,
    Stage,
    analyzer,
    get_stage,
    register,
    registered_stages,
)

__all__ = ["FEATURES", "Stage", "analyzer", "get_stage", "register", "registered_stages"]
