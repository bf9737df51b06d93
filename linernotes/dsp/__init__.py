"""Signal-processing building blocks for the streaming front end.

Filterbanks and per-frame descriptors are pure functions (:mod:`.filterbanks`);
:class:`FrameStream`, :class:`LoudnessAccumulator` and :class:`SpectrumAccumulator` hold just
enough state to process a signal chunk by chunk with results identical to processing it
whole, and :class:`FrameStore` collects the per-chunk results without fragmenting memory.
"""

from linernotes.dsp.filterbanks import (
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
    midi_to_hz,
    pitch_filterbank,
    spectral_contrast,
    spectral_frame_features,
)
from linernotes.dsp.frames import FrameStore, FrameStream
from linernotes.dsp.loudness import (
    CLIP_LEVEL,
    LOUDNESS_BLOCK_S,
    LoudnessAccumulator,
    LoudnessBlocks,
    k_weighting_sos,
)
from linernotes.dsp.spectrum import NativeSpectrum, SpectrumAccumulator, third_octave_edges

__all__ = [
    "CLIP_LEVEL",
    "LOUDNESS_BLOCK_S",
    "FrameStore",
    "FrameStream",
    "LoudnessAccumulator",
    "LoudnessBlocks",
    "NativeSpectrum",
    "SpectrumAccumulator",
    "hz_to_mel",
    "k_weighting_sos",
    "mel_filterbank",
    "mel_to_hz",
    "midi_to_hz",
    "pitch_filterbank",
    "spectral_contrast",
    "spectral_frame_features",
    "third_octave_edges",
]
