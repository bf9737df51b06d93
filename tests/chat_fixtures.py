"""Fixtures of the chat tests (a pytest plugin: ``pytest_plugins = ["chat_fixtures"]``).

A small library analysed once per session: ``song.flac`` (a verse at 100 BPM, then from
14.4 s a louder chorus at 120 BPM, A minor, 34.4 s) and ``other.flac`` (a steady 90 BPM in
C major, 16 s). Each test gets its own copy, so edits made by one test do not leak.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from chat_server import ScriptedOpenAI
from synth import click_track, progression

from linernotes.audio.encode import write_audio

SR = 22050
#: Where the synthesized chorus starts, and the tempo before and after.
CHORUS_S, VERSE_BPM, CHORUS_BPM = 14.4, 100.0, 120.0


def _part(bpm: float, seconds: float, level: float, tonic: int, mode: str) -> np.ndarray:
    clicks, _ = click_track(bpm, seconds, SR, beats_per_bar=4)
    chord_s = 4 * 60.0 / bpm
    repeats = math.ceil(seconds / (4 * chord_s))
    harmony = progression(tonic, mode, chord_s, SR, repeats=repeats)[: clicks.shape[0]]
    harmony = np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))
    return clicks + level * harmony


@pytest.fixture(scope="session")
def analysed_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The analysed template library (do not edit it: use ``chat_library``)."""
    from linernotes import analyze_paths

    root = tmp_path_factory.mktemp("chat_library")
    song = np.concatenate(
        [_part(VERSE_BPM, CHORUS_S, 0.5, 9, "minor"), _part(CHORUS_BPM, 20.0, 1.2, 9, "minor")]
    )
    other = _part(90.0, 16.0, 0.8, 0, "major")
    write_audio(root / "song.flac", np.stack([song, 0.9 * song]) * 0.7, SR)
    write_audio(root / "other.flac", np.stack([other, other]) * 0.7, SR)
    report = analyze_paths([root])
    assert report.exit_code == 0
    return root


@pytest.fixture
def chat_library(analysed_library: Path, tmp_path: Path) -> Path:
    """A private copy of the analysed library."""
    root = tmp_path / "library"
    shutil.copytree(analysed_library, root)
    return root


@pytest.fixture
def llm_server() -> Iterator[ScriptedOpenAI]:
    """A scripted OpenAI-compatible server (chat with tools, and audio requests)."""
    server = ScriptedOpenAI()
    yield server
    server.close()
