from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synth import click_track, progression

from linernotes.audio.encode import write_audio
from linernotes.library.location import ENV_CEILING


@pytest.fixture(autouse=True, scope="session")
def _libraries_stay_inside_the_test_folders(tmp_path_factory) -> None:
    """A library is found by walking up from a path; keep the walk below pytest's temporary
    folder, so a stray ``.linernotes`` higher up (in /tmp, in a home folder) cannot capture
    the tests' tracks. Subprocesses inherit it."""
    os.environ[ENV_CEILING] = str(tmp_path_factory.getbasetemp())


@pytest.fixture
def song_120_a_minor() -> tuple[np.ndarray, int]:
    """20 s stereo at 44.1 kHz: 4/4 clicks at 120 BPM over an A minor progression."""
    sr = 44100
    clicks, _ = click_track(120.0, 20.0, sr, beats_per_bar=4)
    harmony = progression(9, "minor", 2.0, sr, repeats=3)[: clicks.shape[0]]
    harmony = np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    mono = clicks + harmony
    return np.stack([mono, 0.9 * mono]), sr


@pytest.fixture
def music_dir(tmp_path: Path, song_120_a_minor) -> Path:
    """A folder of three short tracks in different formats, one in a subfolder."""
    y, sr = song_120_a_minor
    folder = tmp_path / "music"
    (folder / "sub").mkdir(parents=True)
    write_audio(folder / "one.flac", y[:, : sr * 8], sr)
    write_audio(folder / "two.mp3", y[:, sr * 4 : sr * 12], sr)
    write_audio(folder / "sub" / "three.wav", y[:, : sr * 6], sr)
    return folder
