"""The path a new user takes through a real, nested dataset, on the real command line.

A dataset of several formats with two tracks of the same name two folders down is analysed
at its root, then a subfolder, then one file; a track is edited from a third folder with a
relative path; the edit is then seen from every path in ``show``, ``history``, ``review``,
``analyze --json``, the record files beside the audio and every export format, and the
same-named tracks each keep their own record through every command, ``crops`` included.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from records import fresh_copy
from synth import click_track, progression

from linernotes.audio.encode import write_audio
from linernotes.cli.main import main
from linernotes.export.registry import FORMATS

SR = 22050
EDITED = "b/y/song.flac"
TWIN = "a/x/song.flac"


def _song(bpm: float, seconds: float, root: int, mode: str = "minor") -> np.ndarray:
    clicks, _ = click_track(bpm, seconds, SR)
    harmony = progression(root, mode, 240.0 / bpm, SR, repeats=4)[: clicks.shape[0]]
    return clicks + np.pad(harmony, (0, clicks.shape[0] - harmony.shape[0]))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Four short tracks in four formats; ``a/x/song.flac`` and ``b/y/song.flac`` share a
    name and differ in content."""
    folder = tmp_path_factory.mktemp("clips") / "data"
    (folder / "a" / "x").mkdir(parents=True)
    (folder / "b" / "y").mkdir(parents=True)
    write_audio(folder / TWIN, _song(120.0, 6.0, 9), SR)
    write_audio(folder / EDITED, _song(90.0, 6.0, 2, "major"), SR)
    write_audio(folder / "b" / "y" / "other.ogg", _song(100.0, 5.0, 4), SR)
    write_audio(folder / "top.mp3", _song(110.0, 5.0, 7, "major"), SR)
    return folder


@pytest.fixture
def data(clips: Path, tmp_path: Path, monkeypatch) -> Path:
    return fresh_copy(clips, tmp_path, monkeypatch)


def _json(capsys) -> object:
    return json.loads(capsys.readouterr().out)


def _mentions(folder: Path, text: str) -> bool:
    """Whether a file of ``folder`` is named with ``text`` or holds it."""
    for path in folder.rglob("*"):
        if text in path.as_posix() or (path.is_file() and text.encode() in path.read_bytes()):
            return True
    return False


