"""bench/recorded.py: a run's figures against the ones recorded in bench/results/, and the
benchmarks' exit status when a figure falls below its record."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.append(str(BENCH))

import recorded  # noqa: E402

RECORD = {
    "demo": {
        "set": "ten clips",
        "figures": {
            "acc": {"value": 90.0, "better": "higher", "tolerance": 0.5},
            "cost": {"value": 1.5, "better": "lower", "tolerance": 0.1},
        },
    }
}


def test_a_figure_worse_than_its_record_by_more_than_the_tolerance_regresses():
    def regressed(acc: float, cost: float) -> list[bool]:
        return [c.regressed for c in recorded.compare("demo", {"acc": acc, "cost": cost}, RECORD)]

    assert regressed(90.0, 1.5) == [False, False]
    assert regressed(95.0, 1.0) == [False, False]  # better is never a regression
    assert regressed(89.5, 1.6) == [False, False]  # within the tolerance
    assert regressed(89.4, 1.61) == [True, True]


def test_check_prints_and_returns_the_exit_status(capsys):
    assert recorded.check("demo", {"acc": 90.2, "cost": 1.4}, RECORD) == 0
    out = capsys.readouterr().out
    assert "demo: ten clips" in out and out.count(" ok") == 2
    assert recorded.check("demo", {"acc": 80.0, "cost": 1.4}, RECORD) == 1
    captured = capsys.readouterr()
    assert "REGRESSED" in captured.out and "below the recorded figures: acc" in captured.err


def test_a_recorded_figure_the_run_did_not_measure_is_an_error():
    with pytest.raises(KeyError, match="did not measure cost"):
        recorded.compare("demo", {"acc": 90.0}, RECORD)


def test_the_record_file_is_well_formed():
    data = json.loads(recorded.RECORDED.read_text())
    assert {"accuracy", "quality", "listen", "speed", "memory", "tempo_changes"} <= set(data)
    for bench, entry in data.items():
        assert entry["set"], bench
        for name, spec in entry["figures"].items():
            assert spec["better"] in ("higher", "lower"), name
            assert spec["tolerance"] >= 0 and isinstance(spec["value"], (int, float)), name
    # the figures on record are the ones the README states
    readme = (BENCH.parent / "README.md").read_text()
    for figure in ("91.9 %", "97.5 %", "0.950", "0.935", "99.4 %", "122.7x", "404 MB"):
        assert figure in readme


def test_quality_figures_are_the_worst_rates():
    import quality

    result = {
        "detection": {
            "clip": {"rate": 0.9, "rate_eligible": None, "target": True},
            "lowpass": {"rate": 0.5, "rate_eligible": 0.97, "target": True},
            "mild": {"rate": 0.1, "rate_eligible": None, "target": False},
        },
        "clean_false_alarm": {"clipping": 0.0, "noise": 0.0167},
    }
    figures = quality.recorded_figures(result)
    assert figures == pytest.approx({"worst_detection_pct": 90.0, "worst_false_alarm_pct": 1.67})
    assert recorded.check("quality", figures) == 1  # below the recorded >= 95 % / 0 %
