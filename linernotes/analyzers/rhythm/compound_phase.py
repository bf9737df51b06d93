"""Where a compound beat starts inside its three eighths: on the long notes.

A beat tracker at the dotted-quarter period has three candidate phases, one per eighth, and
on a jig's running eighths the onsets alone do not choose between them: every eighth is
played, none accented. Worse, the spectral flux of a note that follows a held one is larger
than that of the held note itself (it rises from a decayed frame), so on a "quarter, eighth"
figure the tracker is drawn to the short note, an eighth before the beat. Listeners hear the
other way: a note that lasts longer than its neighbours is accented (the *durational accent*
of Povel & Essens 1985 and Parncutt 1994), and in compound metre the long note of a figure
sits on the beat.

:func:`long_note_phase` counts, at each of the three eighth positions of the tracked beats,
how often an onset is followed by silence at the next eighth (a note at least a quarter
long); :func:`rephase_compound_beats` moves the beats to the position where that happens
clearly more often than at the tracked one.

Examples
--------
>>> import numpy as np
>>> fr = 22050 / 256
>>> eighth = 0.2 * fr
>>> env = np.zeros(int(30 * fr))
>>> onsets = [k * 3 * eighth + off for k in range(45) for off in (0.0, 2 * eighth)]
>>> env[np.round(onsets).astype(int)] = 1.0
>>> early = np.arange(44) * 3 * eighth + 2 * eighth  # tracked on the short notes
>>> int(long_note_phase(env, early)[0])
1
"""

from __future__ import annotations

import numpy as np

from linernotes.analyzers.rhythm.subdivision import onset_strength_at, subdivision_frames

__all__ = ["long_note_phase", "rephase_compound_beats"]


def long_note_phase(
    envelope: np.ndarray,
    beat_frames: np.ndarray,
    *,
    onset_threshold: float = 0.5,
    min_gain: float = 0.15,
) -> tuple[int, np.ndarray]:
    """Eighth position (0, 1 or 2 eighths after each tracked beat) where compound beats
    should start, and the long-note rate at each position.

    Parameters
    ----------
    envelope : np.ndarray, shape (n_frames,)
        Onset strength.
    beat_frames : np.ndarray
        Tracked compound (dotted-quarter) beats, in frames.
    onset_threshold : float
        An eighth position has an onset when its envelope (maximum over three frames) is at
        least this fraction of the median over all eighth positions.
    min_gain : float
        The share of beats with a long note at another position must exceed the share at the
        tracked one by this much for the beats to move (one beat in seven): short tunes and
        mixed figures give a few long notes anywhere.

    Returns
    -------
    offset : int
        0 keeps the tracked phase; 1 or 2 moves every beat that many eighths later.
    rates : np.ndarray, shape (3,)
        Share of beats whose eighth at each position starts a note at least a quarter long.
    """
    env = np.asarray(envelope, dtype=np.float64)
    b = np.asarray(beat_frames, dtype=np.float64)
    if b.size < 8 or env.size == 0:
        return 0, np.zeros(3)
    strength = onset_strength_at(env, subdivision_frames(b, 3)).reshape(-1)
    reference = float(np.median(strength))
    if reference <= 1e-12:
        return 0, np.zeros(3)
    onset = strength >= onset_threshold * reference
    held = onset & ~np.append(onset[1:], True)
    rates = held.reshape(-1, 3).mean(axis=0)
    best = int(np.argmax(rates))
    if best == 0 or rates[best] - rates[0] < min_gain:
        return 0, rates
    return best, rates


def rephase_compound_beats(
    envelope: np.ndarray, beat_frames: np.ndarray, **settings: float
) -> np.ndarray:
    """``beat_frames`` moved onto the long notes (:func:`long_note_phase`), or unchanged.

    A moved grid loses the last beat's interval (there is no next beat to divide) and gains
    nothing before the first: the rhythm stage's beat extension fills the ends again.
    """
    offset, _ = long_note_phase(envelope, beat_frames, **settings)
    if offset == 0:
        return np.asarray(beat_frames)
    return subdivision_frames(beat_frames, 3)[:, offset]
