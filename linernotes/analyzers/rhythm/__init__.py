"""Rhythm: tempo, beats, downbeats, meter and onset rate, as the ``rhythm`` stage.

Modules, in the order the stage (:mod:`.stage`) uses them:

* :mod:`.params` - the stage's settings and the defaults its functions share;
* :mod:`.activation` - the learned beat and downbeat activation (a small network, numpy);
  the pulses are tracked on it when it shows a periodic beat, and its bars read by
  :mod:`.bar_decoding` and :mod:`.learned_meter`; otherwise the hand-made path below;
* :mod:`.onsets` - onset envelopes (all bands, and low/mid/high) and pitch changes;
* :mod:`.tempo` - periodicity, the tempo prior and the floors a tempo must clear;
* :mod:`.beat_tracking` - dynamic-programming beat tracking and beat placement;
* :mod:`.phase_slip` - half-beat slips of a learned grid, and its sections read back in phase;
* :mod:`.tempo_octave` - is the tracked pulse the felt beat, two beats, or half a beat?;
* :mod:`.pulse` - the tracked pulse grid (onsets, tempo, beats, octave check together);
* :mod:`.subdivision`, :mod:`.beat_features`, :mod:`.bar_length`, :mod:`.bar_phase`,
  :mod:`.compound_phase`, :mod:`.triple_bar`, :mod:`.compound_bar` - the metre's parts,
  put together by :mod:`.meter`;
* :mod:`.tempo_curve` - the local tempo and its steady segments;
* :mod:`.result` - the result model and its conventions.

Fitted weights are read from :data:`linernotes.analyzers.fitted.WEIGHTS_FILE`, the network's
from :data:`.activation.WEIGHTS_FILE`; how each rule
and constant was chosen is recorded in ``bench/results/rhythm_tuning_history.md``.
"""

from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.result import (
    RhythmResult,
    TempoCandidate,
    TempoSegment,
    summarize_rhythm,
)
from linernotes.analyzers.rhythm.stage import rhythm

__all__ = [
    "RhythmParams",
    "RhythmResult",
    "TempoCandidate",
    "TempoSegment",
    "rhythm",
    "summarize_rhythm",
]
