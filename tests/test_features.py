"""The streaming front end gives the same features however the audio is chunked."""

from __future__ import annotations

import numpy as np
from synth import tone

from linernotes.dsp import FrameStore
from linernotes.features import extract_features, extract_features_from_array, iter_array_chunks


def test_chunking_does_not_change_features() -> None:
    sr = 44100
    rng = np.random.default_rng(3)
    y = np.stack(
        [tone(330.0, 7.3, sr) + 0.05 * rng.standard_normal(int(7.3 * sr)).astype(np.float32)] * 2
    )
    whole = extract_features_from_array(y, sr)
    small = extract_features(iter_array_chunks(y, 4097), sr, 2)
    assert whole.mel_db.shape == small.mel_db.shape
    np.testing.assert_allclose(whole.mel_db, small.mel_db, atol=1e-3)
    np.testing.assert_allclose(whole.pitch_spectrum, small.pitch_spectrum, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(whole.loudness.kw_power, small.loudness.kw_power, rtol=1e-5)
    np.testing.assert_allclose(whole.loudness.true_peak, small.loudness.true_peak, rtol=1e-6)


def test_frame_counts_and_duration() -> None:
    sr = 22050
    feats = extract_features_from_array(tone(440.0, 3.0, sr), sr)
    assert feats.duration == 3.0
    assert feats.n_frames == 1 + (3 * sr) // 256
    assert feats.pitch_spectrum.shape == (216, 1 + (3 * sr) // 2048)
    # the 440 Hz pitch bin (A4 = MIDI 69) is the strongest
    bins = feats.params.pitch_bin_midi()
    assert bins[np.argmax(feats.pitch_spectrum.mean(axis=1))] == 69


def test_resampling_keeps_pitch_at_odd_rates() -> None:
    for sr in (8000, 96000, 11025):
        feats = extract_features_from_array(tone(440.0, 2.0, sr), sr)
        bins = feats.params.pitch_bin_midi()
        assert bins[np.argmax(feats.pitch_spectrum.mean(axis=1))] == 69, sr


def test_empty_and_tiny_input() -> None:
    for n in (0, 1, 100):
        feats = extract_features_from_array(np.zeros(n, np.float32), 44100)
        assert feats.mel_db.shape[0] == 64
        assert np.isfinite(feats.mel_db).all()


def test_frame_store_joins_what_was_appended(monkeypatch) -> None:
    # tiny blocks, so that appends and the join cross many block boundaries
    monkeypatch.setattr(FrameStore, "BLOCK_BYTES", 3 * 4 * 5)
    rng = np.random.default_rng(4)
    parts = [rng.standard_normal((3, n)) for n in (4, 0, 1, 11, 5, 2)]
    store = FrameStore((3,))
    for part in parts:
        store.append(part)
    joined = store.join()
    assert joined.dtype == np.float32 and joined.flags.c_contiguous
    assert np.array_equal(joined, np.concatenate(parts, axis=1).astype(np.float32))
    assert store.n_frames == 0 and store.join().shape == (3, 0)
    scalar = FrameStore(())
    scalar.append(np.arange(7.0))
    assert np.array_equal(scalar.join(), np.arange(7.0, dtype=np.float32))
