"""The bundled example clips against their known answers (``examples/truth.json``), through the
demo's own path: ``linernotes analyze examples --out DIR --db DIR/library.db --listen``, the
ACE-Step export and ``scripts/demo_report.py``, which exits non-zero on a wrong or missing
answer, so ``make demo`` fails too."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRUTH = ROOT / "examples" / "truth.json"
REPORT = ROOT / "scripts" / "demo_report.py"


def _demo_report():
    if "demo_report" not in sys.modules:
        spec = importlib.util.spec_from_file_location("demo_report", REPORT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["demo_report"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["demo_report"]


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    """The demo's commands on a copy of the examples: analyse and listen on the CPU, then
    export for ACE-Step."""
    from linernotes.cli import main

    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(ROOT / "examples", root / "examples")
    out = root / "out"
    db = str(out / "library.db")
    analyze = ["analyze", str(root / "examples"), "--out", str(out), "--db", db]
    assert main([*analyze, "--quiet", "--listen"]) == 0
    export = ["export", str(root / "examples"), "--db", db, "--to", "ace-step"]
    assert main([*export, "--out", str(out / "export"), "--quiet"]) == 0
    return out


def test_every_example_matches_its_known_answers(demo_out):
    from linernotes.models import TrackRecord

    truth = json.loads(TRUTH.read_text())
    assert len(truth) == 5
    for name, known in truth.items():
        summary = TrackRecord.load(demo_out / f"{Path(name).stem}.linernotes.json").summary
        assert abs(summary.bpm - known["bpm"]) <= 0.04 * known["bpm"], name
        assert summary.key == known["key"], name
        assert summary.time_signature == known["time_signature"], name
    assert _demo_report().compare(demo_out, truth).failures == []


def test_demo_report_exits_non_zero_on_a_wrong_answer(demo_out, tmp_path):
    truth = json.loads(TRUTH.read_text())
    ok = subprocess.run(
        [sys.executable, str(REPORT), str(demo_out), str(TRUTH)], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert "BPM 5/5, key 5/5, meter 5/5" in ok.stdout
    wrong = json.loads(json.dumps(truth))
    wrong["folk_66bpm_6-8_D-major.m4a"]["time_signature"] = "3/4"
    wrong["band_120bpm_4-4_A-minor.mp3"]["bpm"] = 126.0  # 5 % off
    wrong["waltz_144bpm_3-4_Bb-major.ogg"]["key"] = "F major"
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(wrong))
    bad = subprocess.run(
        [sys.executable, str(REPORT), str(demo_out), str(path)], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "BPM 4/5, key 4/5, meter 4/5" in bad.stdout
    assert "folk_66bpm_6-8_D-major.m4a: meter 6/8 (known: 3/4)" in bad.stderr
    assert "waltz_144bpm_3-4_Bb-major.ogg: key Bb major (known: F major)" in bad.stderr
    missing = {**truth, "lost.flac": truth["band_120bpm_4-4_A-minor.mp3"]}
    report = _demo_report().compare(demo_out, missing)
    assert report.failures == [f"lost.flac: no record in {demo_out}"]
    edge = json.loads(json.dumps(truth))
    edge["band_120bpm_4-4_A-minor.mp3"]["bpm"] = 124.0  # 3.3 % off: within the tolerance
    assert _demo_report().compare(demo_out, edge).failures == []
