"""``bench/consistency`` and ``bench/real_set``: how copies of a track are compared, and which
files of the fetched packages become the real set (no download here: the package is faked)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

pytest.importorskip("pretty_midi")  # the bench's set modules import it
soundfile = pytest.importorskip("soundfile")


def _values(bpm: float | None, key: str = "C major", meter: str = "4/4",
            confidence: float = 0.9) -> dict:
    return {"bpm": bpm, "bpm_confidence": confidence if bpm else 0.0, "key": key,
            "key_confidence": confidence, "time_signature": meter if bpm else None,
            "meter_confidence": confidence if bpm else 0.0}


def test_copies_agree_within_four_percent_or_at_a_related_level() -> None:
    import consistency

    assert consistency.agrees("bpm", 120.0, 124.0)
    assert not consistency.agrees("bpm", 120.0, 126.0)
    assert consistency.agrees("bpm", 120.0, 124.8, consistency.STRETCH)  # the 4 % faster copy
    assert consistency.agrees("bpm", None, None) and not consistency.agrees("bpm", 120.0, None)
    assert not consistency.agrees("key", "C major", "A minor")
    assert consistency.agrees_at_a_level(120.0, 60.0) and consistency.agrees_at_a_level(120.0, 80.0)
    assert not consistency.agrees_at_a_level(120.0, 100.0)
    assert not consistency.agrees_at_a_level(120.0, None)


def test_report_gives_agreement_confidence_ranking_and_missing_values() -> None:
    import consistency

    steady = {"original": _values(120.0), "crop": _values(121.0), "stretch": _values(124.8)}
    doubled = {"original": _values(90.0, confidence=0.5), "crop": _values(180.0),
               "stretch": _values(93.6)}
    lost = {"original": _values(100.0, confidence=0.6), "crop": _values(None),
            "stretch": _values(104.0, key="A minor")}
    lines = consistency.report([steady, doubled, lost], ("crop", "stretch"))
    bpm = next(line for line in lines if line.startswith("bpm"))
    level = next(line for line in lines if line.strip().startswith("any level"))
    assert bpm.split()[1:3] == ["33.3%", "100.0%"]  # only the steady crop agrees
    assert level.split()[2:4] == ["66.7%", "100.0%"]  # the doubled crop agrees at a level
    assert "1.000" in bpm  # the consistent track has the highest confidence
    assert "no bpm: original 0, crop 1, stretch 0" in lines


def test_real_set_keeps_the_tracks_of_a_package_and_leaves_out_jingles(
        tmp_path: Path, monkeypatch) -> None:
    import real_set

    music = tmp_path / "packages" / "demo-music" / "usr/share/demo/music"
    music.mkdir(parents=True)
    sr = 8000
    tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(int(45 * sr)) / sr).astype(np.float32)
    soundfile.write(music / "theme.ogg", tone, sr)
    soundfile.write(music / "jingle.ogg", tone[: 5 * sr], sr)
    (music / "README.txt").write_text("not audio")
    monkeypatch.setattr(real_set, "DATA", tmp_path)
    monkeypatch.setattr(real_set, "PACKAGES", {"demo-music": ("usr/share/demo/music", "MIT")})
    monkeypatch.setattr(real_set, "fetch_package", lambda package, data, folder: (
        data / "packages" / package, "1.0-1"))
    (track,) = real_set.ensure_set()
    assert track["name"] == "demo_theme" and track["licence"] == "MIT"
    assert track["version"] == "1.0-1" and abs(track["duration_s"] - 45.0) < 0.1
    assert json.loads((tmp_path / "manifest.json").read_text())["tracks"] == [track]


def test_a_crop_is_also_compared_with_the_whole_tracks_tempo_where_it_was_cut() -> None:
    """A track that changes tempo reports it in its tempo segments: a crop of its slow part
    disagrees with the whole's tempo but agrees with the segment it was cut from."""
    import consistency

    whole = {**_values(110.0), "tempo_segments": [
        {"start": 0.0, "end": 60.0, "bpm": 110.0}, {"start": 60.0, "end": 120.0, "bpm": 90.0}]}
    slow_crop = {**_values(91.0), "span_s": (55.0, 85.0)}
    assert consistency.local_tempo(whole, (55.0, 85.0)) == 90.0
    assert consistency.local_tempo(whole, (30.0, 60.0)) == 110.0
    assert consistency.local_tempo({**whole, "tempo_segments": []}, (70.0, 100.0)) == 110.0
    lines = consistency.report([{"original": whole, "crop": slow_crop,
                                 "stretch": _values(114.4)}], ("crop", "stretch"))
    bpm = next(line for line in lines if line.startswith("bpm"))
    local = next(line for line in lines if line.strip().startswith("local tempo"))
    assert bpm.split()[1] == "0.0%" and local.split()[2:4] == ["100.0%", "—"]
