"""``bench/produced_set``: how an LMMS project becomes scored clips. The project files are
written here in LMMS's own format; the render is LMMS's where it is installed, and a click
track standing in for it where the test is about cutting and labelling."""

from __future__ import annotations

import json
import shutil
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

soundfile = pytest.importorskip("soundfile")

SR = 22050


def _project_xml(*, bpm: int, numerator: int, drums: bool, automated: bool = False) -> bytes:
    sample = "drums/kick01.ogg" if drums else "basses/bass01.ogg"
    auto = ('<automationpattern name="Tempo"><time pos="0" value="120"/>'
            '<object id="77"/></automationpattern>') if automated else ""
    return (f'<?xml version="1.0"?><lmms-project version="1.0" type="song">'
            f'<head timesig_numerator="{numerator}" timesig_denominator="4" mastervol="100">'
            f'<bpm value="{bpm}" id="77"/></head><song><trackcontainer>'
            f'<track type="0" name="t"><instrumenttrack><instrument name="audiofileprocessor">'
            f'<audiofileprocessor src="{sample}"/></instrument></instrumenttrack></track>'
            f'{auto}</trackcontainer></song></lmms-project>').encode()


def _write_mmpz(path: Path, xml: bytes) -> Path:
    """Qt's qCompress layout, as LMMS writes ``.mmpz``: big-endian length, then zlib."""
    path.write_bytes(struct.pack(">I", len(xml)) + zlib.compress(xml))
    return path


def test_a_compressed_project_gives_its_tempo_metre_and_drums(tmp_path: Path) -> None:
    import produced_set

    path = _write_mmpz(tmp_path / "a.mmpz", _project_xml(bpm=174, numerator=3, drums=True))
    root = produced_set.read_project(path)
    assert produced_set.project_metre(root, path) == (174.0, 3, 4)
    assert produced_set.has_drums(root)
    plain = tmp_path / "b.mmp"
    plain.write_bytes(_project_xml(bpm=90, numerator=4, drums=False))
    assert not produced_set.has_drums(produced_set.read_project(plain))


def test_an_automated_tempo_is_refused_by_name(tmp_path: Path) -> None:
    import produced_set

    path = _write_mmpz(tmp_path / "auto.mmpz",
                       _project_xml(bpm=120, numerator=4, drums=True, automated=True))
    with pytest.raises(ValueError, match=r"auto\.mmpz: the tempo is automated"):
        produced_set.project_metre(produced_set.read_project(path), path)


def test_the_grid_starts_at_zero_and_bars_only_for_a_scorable_numerator() -> None:
    import produced_set

    grid = produced_set.project_grid(120.0, 3, 10.0)
    assert np.allclose(grid.beats[:4], [0.0, 0.5, 1.0, 1.5]) and grid.beats[-1] == 10.0
    assert np.allclose(grid.downbeats[:3], [0.0, 1.5, 3.0]) and grid.states_time_signature
    odd = produced_set.project_grid(140.0, 1, 10.0)
    assert len(odd.downbeats) == 0 and not odd.states_time_signature


def _clicks(path: Path, bpm: float, duration_s: float, lead_in_s: float) -> None:
    y = np.zeros(int(duration_s * SR), dtype=np.float32)
    burst = 0.5 * np.sin(2 * np.pi * 220 * np.arange(int(0.04 * SR)) / SR)
    for t in np.arange(lead_in_s, duration_s - 0.1, 60.0 / bpm):
        y[int(t * SR): int(t * SR) + len(burst)] += burst
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.stack([y, y], axis=1), SR)


@pytest.fixture
def produced(tmp_path: Path, monkeypatch):
    import produced_set

    monkeypatch.setattr(produced_set, "DATA", tmp_path / "data")
    songs = tmp_path / "projects"
    (songs / "demos").mkdir(parents=True)
    _write_mmpz(songs / "demos" / "Someone-Long Song.mmpz",
                _project_xml(bpm=150, numerator=4, drums=True))
    (songs / "shorties").mkdir()
    _write_mmpz(songs / "shorties" / "Short.mmpz", _project_xml(bpm=100, numerator=1,
                                                                 drums=False))
    monkeypatch.setattr(produced_set, "PROJECTS", songs)
    lengths = {"Someone-Long Song.mmpz": 75.0, "Short.mmpz": 20.0}

    def click_render(project: Path, out: Path) -> None:
        if not out.exists():
            bpm = produced_set.project_metre(produced_set.read_project(project), project)[0]
            _clicks(out, bpm, lengths[project.name], lead_in_s=2.0)

    monkeypatch.setattr(produced_set, "render", click_render)
    monkeypatch.setattr(produced_set, "_lmms_version", lambda: "1.2.2-test")
    return produced_set


def test_each_song_gives_its_whole_render_and_crops_with_the_projects_grid(produced) -> None:
    clips = {c["name"]: c for c in produced.ensure_set()}
    long_names = [n for n in clips if n.startswith("lmms_someone_long_song")]
    assert sorted(long_names) == ["lmms_someone_long_song", "lmms_someone_long_song@crop20",
                                  "lmms_someone_long_song@crop50",
                                  "lmms_someone_long_song@crop80"]
    whole = clips["lmms_someone_long_song"]
    assert whole["drums"] and whole["collection"] == "Someone" and whole["downbeats_known"]
    truth = whole["truth"]
    assert truth["bpm"] == pytest.approx(150.0)
    assert truth["beats"][0] == pytest.approx(2.0)  # the silent lead-in has no beat
    assert truth["downbeats"][0] == pytest.approx(3.2)  # bars of four from time 0
    crop = clips["lmms_someone_long_song@crop50"]
    assert crop["start_s"] == pytest.approx(37.5)
    assert crop["truth"]["beats"][0] == pytest.approx(0.1, abs=1e-3)  # 37.6 s - 37.5 s
    short = clips["lmms_short"]  # no longer than a crop: the whole render only
    assert not any(n.startswith("lmms_short@") for n in clips)
    assert not short["drums"] and not short["downbeats_known"]
    assert short["truth"]["downbeats"] == [] and short["time_signature"] == "1/4"
    manifest = json.loads((produced.DATA / "manifest.json").read_text())
    assert len(manifest["clips"]) == len(clips) == 5


def test_clips_are_written_once_and_kept(produced) -> None:
    produced.ensure_set()
    clip = produced.DATA / "clips" / "lmms_short.flac"
    stamp = clip.stat().st_mtime_ns
    produced.ensure_set()
    assert clip.stat().st_mtime_ns == stamp
    assert not list((produced.DATA / "clips").glob("*.part.*"))


@pytest.mark.skipif(shutil.which("lmms") is None, reason="LMMS is not installed")
def test_lmms_renders_a_shipped_short_song(tmp_path: Path) -> None:
    import produced_set

    project = produced_set.PROJECTS / "shorties" / "Greshz-CoolSnip.mmpz"
    if not project.exists():
        pytest.skip(f"{project} is not installed")
    out = tmp_path / "snip.wav"
    produced_set.render(project, out)
    audio, sr = soundfile.read(out)
    assert sr == 44100 and len(audio) > sr and np.abs(audio).max() > 0.01
