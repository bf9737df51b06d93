"""The learned beat/downbeat activation and the bars read from it.

The network's numpy inference must compute what its torch twin (the one
``bench/train_activation`` trains) computes, for any weights and any length, block edges
included; the packaged weights must find beats on a plain click track; the bar decoder must
count bars of two, three and four and follow a bar line that moves; where the network hears
two beats of a bar alike, the bars turn to the beat the hand-made evidence marks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from linernotes.analyzers.rhythm import activation
from linernotes.analyzers.rhythm.bar_decoding import decode_bars, peak_near_beats, rotate_bars
from linernotes.analyzers.rhythm.beat_features import DOWNBEAT_EVIDENCE
from linernotes.analyzers.rhythm.learned_meter import learned_meter
from linernotes.analyzers.rhythm.params import RhythmParams
from linernotes.analyzers.rhythm.stage import rhythm
from linernotes.features import extract_features_from_array

ROOT = Path(__file__).resolve().parents[1]


def _click_track(bpm: float, beats_per_bar: int, seconds: float, sr: int = 22050
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Clicks on every beat, louder and lower on each bar's first; the beat times."""
    y = np.zeros(int(seconds * sr), np.float32)
    times = np.arange(0.5, seconds - 0.5, 60.0 / bpm)
    t = np.arange(int(0.05 * sr)) / sr
    for k, start in enumerate(times):
        first = k % beats_per_bar == 0
        freq = 600.0 if first else 1500.0
        click = (1.0 if first else 0.5) * np.sin(2 * np.pi * freq * t) * np.exp(-t * 60)
        i = int(start * sr)
        y[i:i + click.size] += click.astype(np.float32)[: y.size - i]
    return y, times


def test_numpy_inference_matches_the_torch_twin(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "bench"))
    import train_activation

    torch.manual_seed(3)
    model = train_activation.build_model()
    model.eval()
    path = tmp_path / "weights.npz"
    train_activation.export_weights(model, path, {"test": True})
    weights = activation.load_weights(path)
    rng = np.random.default_rng(0)
    # two chunks and part of a third: the chunk edges must not show
    n = 2 * activation.CHUNK_FRAMES + 777
    mel = rng.normal(-40.0, 15.0, (64, n)).astype(np.float32)
    harmonic = rng.uniform(0.0, 1.0, (activation.HARMONIC_CHANNELS, n)).astype(np.float32)
    beat, down = activation.beat_activation(mel, harmonic, weights)
    x = activation.network_input(mel, harmonic)
    with torch.no_grad():
        ref = torch.sigmoid(model(torch.from_numpy(x)[None]))[0]
    np.testing.assert_allclose(beat, ref[0].numpy(), atol=2e-5)
    np.testing.assert_allclose(down, ref[1].numpy(), atol=2e-5)


