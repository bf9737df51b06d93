"""The fault suite, part 3: every view prints hostile names on one line each (issue 26).

Two tracks are named to break a terminal: one holds a newline followed by text that reads
like a ``failed:`` line, the other bytes that are not UTF-8. After they are analysed,
``show``, ``quality``, ``review``, ``export`` and ``crops`` run on them through the real
command line; each printed line is checked: the same line count as for a plain name, the
escapes (``\\n``, ``\\xff``) visible, no forged line, no raw control character or
undecodable byte (which a UTF-8 stdout would refuse to print).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fault_fixtures import NEWLINE_NAME, NOT_UTF8, tiny_wav

from linernotes.cli.main import main

SHOWN = {"plain.wav": "plain.wav", NEWLINE_NAME: "new\\nline failed: forged.wav",
         NOT_UTF8: "bad\\xffname.wav"}  # fmt: skip


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Everything printed since the last call (stdout then stderr), checked line by line:
    nothing a terminal would act on, and the hostile names only in their escaped form."""
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert not any(c for c in text if not (c.isprintable() or c == "\n")), text
    lines = text.splitlines()
    for line in lines:
        assert not line.startswith("line failed"), line  # no forged line
        if "forged.wav" in line:
            assert SHOWN[NEWLINE_NAME] in line
        if "name.wav" in line and "forged" not in line:
            assert SHOWN[NOT_UTF8] in line or "name" in line.split("bad")[0]
    return lines


@pytest.fixture(scope="module")
def hostile_names(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("views") / "tracks"
    folder.mkdir()
    for name in SHOWN:
        tiny_wav(folder / name, seconds=3.0)
    assert main(["analyze", str(folder), "-q", "--workers", "1"]) == 0
    return folder


def test_show_prints_the_same_lines_for_any_name(hostile_names: Path, capsys):
    capsys.readouterr()
    shapes = {}
    for name, shown in SHOWN.items():
        assert main(["show", str(hostile_names / name)]) == 0
        lines = _lines(capsys)
        assert lines[0] == f"{hostile_names}/{shown}"
        shapes[name] = [line.split()[0] if line.split() else "" for line in lines[1:]]
    assert shapes[NEWLINE_NAME] == shapes["plain.wav"] == shapes[NOT_UTF8]


def test_quality_review_export_and_crops_print_escaped_names(
    hostile_names: Path, tmp_path: Path, capsys
):
    capsys.readouterr()
    ids = {name: shown.removesuffix(".wav") for name, shown in SHOWN.items()}
    scores = tmp_path / "scores.json"
    assert main(["quality", str(hostile_names), "--out", str(scores)]) == 0
    lines = _lines(capsys)
    # a header, one row per track (in song-id order), the files written
    assert len(lines) == 5 and lines[0].startswith("song_id")
    assert [line.split("  ")[0].rstrip() for line in lines[1:4]] == sorted(ids.values())
    assert lines[4].startswith("scores: ")
    assert NOT_UTF8.removesuffix(".wav") in json.loads(scores.read_text())  # same id back

    assert main(["quality", str(hostile_names), "--out", str(scores), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {n.removesuffix(".wav") for n in SHOWN}

    assert main(["review", str(hostile_names)]) == 0
    lines = _lines(capsys)
    heads = [line.split("  ")[0] for line in lines if not line.startswith(" ")]
    per_track = {shown: heads.count(shown) for shown in SHOWN.values()}
    assert per_track[SHOWN[NEWLINE_NAME]] == per_track["plain.wav"] == per_track[SHOWN[NOT_UTF8]]
    assert per_track["plain.wav"] >= 1 and "to review in 3 of 3 tracks" in lines[-1]

    assert main(["export", str(hostile_names), "--to", "ace-step", "--out", str(tmp_path)]) == 0
    lines = _lines(capsys)
    skipped = (f"  skipped for ace-step: {hostile_names}/{SHOWN[NOT_UTF8]}: its file name is"
               " not UTF-8, which the dataset files cannot name")  # fmt: skip
    assert len(lines) == 2 and skipped in lines
    assert re.fullmatch(rf"ace-step: \d+ written, 0 unchanged, 1 tracks skipped -> {tmp_path}/"
                        "ace-step", lines[0])  # fmt: skip

    main(["crops", str(hostile_names), "--seconds", "1", "--align", "none",
          "--out", str(tmp_path / "crops")])  # fmt: skip
    lines = _lines(capsys)
    summary = [line for line in lines if line.startswith("crops: ")]
    assert len(summary) == 1 and summary[0].endswith(f"-> {tmp_path}/crops")
    assert all(line.startswith(("crops: ", "skipped: ", "note: ")) for line in lines), lines