def test_the_new_users_path(data: Path, tmp_path: Path, monkeypatch, capsys):
    # analyse the root, then a subfolder, then one file: one library, at the root
    assert main(["analyze", str(data), "--quiet"]) == 0
    assert main(["analyze", str(data / "b"), "--quiet"]) == 0
    monkeypatch.chdir(data / "a" / "x")
    assert main(["analyze", "song.flac", "--quiet"]) == 0
    assert [p.parent for p in data.rglob(".linernotes")] == [data]

    # edit from a third folder, the track named relative to it; and the same-named twin
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    edited = os.path.relpath(data / EDITED)
    assert main(["edit", edited, "bpm=100", "key=C# major", "--lock", "--author", "ann"]) == 0
    assert main(["edit", os.path.relpath(data / TWIN), "caption=Clicks over organ chords.",
                 "--author", "bo"]) == 0  # fmt: skip
    capsys.readouterr()

    # the edit is seen from every path
    for cwd, track in [
        (elsewhere, edited),
        (data, EDITED),
        (data / "b" / "y", "song.flac"),
        (tmp_path, str(data / EDITED)),
    ]:
        monkeypatch.chdir(cwd)
        assert main(["show", track, "--json"]) == 0
        bpm = _json(capsys)["final"]["fields"]["bpm"]
        assert (bpm["value"], bpm["provenance"], bpm["locked"]) == (100.0, "human", True)
        assert main(["show", track]) == 0
        text = capsys.readouterr().out
        assert "C# major" in text and "human (ann), locked" in text
        assert "Measured" in text  # and the measurement stays beside it
        assert main(["history", track]) == 0
        assert "ann: bpm = 100.0 locked" in capsys.readouterr().out
        assert main(["analyze", track, "--json", "--quiet"]) == 0
        assert _json(capsys)["final"]["fields"]["key"]["value"] == "C# major"
    for folder, rel in [(data, EDITED), (data / "b", "y/song.flac")]:
        assert main(["review", str(folder), "--json"]) == 0
        items = _json(capsys)
        assert {i["path"] for i in items} >= {rel}  # the track is reviewed...
        assert not [i for i in items if i["path"] == rel and i["field"] in ("bpm", "key")]
    assert main(["review", str(data)]) == 0
    assert "4 tracks" in capsys.readouterr().out

    # the record files beside the audio changed with the edit (no analyze --force)
    record = json.loads((data / "b" / "y" / "song.linernotes.json").read_text())
    assert record["final"]["fields"]["bpm"]["value"] == 100.0
    assert record["summary"]["bpm"] == pytest.approx(90.0, rel=0.05)  # measured, kept
    twin = json.loads((data / "a" / "x" / "song.linernotes.json").read_text())
    assert twin["final"]["fields"]["caption"]["value"] == "Clicks over organ chords."
    assert twin["final"]["fields"]["bpm"]["provenance"] == "measured"
    assert twin["file"]["content_hash"] != record["file"]["content_hash"]

    # every export format carries the edit, and both same-named tracks
    out = tmp_path / "export"
    assert main(["export", str(data), "--to", "all", "--out", str(out)]) == 0
    assert f"-> {out / 'bark'}" in capsys.readouterr().out
    for name in FORMATS:
        assert _mentions(out / name, "C# major"), name
        assert _mentions(out / name, "a/x/song") and _mentions(out / name, "b/y/song"), name

    # crops of both same-named tracks, each a track of the crops' library
    crops = tmp_path / "crops"
    assert main(["crops", str(data), "--seconds", "2", "--align", "beat", "--out", str(crops),
                 "--to", "ace-step"]) == 0  # fmt: skip
    capsys.readouterr()
    for rel in ("a/x", "b/y"):
        assert (crops / rel / "song_crop000.flac").is_file()
        assert main(["show", str(crops / rel / "song_crop000.flac"), "--json"]) == 0
        assert _json(capsys)["final"]["fields"]["duration"]["value"] == pytest.approx(2.0, 0.05)
    sidecar = json.loads((crops / "a" / "x" / "song_crop000.json").read_text())
    assert sidecar["caption"] == "Clicks over organ chords."  # carried from its own source

    # undo from the third folder: the files follow at once
    monkeypatch.chdir(elsewhere)
    assert main(["undo", edited, "--field", "key"]) == 0
    record = json.loads((data / "b" / "y" / "song.linernotes.json").read_text())
    assert record["final"]["fields"]["key"]["provenance"] == "measured"
    assert record["final"]["fields"]["bpm"]["value"] == 100.0


def test_the_records_folder_is_remembered(data: Path, tmp_path: Path, capsys):
    notes = tmp_path / "notes"
    assert main(["analyze", str(data), "--out", str(notes), "--quiet"]) == 0
    assert (notes / "a" / "x" / "song.linernotes.json").is_file()
    assert (notes / "b" / "y" / "song.linernotes.json").is_file()
    assert main(["edit", str(data / EDITED), "bpm=100"]) == 0
    record = json.loads((notes / "b" / "y" / "song.linernotes.json").read_text())
    assert record["final"]["fields"]["bpm"]["value"] == 100.0
    assert main(["analyze", str(data / "b"), "--quiet"]) == 0  # no --out: still there
    assert not list(data.rglob("*.linernotes.json"))
    capsys.readouterr()
    assert main(["review", str(data), "--json"]) == 0
    assert {i["path"] for i in _json(capsys)} >= {TWIN, EDITED}


def test_show_is_safe_to_pipe(data: Path):
    assert main(["analyze", str(data), "--quiet"]) == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "linernotes.cli", "show", str(data / EDITED), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first line, as `| head -0` leaves it
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipe" not in err
    assert proc.returncode == 141


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_names_the_track_on_a_terminal_only(data: Path, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["analyze", str(data / "b")]) == 0
    shown = terminal.getvalue()
    assert "song.flac" in shown and "other.ogg" in shown and "ETA" in shown
    assert "tracks/s" in shown
    log = io.StringIO()  # not a terminal: the summary, no progress line
    monkeypatch.setattr(sys, "stderr", log)
    assert main(["crops", str(data / "b"), "--seconds", "2", "--align", "beat"]) == 0
    assert "ETA" not in log.getvalue()
    monkeypatch.setattr(sys, "stderr", terminal)
    before = len(terminal.getvalue())
    assert main(["crops", str(data / "b"), "--seconds", "2", "--align", "beat", "--force"]) == 0
    shown = terminal.getvalue()[before:]
    assert "[2/2] 100% y/song.flac" in shown and "ETA" in shown