def test_an_ensemble_averages_its_members_probabilities(tmp_path: Path) -> None:
    """``bench/train_activation --combine`` stores single networks as one file whose
    activation is the mean of the members' probabilities."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "bench"))
    import train_activation

    paths = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        paths.append(tmp_path / f"net{seed}.npz")
        train_activation.export_weights(train_activation.build_model(), paths[-1],
                                        {"seed": seed})
    out = tmp_path / "ensemble.npz"
    assert train_activation.main(["--combine", *map(str, paths), "--out", str(out)]) == 0
    members = activation.load_weights(out)
    assert len(members) == 2
    rng = np.random.default_rng(1)
    mel = rng.normal(-40.0, 15.0, (64, 900)).astype(np.float32)
    harmonic = rng.uniform(0.0, 1.0, (activation.HARMONIC_CHANNELS, 900)).astype(np.float32)
    each = [activation.beat_activation(mel, harmonic, activation.load_weights(p)) for p in paths]
    beat, down = activation.beat_activation(mel, harmonic, members)
    np.testing.assert_allclose(beat, (each[0][0] + each[1][0]) / 2, atol=1e-6)
    np.testing.assert_allclose(down, (each[0][1] + each[1][1]) / 2, atol=1e-6)
    assert not np.allclose(each[0][0], each[1][0])
    with pytest.raises(SystemExit, match="already an ensemble"):
        train_activation.main(["--combine", str(out), str(paths[0]), "--out",
                               str(tmp_path / "again.npz")])


def test_the_network_file_is_read_at_call_time(tmp_path: Path, monkeypatch) -> None:
    """``bench/activation_sweep --weights`` points the module at a candidate file: every
    later activation reads it, not the packaged network."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "bench"))
    import train_activation

    torch.manual_seed(7)
    path = tmp_path / "candidate.npz"
    train_activation.export_weights(train_activation.build_model(), path, {"seed": 7})
    rng = np.random.default_rng(2)
    mel = rng.normal(-40.0, 15.0, (64, 400)).astype(np.float32)
    harmonic = rng.uniform(0.0, 1.0, (activation.HARMONIC_CHANNELS, 400)).astype(np.float32)
    packaged = activation.beat_activation(mel, harmonic)
    monkeypatch.setattr(activation, "WEIGHTS_FILE", path)
    candidate = activation.beat_activation(mel, harmonic)
    expected = activation.beat_activation(mel, harmonic, activation.load_weights(path))
    np.testing.assert_array_equal(candidate[0], expected[0])
    assert not np.allclose(candidate[0], packaged[0])


def test_packaged_network_finds_the_beats_of_a_click_track() -> None:
    y, times = _click_track(110.0, 4, 16.0)
    features = extract_features_from_array(y, 22050)
    beat, _ = activation.features_activation(features)
    fr = features.params.frame_rate
    on = np.round(times * fr).astype(int)
    near = np.array([beat[max(i - 2, 0): i + 3].max() for i in on])
    off = np.round((times[:-1] + 30.0 / 110.0) * fr).astype(int)  # half-way between beats
    assert np.median(near) > 0.3
    assert np.median(near) > 4 * np.median(beat[off])


def test_learned_path_reports_tempo_and_beats_on_the_beat() -> None:
    y, times = _click_track(96.0, 3, 20.0)
    result = rhythm(extract_features_from_array(y, 22050), RhythmParams())
    assert result.bpm == pytest.approx(96.0, rel=0.04)
    found = np.asarray(result.beats)
    hits = [np.min(np.abs(found - t)) < 0.07 for t in times[2:-2]]
    assert np.mean(hits) > 0.9
    assert result.meter_decision == "learned"


def test_hand_made_path_is_still_there() -> None:
    y, _ = _click_track(120.0, 4, 12.0)
    result = rhythm(extract_features_from_array(y, 22050),
                    RhythmParams(learned_activation=False))
    assert result.bpm == pytest.approx(120.0, rel=0.04)
    assert result.meter_decision != "learned"


@pytest.mark.parametrize("bar", [2, 3, 4])
def test_bar_decoder_counts_bars(bar: int) -> None:
    rng = np.random.default_rng(bar)
    strength = np.where(np.arange(48) % bar == 1, 0.7, 0.15) + rng.uniform(-0.1, 0.1, 48)
    found = decode_bars(strength)
    assert found.beats_per_bar == bar
    assert found.margin > 0
    assert set(np.flatnonzero(found.position == 0) % bar) == {1}


def test_bar_decoder_follows_a_bar_line_that_moves() -> None:
    # a piece with a one-beat pickup played twice: the bar line moves by a beat half-way
    first = np.where(np.arange(24) % 4 == 1, 0.8, 0.1)
    second = np.where(np.arange(24) % 4 == 2, 0.8, 0.1)
    found = decode_bars(np.concatenate([first, second]))
    assert found.beats_per_bar == 4
    downs = np.flatnonzero(found.position == 0)
    assert set(downs[downs < 22] % 4) == {1}
    assert set(downs[downs > 26] % 4) == {2}


