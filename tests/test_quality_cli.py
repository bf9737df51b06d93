"""`quality` and `filter` commands end to end on a small folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_listen_openai import FakeOpenAI

from linernotes.audio.encode import write_audio
from linernotes.cli.main import main as linernotes_main
from linernotes.models import TrackRecord

pytest_plugins = ["listen_fixtures"]


cli = linernotes_main


@pytest.fixture
def folder(tmp_path: Path, song_120_a_minor) -> Path:
    """A clean track and a hard-clipped one."""
    y, sr = song_120_a_minor
    y = y[:, : sr * 6] * (0.5 / np.abs(y).max())
    d = tmp_path / "music"
    d.mkdir()
    write_audio(d / "clean.wav", y, sr)
    write_audio(d / "loud.wav", np.clip(y * 12.0, -1.0, 1.0), sr)
    return d


def test_quality_then_filter(folder: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "scores.json"
    assert cli(["quality", str(folder), "--out", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"clean", "loud"}
    clean, loud = data["clean"], data["loud"]
    assert clean["song_id"] == "clean" and clean["title"] == "clean"
    assert 0.0 <= loud["scores"]["overall_quality_score"] < clean["scores"]["overall_quality_score"]
    assert loud["flags"]["clipping"] == "fail"
    assert any(r.startswith("clipping:") for r in loud["reasons"])
    assert "model_score" not in clean["scores"]  # no listen section, nothing invented
    cached = json.loads((tmp_path / "quality_cache" / "loud.json").read_text())
    assert cached["scores"] == loud["scores"]
    record = TrackRecord.load(folder / "loud.linernotes.json")
    assert record.analyses["signal_quality"].result["detections"]["clipping"]["status"] == "fail"

    kept_file, rejected_file = tmp_path / "kept.txt", tmp_path / "rejected.json"
    args = [
        "filter",
        str(folder),
        "--scores",
        str(out),
        "--min-score",
        "0.0",
        "--require-no-clipping",
        "--kept",
        str(kept_file),
        "--rejected",
        str(rejected_file),
    ]
    assert cli(args) == 0
    printed = capsys.readouterr().out
    assert "kept 1, rejected 1" in printed and "rejected loud: clipping fail" in printed
    assert kept_file.read_text() == "clean\n"
    assert json.loads(rejected_file.read_text())["loud"]["reason"].startswith("clipping fail")

    # a threshold above every score rejects both, as JSON
    assert cli(["filter", str(out), "--min-score", "1.01", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["kept"] == [] and {r["song_id"] for r in result["rejected"]} == {"clean", "loud"}


def test_quality_without_records_or_analysis(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert cli(["quality", str(tmp_path / "empty"), "--no-analyze"]) == 1
    assert "linernotes analyze" in capsys.readouterr().err
    assert cli(["filter", str(tmp_path / "empty")]) == 1


def test_model_scores_and_external_scores_combine(folder: Path, tmp_path: Path, monkeypatch):
    fake = FakeOpenAI()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    try:
        args = [
            "analyze",
            str(folder),
            "--quiet",
            "--listen",
            "--backend",
            "openai",
            "--base-url",
            fake.base_url,
            "--model",
            "nvidia/audio-flamingo-3-hf",
            "--prompts",
            "quality",
        ]
        assert linernotes_main(args) == 0
    finally:
        fake.close()
    ext = tmp_path / "aes.csv"
    ext.write_text("path,PQ\nclean.wav,8.0\nloud.wav,4.0\n")
    out = tmp_path / "s.json"
    argv = [
        "quality",
        str(folder),
        "--out",
        str(out),
        "--no-analyze",
        "--quiet",
        "--external",
        str(ext),
    ]
    assert cli(argv) == 0
    clean = json.loads(out.read_text())["clean"]["scores"]
    assert clean["production_quality"] == pytest.approx(0.9)
    assert clean["model_score"] == pytest.approx(0.775)
    assert clean["ext_PQ"] == pytest.approx(0.8)
    expected = 0.3 * clean["objective_score"] + 0.5 * 0.775 + 0.2 * 0.8
    assert clean["overall_quality_score"] == pytest.approx(expected, abs=1e-3)


def test_unparseable_model_reply_is_marked(folder: Path, tmp_path: Path, tiny_model_dirs):
    args = ["analyze", str(folder / "clean.wav"), "--quiet", "--listen", "--model",
            str(tiny_model_dirs["mf"]), "--prompts", "quality", "--max-new-tokens", "4"]
    assert linernotes_main(args) == 0
    out = tmp_path / "s.json"
    assert cli(["quality", str(folder), "--out", str(out), "--no-analyze", "--quiet"]) == 0
    entry = json.loads(out.read_text())["clean"]
    assert entry["flags"]["model"] == "parse_failed"
    assert "model_score" not in entry["scores"]
    # the overall score is the objective score alone, not dragged to 0 by the failed reply
    assert entry["scores"]["overall_quality_score"] == entry["scores"]["objective_score"]
