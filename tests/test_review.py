"""Review flags: what reconcile marks for a person to check (with reasons and alternatives),
and ``linernotes review DIR`` listing them least confident first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_edits import run_cli
from test_reconcile_fixtures import listen_section, measured_record

from linernotes.library import Library
from linernotes.library.location import new_location
from linernotes.models import AnalysisSection, TrackRecord
from linernotes.reconcile.core import ReconcileOptions, reconcile
from linernotes.reconcile.review import MEASURED_REVIEW_BELOW, OCTAVE_AMBIGUITY


def with_runner_up(record: TrackRecord, key: str = "A minor", score: float = 0.7) -> TrackRecord:
    record.analyses["tonal"] = AnalysisSection(
        analyzer="tonal", version="1",
        result={"key": record.summary.key, "runner_up": {"key": key, "score": score}},
    )  # fmt: skip
    return record


def test_low_confidence_measurement_without_model_claim_is_flagged_with_reason():
    record = with_runner_up(measured_record(bpm=128.0, key="C major", confidence=0.3))
    assert record.listen is None  # nothing but the measurement
    final = reconcile(record)
    assert {"bpm", "key", "time_signature"} <= set(final.review)
    bpm, key = final.fields["bpm"], final.fields["key"]
    assert bpm.review_reasons == [f"confidence 0.30 is below {MEASURED_REVIEW_BELOW['bpm']:g}"]
    assert [(a.value, a.origin, a.score) for a in bpm.alternatives] == [
        (64.0, "rhythm half", 0.6), (256.0, "rhythm double", 0.4)]  # fmt: skip
    assert [(a.value, a.origin) for a in key.alternatives] == [("A minor", "tonal runner-up")]
    # the time signature that lost the bar-length choice is offered for the meter
    record.analyses["rhythm"].result.update(meter_alternative="2/4", meter_confidence=0.3)
    meter = reconcile(record).fields["time_signature"]
    assert [(a.value, a.origin) for a in meter.alternatives] == [("2/4", "rhythm runner-up")]
    # the same record, confident: nothing flagged; a lower threshold: nothing flagged either
    assert not {"bpm", "key"} & set(reconcile(measured_record(confidence=0.97)).review)
    relaxed = reconcile(record, options=ReconcileOptions(review_below=0.2))
    assert not {"bpm", "key"} & set(relaxed.review)


def test_uncertain_tempo_octave_is_flagged_unless_the_model_settles_it():
    candidates = [
        {"bpm": 128.0, "score": 1.0, "relation": "primary"},
        {"bpm": 64.0, "score": OCTAVE_AMBIGUITY + 0.05, "relation": "half"},
        {"bpm": 256.0, "score": 0.1, "relation": "double"},
    ]
    record = measured_record(bpm=128.0, candidates=candidates, confidence=0.97)
    final = reconcile(record)
    assert "bpm" in final.review
    (reason,) = final.fields["bpm"].review_reasons
    assert reason.startswith("tempo octave uncertain: the measured half reading 64 BPM")
    assert final.fields["bpm"].alternatives[0].value == 64.0

    record.listen = listen_section({"caption": "A driving house groove at 128 BPM."})
    assert "bpm" not in reconcile(record).review  # the felt tempo agrees: settled

    candidates[1]["score"] = OCTAVE_AMBIGUITY - 0.05
    assert "bpm" not in reconcile(measured_record(bpm=128.0, candidates=candidates,
                                                  confidence=0.97)).review


def test_half_double_decision_and_model_conflicts_give_reasons_and_alternatives():
    record = measured_record(bpm=70.0, key="C major")
    record.listen = listen_section({"caption": "Fast drum and bass at 140 BPM in A minor."})
    final = reconcile(record)
    bpm = final.fields["bpm"]
    assert bpm.value == 140.0 and bpm.review
    assert any("double chosen" in r for r in bpm.review_reasons)
    assert 70.0 in [a.value for a in bpm.alternatives]  # the primary reading, to switch back
    key = final.fields["key"]
    assert key.review and any("says A minor" in r for r in key.review_reasons)
    assert [(a.value, a.source) for a in key.alternatives] == [("A minor", "model")]


def test_human_values_are_never_flagged():
    from linernotes.models import Edit

    record = measured_record(bpm=128.0, confidence=0.2)
    edit = Edit(content_hash="a" * 64, field="bpm", value=64.0, author="ann")
    final = reconcile(record, {"bpm": edit})
    assert "bpm" not in final.review
    assert final.fields["bpm"].review_reasons == [] and final.fields["bpm"].alternatives == []


@pytest.fixture
def review_dir(tmp_path: Path, monkeypatch) -> Path:
    """Three tracks with hand-made records saved in their library (no decoding needed):
    ``shaky.flac`` (bpm and key confidence 0.2), ``sure.flac`` (0.97), ``mid.wav`` (0.4), all
    captioned."""
    monkeypatch.delenv("LINERNOTES_DB", raising=False)
    folder = tmp_path / "set"
    folder.mkdir()
    library = Library(new_location(folder))
    for n, (name, confidence) in enumerate([("shaky.flac", 0.2), ("sure.flac", 0.97),
                                            ("mid.wav", 0.4)]):  # fmt: skip
        (folder / name).write_bytes(b"not decoded here")
        record = with_runner_up(measured_record(confidence=confidence, path=str(folder / name)))
        record.file.content_hash = str(n) * 64
        record.listen = listen_section(
            {"caption": "Warm electric piano over brushed drums.",
             "genre_mood_inst": "Genre: jazz\nMood: calm\nInstruments: piano, drums"},
            content_hash=record.file.content_hash,
        )  # fmt: skip
        library.save(folder / name, record)
    library.close()
    return folder


def test_review_cli_lists_flagged_fields_least_confident_first(review_dir: Path, capsys):
    assert run_cli(["review", str(review_dir), "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [(i["path"], i["field"]) for i in items] == [
        ("shaky.flac", "bpm"), ("shaky.flac", "key"), ("shaky.flac", "time_signature"),
        ("mid.wav", "bpm"), ("mid.wav", "key"), ("mid.wav", "time_signature"),
    ]  # fmt: skip
    first = items[0]
    assert first["value"] == 128.0 and first["confidence"] == 0.2
    assert first["provenance"] == "measured" and "below" in first["reasons"][0]
    assert [a["value"] for a in first["alternatives"]] == [64.0, 256.0]
    runner_up = {"value": "A minor", "source": "measured", "origin": "tonal runner-up",
                 "score": 0.7}  # fmt: skip
    assert items[1]["alternatives"][0] == runner_up

    assert run_cli(["review", str(review_dir), "--field", "tempo,key", "--sort", "path",
                    "--json"]) == 0  # fmt: skip
    items = json.loads(capsys.readouterr().out)
    assert [(i["path"], i["field"]) for i in items] == [
        ("mid.wav", "bpm"), ("mid.wav", "key"), ("shaky.flac", "bpm"), ("shaky.flac", "key"),
    ]  # fmt: skip

    # a human value leaves the list
    assert run_cli(["edit", str(review_dir / "shaky.flac"), "bpm=64", "--author", "t"]) == 0
    capsys.readouterr()
    assert run_cli(["review", str(review_dir), "--field", "bpm"]) == 0
    text = capsys.readouterr().out
    assert "shaky.flac" not in text and "mid.wav  bpm = 128" in text
    assert "alternatives: 64 [measured rhythm half 0.60]" in text
    assert "1 fields to review in 1 of 3 tracks" in text


def test_review_cli_edge_cases(review_dir: Path, tmp_path: Path, capsys):
    assert run_cli(["review", str(review_dir), "--field", "caption"]) == 0
    assert "nothing to review (3 tracks)" in capsys.readouterr().out
    assert run_cli(["review", str(review_dir), "--field", "tempi"]) == 2  # a usage error
    assert "unknown field tempi" in capsys.readouterr().err
    assert run_cli(["review", str(tmp_path / "missing")]) == 2  # a usage error


def test_a_confidence_just_below_its_threshold_does_not_read_as_equal_to_it():
    from linernotes.reconcile.review import _below_text

    assert _below_text(0.6852, 0.69) == "0.685"
    assert _below_text(0.30, 0.83) == "0.30"


def test_a_missing_tempo_is_flagged_with_the_analyzers_reason(tmp_path):
    """A null tempo (and with it the time signature) reaches review with the rhythm stage's
    reason, as a null key does with the tonal stage's."""
    import numpy as np
    import soundfile

    from linernotes.pipeline import analyze_file

    noise = np.random.default_rng(3).standard_normal(12 * 22050).astype(np.float32)
    path = tmp_path / "rain.wav"
    soundfile.write(path, 0.2 * noise, 22050)
    record = analyze_file(str(path))
    assert record.analyses["rhythm"].result["no_tempo_reason"] == "no steady pulse"
    final = reconcile(record)
    assert final.fields["bpm"].review_reasons[0] == "no value: no steady pulse"
    assert final.fields["time_signature"].review_reasons[0] == "no value: no steady pulse"