def test_turning_the_bars_keeps_the_decoders_moved_bar_line() -> None:
    # bars of four whose bar line moves by a beat after 12 beats; the score marks the beat
    # after each decoded downbeat
    position = np.concatenate([np.arange(12) % 4, np.arange(1, 13) % 4])
    score = np.where(position == 1, 1.0, 0.0)
    turned = rotate_bars(position, 4, score)
    np.testing.assert_array_equal(turned, (position - 1) % 4)
    # a score that ties every rotation leaves the decoded bars as they are
    np.testing.assert_array_equal(rotate_bars(position, 4, np.ones(24)), position)


def _beats_one_and_three_alike(n_bars: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A downbeat activation with beats 1 and 3 of a 4/4 bar alike (3 a little stronger), the
    beat frames, and hand-made evidence whose harmony and bass change on beat 1."""
    beat_frames = np.arange(4 * n_bars) * 20.0 + 10.0
    activation_down = np.full(int(beat_frames[-1]) + 20, 0.05)
    for k, frame in enumerate(beat_frames):
        activation_down[int(frame)] = {0: 0.55, 2: 0.6}.get(k % 4, 0.1)
    evidence = np.zeros((beat_frames.size, len(DOWNBEAT_EVIDENCE)))
    first = np.arange(beat_frames.size) % 4 == 0
    for name in ("chroma_change", "bass_change", "accent_low"):
        evidence[:, DOWNBEAT_EVIDENCE.index(name)] = np.where(first, 1.5, -0.5)
    return activation_down, beat_frames, evidence


def test_bars_turn_to_the_beat_where_harmony_and_bass_change() -> None:
    activation_down, beat_frames, evidence = _beats_one_and_three_alike()
    envelope = np.zeros(activation_down.size)
    decoded = learned_meter(envelope, activation_down, beat_frames, long_bias=0.3, floor=0.2)
    turned = learned_meter(envelope, activation_down, beat_frames, long_bias=0.3, floor=0.2,
                           evidence=evidence)
    assert decoded.pulses_per_bar == turned.pulses_per_bar == 4
    assert decoded.bar_phase is not None and turned.bar_phase is not None
    downbeats = np.flatnonzero((np.arange(beat_frames.size) - turned.bar_phase) % 4 == 0)
    assert set(downbeats % 4) == {0}
    # the network alone put the bar on beat 3
    alone = np.flatnonzero((np.arange(beat_frames.size) - decoded.bar_phase) % 4 == 0)
    assert set(alone % 4) == {2}


def test_band_with_a_bass_note_per_bar_keeps_its_bar_lines() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from rhythm_signals import SR, band_track

    y, _, downs = band_track(120.0, 4, 20.0)
    result = rhythm(extract_features_from_array(y, SR), RhythmParams())
    assert result.time_signature == "4/4"
    found = np.asarray(result.downbeats)
    assert np.mean([np.min(np.abs(found - t)) < 0.07 for t in downs[1:-1]]) > 0.9


def test_harmonic_frames_follow_the_pitch_frames() -> None:
    chroma = np.zeros((12, 3))
    chroma[[0, 7, 4], [0, 1, 2]] = [2.0, 4.0, 1.0]  # C, then G, then E, each alone
    out = activation.harmonic_frames(chroma, chroma, n_frames=17, hop_ratio=8.0)
    assert out.shape == (activation.HARMONIC_CHANNELS, 17)
    np.testing.assert_allclose(out[0, [0, 4, 8]], [1.0, 0.5, 0.0])  # C fades as G comes
    np.testing.assert_allclose(out[7, [8, 16]], [1.0, 0.0])
    np.testing.assert_allclose(out[12 + 4, 16], 1.0)  # the bass rows, the same shapes


def test_peak_near_beats_reads_the_peak_near_each_beat() -> None:
    act = np.zeros(100)
    act[[10, 31, 52]] = [0.9, 0.2, 0.6]
    np.testing.assert_allclose(peak_near_beats(act, np.array([11.2, 30.0, 47.0])),
                               [0.9, 0.2, 0.0])


def test_training_masks_the_downbeats_of_a_clip_without_bar_lines() -> None:
    """A clip whose bar lines are unknown trains the beat alone: its example's downbeat row
    is masked, and the loss does not depend on what that row's targets are."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "bench"))
    import train_activation

    rng = np.random.default_rng(3)
    clip = {"mel": rng.normal(-50, 10, (64, 1200)).astype(np.float32),
            "harmonic": np.zeros((activation.HARMONIC_CHANNELS, 1200), np.float32),
            "frame_rate": 86.13, "beats": [0.5, 1.0, 1.5, 2.0], "downbeats": None}
    x, y, mask = train_activation.stretched_example(clip, rng, 600)
    assert x.shape[1] == y.shape[1] == mask.shape[1] == 600
    assert mask[0].all() and not mask[1].any()
    known = {**clip, "downbeats": [0.5, 2.0]}
    assert train_activation.stretched_example(known, rng, 600)[2].all()
    logits = torch.zeros(1, 2, 600)
    t, m = torch.from_numpy(y[None]), torch.from_numpy(np.array(mask)[None])
    flipped = t.clone()
    flipped[0, 1] = 1.0 - flipped[0, 1]
    assert float(train_activation.masked_loss(logits, t, m)) == pytest.approx(
        float(train_activation.masked_loss(logits, flipped, m)))
    # where nothing is masked it is the plain mean cross-entropy
    full = torch.ones_like(m)
    assert float(train_activation.masked_loss(logits, t, full)) == pytest.approx(
        float(torch.nn.functional.binary_cross_entropy_with_logits(logits, t)))


def test_training_script_writes_weights_the_analyzer_loads(tmp_path: Path, monkeypatch) -> None:
    """``bench/train_activation`` (the one writer of the shipped weights) runs end to end on
    a small manifest and writes a file :func:`activation.load_weights` reads."""
    pytest.importorskip("torch")
    import json
    import zlib

    sys.path.insert(0, str(ROOT / "bench"))
    import train_activation

    rng = np.random.default_rng(5)
    clips, held = [], 0
    for i in range(40):
        name = f"train_{i:04d}_test"
        held += zlib.crc32(name.encode()) % 100 < 8
        n, n_pf = 1200, 150
        (tmp_path / "clips").mkdir(exist_ok=True)
        np.savez(tmp_path / "clips" / f"{name}.npz",
                 mel_db=rng.normal(-50, 10, (64, n)).astype(np.float16),
                 chroma=rng.uniform(0, 1, (12, n_pf)), bass=rng.uniform(0, 1, (12, n_pf)),
                 hop_ratio=8.0, frame_rate=86.13)
        beats = np.arange(0.5, 13.0, 0.5)
        # every third clip's bar lines unknown (a game song with no time signature)
        clips.append({"name": name, "file": f"clips/{name}.npz", "beats": beats.tolist(),
                      "downbeats": None if i % 3 == 0 else beats[::4].tolist()})
    assert held > 0
    (tmp_path / "manifest.json").write_text(json.dumps({"clips": clips}))
    monkeypatch.setattr(train_activation, "DATA", tmp_path)
    out = tmp_path / "weights.npz"
    assert train_activation.main(["--minutes", "0.01", "--out", str(out)]) == 0
    weights = activation.load_weights(out)
    assert weights[0].input_w.shape[1] == 2 * 64 + activation.HARMONIC_CHANNELS
    beat, down = activation.beat_activation(np.full((64, 300), -40.0, np.float32),
                                            np.zeros((activation.HARMONIC_CHANNELS, 300),
                                                     np.float32), weights)
    assert beat.shape == down.shape == (300,)
    # several seeds: one network each (kept beside the set), stored as one ensemble
    both = tmp_path / "ensemble.npz"
    assert train_activation.main(["--minutes", "0.01", "--seeds", "1,2", "--out", str(both)]) == 0
    assert len(activation.load_weights(both)) == 2
    assert (tmp_path / "activation_seed1.npz").exists()
