"""Tonal analysis: tuning, chroma and key from the shared log-frequency pitch spectrum.

The stage reads :attr:`linernotes.features.Features.pitch_spectrum` (3 bins per semitone,
MIDI 33-105, 8192-point window at 22050 Hz) and works in four steps, each a pure function:

1. :func:`.tuning.estimate_tuning` - the spectral peaks of every frame are located to a fraction of
   a bin, their deviations from the equal-tempered grid are histogrammed on a circle, and the
   histogram's mode is the tuning offset in cents. The concentration of that histogram says
   whether the signal is pitched at all: noise and drums give near-uniform deviations, and
   then neither a tuning nor a key is reported (nothing is invented).
2. :func:`.chroma.semitone_spectrogram` - the spectrum is log-compressed (quiet notes
   count), spectrally whitened (a one-octave moving average along the pitch axis is
   subtracted, so broadband noise and drum hits cancel while partials stay), shifted by the
   tuning and collapsed to one row per semitone.
3. :func:`.chroma.chroma_from_semitones` - pitch classes per frame, each frame normalised to its
   maximum so that every moment of the track counts about equally (loud drops do not outvote
   quiet verses), averaged over the track; nearly silent frames are gated out.
4. :func:`.key.key_scores` - Pearson correlation of the chroma with the 24 rotated key templates.
   The templates come from the Albrecht-Shanahan profile (note durations in a classical
   corpus, the family that read most keys on the development split) and account for the
   overtones that every audio chroma contains (each scale degree also adds to the pitch
   classes of its 2nd and 3rd harmonics: octave and fifth), which is what makes profile
   matching work on audio rather than on symbolic notes.

The confidence (:func:`.key.key_confidence`) is a logistic function of how clearly the tonic wins
(the margin over the best key that is not the parallel mode), of the best correlation and of
how clearly the chroma tells the mode's third from the other mode's. Its weights were fitted
by ``bench/key_calibration`` and are recalibrated on the development split of
``bench/corpus_set`` by ``bench/fit_confidence``, so that it approximates the probability
that the key is exactly right. It is scaled towards 0 when only a few pitch classes sound
(a drone, one note) and is 0 when the input is not pitched (then ``key`` is ``None``).

Key spelling (one conventional name per key):

========  =====================================================
major     C, Db, D, Eb, E, F, F#, G, Ab, A, Bb, B
minor     C, C#, D, Eb, E, F, F#, G, G#, A, Bb, B
========  =====================================================

i.e. the spelling whose key signature has the fewest accidentals; for the six-accidental
pair, F# major and Eb minor.

Modules: :mod:`.tuning`, :mod:`.chroma`, :mod:`.key` (names, profiles, templates, choice
and confidence) and :mod:`.stage` (the registered stage and its result).
"""

from linernotes.analyzers.tonal.stage import KeyCandidate, TonalParams, TonalResult, tonal

__all__ = ["KeyCandidate", "TonalParams", "TonalResult", "tonal"]
